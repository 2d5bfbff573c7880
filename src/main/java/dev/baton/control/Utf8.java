package dev.baton.control;

import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/**
 * Strict UTF-8 for control strings. {@link String#getBytes} and {@code new String(bytes, UTF_8)}
 * silently replace what they cannot code; a node name or a path that changes on the way must be an
 * error instead, on both ends.
 */
final class Utf8 {
    private Utf8() {}

    /** The UTF-8 bytes of {@code s}; a lone surrogate is an {@link IllegalArgumentException}. */
    static byte[] encode(String s) {
        try {
            ByteBuffer b = StandardCharsets.UTF_8
                    .newEncoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .encode(CharBuffer.wrap(s));
            byte[] out = new byte[b.remaining()];
            b.get(out);
            return out;
        } catch (CharacterCodingException e) {
            throw new IllegalArgumentException("not encodable as UTF-8: " + s.length() + " chars", e);
        }
    }

    /** Decodes the next {@code length} bytes of {@code src}, which the caller has checked are there. */
    static String decode(ByteBuffer src, int length) throws FrameException {
        ByteBuffer slice = src.slice(src.position(), length);
        try {
            String s = StandardCharsets.UTF_8
                    .newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(slice)
                    .toString();
            src.position(src.position() + length);
            return s;
        } catch (CharacterCodingException e) {
            throw new FrameException(FrameException.Reason.BAD_UTF8, length + " bytes");
        }
    }
}
