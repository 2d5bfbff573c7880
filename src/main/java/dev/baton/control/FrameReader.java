package dev.baton.control;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;

/**
 * Reads frames from a stream into one reusable buffer of {@link ControlFrame#MAX_FRAME_LENGTH}
 * bytes. The length field is checked before the rest is read, so a peer that claims a huge frame is
 * refused at once instead of being waited for or buffered.
 */
final class FrameReader {
    private final InputStream in;
    private final byte[] buf = new byte[ControlFrame.MAX_FRAME_LENGTH];
    private final ByteBuffer view = ByteBuffer.wrap(buf);

    FrameReader(InputStream in) {
        this.in = in;
    }

    /**
     * The next frame's message.
     *
     * @throws EOFException if the stream ends, cleanly between frames or not
     */
    ControlMessage read() throws IOException, FrameException {
        readFully(0, ControlFrame.LENGTH_FIELD_SIZE);
        int size = ControlFrame.checkLengthField(view.getInt(0));
        readFully(ControlFrame.LENGTH_FIELD_SIZE, size - ControlFrame.LENGTH_FIELD_SIZE);
        view.limit(size).position(0);
        try {
            return ControlFrame.decode(view);
        } finally {
            view.clear();
        }
    }

    private void readFully(int off, int len) throws IOException {
        if (in.readNBytes(buf, off, len) < len) {
            throw new EOFException("stream ended inside a frame or between frames");
        }
    }
}
