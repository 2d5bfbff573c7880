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
        return decode(readFrame());
    }

    /**
     * Reads the next frame's bytes, checking only its length field, into {@link #buffer()}.
     *
     * @return the frame's size, length field included
     * @throws EOFException if the stream ends, cleanly between frames or not
     */
    int readFrame() throws IOException, FrameException {
        readFully(buf, 0, ControlFrame.LENGTH_FIELD_SIZE);
        int size = ControlFrame.checkLengthField(view.getInt(0));
        readFully(buf, ControlFrame.LENGTH_FIELD_SIZE, size - ControlFrame.LENGTH_FIELD_SIZE);
        return size;
    }

    /** The frame that {@link #readFrame()} read, as a message. */
    ControlMessage decode(int size) throws FrameException {
        view.limit(size).position(0);
        try {
            return ControlFrame.decode(view);
        } finally {
            view.clear();
        }
    }

    /** The bytes of the last frame read, from index 0; valid until the next read. */
    byte[] buffer() {
        return buf;
    }

    /** Reads exactly {@code dst.length} bytes (a frame's tag). */
    void readFully(byte[] dst) throws IOException {
        readFully(dst, 0, dst.length);
    }

    private void readFully(byte[] dst, int off, int len) throws IOException {
        if (in.readNBytes(dst, off, len) < len) {
            throw new EOFException("stream ended inside a frame or between frames");
        }
    }
}
