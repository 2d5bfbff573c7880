package dev.baton.control;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.baton.control.ControlMessage.Abort;
import dev.baton.control.ControlMessage.Content;
import dev.baton.control.ControlMessage.HandoffAck;
import dev.baton.control.ControlMessage.HandoffRefuse;
import dev.baton.control.ControlMessage.HandoffRequest;
import dev.baton.control.ControlMessage.Heartbeat;
import dev.baton.control.ControlMessage.Hello;
import dev.baton.control.ControlMessage.Terminate;
import dev.baton.control.FrameException.Reason;
import java.io.ByteArrayInputStream;
import java.io.EOFException;
import java.io.InputStream;
import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class ControlFrameTest {
    private static final HexFormat HEX = HexFormat.of();
    private static final byte[] NONCE = new byte[Hello.NONCE_LENGTH];

    static byte[] encode(ControlMessage m) {
        ByteBuffer b = ByteBuffer.allocate(ControlFrame.MAX_FRAME_LENGTH);
        int n = ControlFrame.encode(m, b);
        assertThat(b.position()).isEqualTo(n);
        return Arrays.copyOf(b.array(), n);
    }

    static ControlMessage decode(byte[] frame) throws FrameException {
        return ControlFrame.decode(ByteBuffer.wrap(frame));
    }

    static byte[] packet(int length, int seed) {
        byte[] p = new byte[length];
        for (int i = 0; i < length; i++) {
            p[i] = (byte) (i * 31 + seed);
        }
        return p;
    }

    static Stream<ControlMessage> everyMessage() {
        return Stream.of(
                new Hello("n1", 0x0a000001, 80, 0x0123456789abcdefL, packet(Hello.NONCE_LENGTH, 7)),
                new Hello("nœud-é-" + "x".repeat(200), -1, 65535, -1L, new byte[Hello.NONCE_LENGTH]),
                new ControlMessage.Auth(packet(ControlMessage.Auth.MAC_LENGTH, 9)),
                new Heartbeat(0, 0),
                new Heartbeat(Integer.MAX_VALUE, Long.MAX_VALUE),
                new HandoffRequest(42L, 0xdeadbeef, 0x80000000, 7, 1460, true, true, packet(60, 1), packet(52, 2)),
                new ControlMessage.Commit(42L, "GET / HTTP/1.1\r\n\r\n".getBytes(UTF_8)),
                new ControlMessage.Commit(0L, new byte[0]),
                new ControlMessage.Commit(Long.MAX_VALUE, packet(ControlMessage.MAX_REQUEST_LENGTH, 5)),
                new HandoffRequest(-1L, 0, 0, -1, 0, false, false, new byte[0], new byte[0]),
                new HandoffRequest(Long.MIN_VALUE, 1, 2, 14, 65535, true, false, packet(1500, 3), packet(1500, 4)),
                new HandoffAck(42L, 0xfeedface, 12345, 9, 1448, true, true, 61001),
                new HandoffAck(0L, 0, 0, -1, 536, false, true, 61001),
                new HandoffRefuse(7L, RefuseReason.BUSY),
                new HandoffRefuse(8L, RefuseReason.DRAINING),
                new Terminate(99L),
                new Abort(-99L),
                new Content(true, true, List.of()),
                new Content(true, false, List.of("/index.html", "/img/a.png", "/ü/ñ.txt")),
                new Content(false, true, List.of("/" + "p".repeat(ControlMessage.MAX_PATH_LENGTH - 1))));
    }

    @ParameterizedTest
    @MethodSource("everyMessage")
    void everyMessageSurvivesARoundTrip(ControlMessage m) throws FrameException {
        byte[] frame = encode(m);
        assertThat(frame.length).isLessThanOrEqualTo(ControlFrame.MAX_FRAME_LENGTH);
        assertThat(decode(frame)).isEqualTo(m);
    }

    @ParameterizedTest
    @MethodSource("everyMessage")
    void headerCarriesLengthVersionTypeAndCorrelationId(ControlMessage m) {
        ByteBuffer b = ByteBuffer.wrap(encode(m));
        assertThat(ControlFrame.length(b, 0)).isEqualTo(b.capacity() - 4);
        assertThat(ControlFrame.version(b, 0)).isEqualTo(2);
        assertThat(ControlFrame.type(b, 0)).isEqualTo(MessageType.of(m));
        assertThat(ControlFrame.flags(b, 0)).isZero();
        assertThat(ControlFrame.correlationId(b, 0)).isEqualTo(m.correlationId());
    }

    @Test
    void terminateIsAHeaderWithTheConnectionIdAsCorrelationId() {
        assertThat(HEX.formatHex(encode(new Terminate(0x0102030405060708L))))
                // length 12 | version 2 | type 6 | flags 0 | correlation id
                .isEqualTo("0000000c" + "02" + "06" + "0000" + "0102030405060708");
    }

    @Test
    void handoffAckPayloadFollowsItsLayout() {
        assertThat(HEX.formatHex(encode(new HandoffAck(5, 0x11223344, 0x55667788, -1, 1460, true, true, 61001))))
                .isEqualTo("0000001a" + "02" + "04" + "0000" + "0000000000000005"
                        // isn | tsVal | wscale -1 | mss 1460 | opts ts+sack | forward port 61001
                        + "11223344" + "55667788" + "ff" + "05b4" + "03" + "ee49");
    }

    @Test
    void encodeWritesAtTheBufferPositionAndAdvances() throws FrameException {
        ByteBuffer b = ByteBuffer.allocate(ControlFrame.MAX_FRAME_LENGTH * 2);
        int n1 = ControlFrame.encode(new Abort(1), b);
        int n2 = ControlFrame.encode(new Heartbeat(3, 4), b);
        assertThat(b.position()).isEqualTo(n1 + n2);
        assertThat(ControlFrame.decode(b.duplicate().position(n1).limit(n1 + n2)))
                .isEqualTo(new Heartbeat(3, 4));
        assertThat(ControlFrame.decode(b.duplicate().position(0).limit(n1))).isEqualTo(new Abort(1));
    }

    @Test
    void contentIsChunkedUnderTheMaximumFrameAndKeepsEveryPath() throws FrameException {
        List<String> paths = new ArrayList<>();
        for (int i = 0; i < 20_000; i++) {
            paths.add("/docs/section-" + (i % 97) + "/file-" + i + ".html");
        }
        List<Content> chunks = Content.chunked(paths);
        assertThat(chunks).hasSizeGreaterThan(1);
        List<String> back = new ArrayList<>();
        for (int i = 0; i < chunks.size(); i++) {
            Content c = (Content) decode(encode(chunks.get(i)));
            assertThat(c.first()).isEqualTo(i == 0);
            assertThat(c.last()).isEqualTo(i == chunks.size() - 1);
            back.addAll(c.paths());
        }
        assertThat(back).isEqualTo(paths);
    }

    @Test
    void emptyContentIsOneFrameThatIsFirstAndLast() {
        assertThat(Content.chunked(List.of())).containsExactly(new Content(true, true, List.of()));
    }

    @Test
    void recordsRefuseValuesThatCannotBeEncoded() {
        assertThatThrownBy(() -> new Hello("", 0, 80, 0, NONCE)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new Hello("x".repeat(256), 0, 80, 0, NONCE))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new Hello("n", 0, 65536, 0, NONCE)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new Hello("\ud800", 0, 80, 0, NONCE)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new Hello("n", 0, 80, 0, new byte[15]))
                .as("short nonce")
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new ControlMessage.Auth(new byte[31]))
                .as("short MAC")
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new Heartbeat(-1, 0)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new HandoffAck(1, 0, 0, 15, 1460, true, true, 61001))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new HandoffRequest(1, 0, 0, 7, 1460, true, true, new byte[1501], new byte[0]))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new HandoffRefuse(1, 0)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new Content(true, true, List.of("relative")))
                .isInstanceOf(IllegalArgumentException.class);
        List<String> tooMany = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            tooMany.add("/" + "q".repeat(4000));
        }
        assertThatThrownBy(() -> new Content(true, true, tooMany)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void helloConvertsItsAddress() throws Exception {
        InetAddress a = InetAddress.getLoopbackAddress();
        Hello h = new Hello("n", Hello.ipv4Of(a), 80, 1, NONCE);
        assertThat(h.ipv4()).isEqualTo(0x7f000001);
        assertThat(h.address()).isEqualTo(a);
    }

    // ---- one test per FrameException reason

    private static Reason reasonOf(byte[] frame) {
        try {
            decode(frame);
        } catch (FrameException e) {
            return e.reason();
        }
        throw new AssertionError("decoded " + HEX.formatHex(frame));
    }

    private static byte[] patch(ControlMessage m, int offset, int... bytes) {
        byte[] f = encode(m);
        for (int i = 0; i < bytes.length; i++) {
            f[offset + i] = (byte) bytes[i];
        }
        return f;
    }

    @Test
    void lengthBelowTheHeaderIsTooShort() {
        assertThat(reasonOf(HEX.parseHex("0000000b" + "0206000000000000000000")))
                .isEqualTo(Reason.TOO_SHORT);
        assertThat(reasonOf(HEX.parseHex("ffffffff"))).isEqualTo(Reason.TOO_SHORT);
    }

    @Test
    void lengthAboveTheMaximumIsTooLong() {
        assertThat(reasonOf(HEX.parseHex("0000fffd"))).isEqualTo(Reason.TOO_LONG);
        assertThat(reasonOf(HEX.parseHex("7fffffff"))).isEqualTo(Reason.TOO_LONG);
    }

    @Test
    void largestFrameIsAccepted() throws FrameException {
        assertThat(ControlFrame.checkLengthField(0xfffc)).isEqualTo(ControlFrame.MAX_FRAME_LENGTH);
    }

    @Test
    void otherVersionIsRefused() {
        assertThat(reasonOf(patch(new Abort(1), 4, 1)))
                .as("version 1: no nonce, no auth")
                .isEqualTo(Reason.BAD_VERSION);
        assertThat(reasonOf(patch(new Abort(1), 4, 3))).isEqualTo(Reason.BAD_VERSION);
    }

    @Test
    void unknownTypeIsRefused() {
        assertThat(reasonOf(patch(new Abort(1), 5, 0))).isEqualTo(Reason.UNKNOWN_TYPE);
        assertThat(reasonOf(patch(new Abort(1), 5, 11))).isEqualTo(Reason.UNKNOWN_TYPE);
    }

    /** Found by fuzzing: it was ignored, so the frame decoded to a message that encodes differently. */
    @Test
    void correlationIdOnAMessageAboutNoConnectionIsRefused() {
        assertThat(reasonOf(patch(new Heartbeat(12, 3), 15, 10))).isEqualTo(Reason.BAD_FIELD);
        assertThat(reasonOf(patch(new Hello("n1", 1, 80, 2, new byte[Hello.NONCE_LENGTH]), 8, 1)))
                .isEqualTo(Reason.BAD_FIELD);
        assertThat(reasonOf(patch(new ControlMessage.Auth(new byte[ControlMessage.Auth.MAC_LENGTH]), 15, 1)))
                .isEqualTo(Reason.BAD_FIELD);
        assertThat(reasonOf(patch(new Content(true, true, List.of("/a")), 12, 0x80)))
                .isEqualTo(Reason.BAD_FIELD);
    }

    @Test
    void nonZeroFlagsAreRefused() {
        assertThat(reasonOf(patch(new Abort(1), 7, 1))).isEqualTo(Reason.BAD_FLAGS);
    }

    @Test
    void payloadShorterThanItsLayoutIsTruncated() {
        // Heartbeat with its payload cut by one byte, length field adjusted.
        byte[] f = Arrays.copyOf(encode(new Heartbeat(1, 2)), 16 + 11);
        ByteBuffer.wrap(f).putInt(0, f.length - 4);
        assertThat(reasonOf(f)).isEqualTo(Reason.TRUNCATED);
        // A buffer shorter than its own length field says.
        assertThat(reasonOf(Arrays.copyOf(encode(new Heartbeat(1, 2)), 20))).isEqualTo(Reason.TRUNCATED);
        // A content count larger than the bytes could hold.
        byte[] c = encode(new Content(true, true, List.of("/a")));
        c[17] = (byte) 0xff;
        assertThat(reasonOf(c)).isEqualTo(Reason.TRUNCATED);
    }

    @Test
    void bytesAfterTheLayoutAreTrailing() {
        byte[] f = Arrays.copyOf(encode(new Abort(1)), 17);
        ByteBuffer.wrap(f).putInt(0, 13);
        assertThat(reasonOf(f)).isEqualTo(Reason.TRAILING_BYTES);
        // More bytes in the buffer than the frame.
        assertThat(reasonOf(Arrays.copyOf(encode(new Abort(1)), 17))).isEqualTo(Reason.TRAILING_BYTES);
    }

    @Test
    void invalidUtf8IsRefused() {
        // Hello name "ab" turned into 0xc3 0x28, an invalid two-byte sequence.
        assertThat(reasonOf(patch(new Hello("ab", 0, 80, 0, NONCE), 17, 0xc3, 0x28)))
                .isEqualTo(Reason.BAD_UTF8);
        assertThat(reasonOf(patch(new Content(true, true, List.of("/ab")), 22, 0xff)))
                .isEqualTo(Reason.BAD_UTF8);
    }

    @Test
    void outOfRangeFieldsAreRefused() {
        HandoffAck ack = new HandoffAck(5, 1, 2, 7, 1460, true, true, 61001);
        assertThat(reasonOf(patch(ack, 24, 15))).as("window scale 15").isEqualTo(Reason.BAD_FIELD);
        assertThat(reasonOf(patch(ack, 27, 4))).as("unknown option bit").isEqualTo(Reason.BAD_FIELD);
        assertThat(reasonOf(patch(new HandoffRefuse(1, RefuseReason.BUSY), 19, 0x63)))
                .as("reason 99")
                .isEqualTo(Reason.BAD_FIELD);
        assertThat(reasonOf(patch(new Hello("ab", 0, 80, 0, NONCE), 16, 0)))
                .as("empty name")
                .isIn(Reason.BAD_FIELD, Reason.TRAILING_BYTES);
        assertThat(reasonOf(patch(new Content(true, true, List.of("/a")), 21, 'a')))
                .as("relative path")
                .isEqualTo(Reason.BAD_FIELD);
        assertThat(reasonOf(patch(new Content(true, true, List.of()), 16, 4)))
                .as("content flag bit")
                .isEqualTo(Reason.BAD_FIELD);
    }

    @Test
    void readerRefusesAHugeLengthWithoutReadingFurther() {
        byte[] head = HEX.parseHex("7fffffff");
        CountingStream in = new CountingStream(head);
        FrameReader r = new FrameReader(in);
        assertThatThrownBy(r::read)
                .isInstanceOfSatisfying(
                        FrameException.class, e -> assertThat(e.reason()).isEqualTo(Reason.TOO_LONG));
        assertThat(in.served).isEqualTo(4);
    }

    @Test
    void readerReadsFramesBackToBackThenReportsTheEnd() throws Exception {
        byte[] a = encode(new Terminate(1));
        byte[] b = encode(new Content(true, true, List.of("/x")));
        byte[] both = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, both, a.length, b.length);
        FrameReader r = new FrameReader(new ByteArrayInputStream(both));
        assertThat(r.read()).isEqualTo(new Terminate(1));
        assertThat(r.read()).isEqualTo(new Content(true, true, List.of("/x")));
        assertThatThrownBy(r::read).isInstanceOf(EOFException.class);
    }

    @Test
    void readerReportsAFrameCutShort() {
        byte[] a = encode(new Heartbeat(1, 1));
        FrameReader r = new FrameReader(new ByteArrayInputStream(Arrays.copyOf(a, a.length - 1)));
        assertThatThrownBy(r::read).isInstanceOf(EOFException.class);
    }

    /** Serves its bytes, then endless zeros, and counts what was read: a reader that waited for a huge frame would read on. */
    private static final class CountingStream extends InputStream {
        private final byte[] data;
        int served;

        CountingStream(byte[] data) {
            this.data = data;
        }

        @Override
        public int read() {
            int b = served < data.length ? data[served] & 0xff : 0;
            served++;
            return b;
        }

        @Override
        public int read(byte[] b, int off, int len) {
            for (int i = 0; i < len; i++) b[off + i] = (byte) read();
            return len;
        }
    }
}
