package dev.baton.server;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.Serial;
import java.net.Socket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;

/**
 * A socket's receive side with a reusable buffer and a timeout on every read. Bytes stay in
 * {@link #buf} between {@link #pos} and {@link #lim}; bytes read past one message belong to the next
 * (pipelining), so all reading of a connection goes through one Input.
 */
final class Input {
    final byte[] buf;
    int pos;
    int lim;
    private final Socket socket;
    private final InputStream in;

    /**
     * @param socket a socket in blocking mode; for a {@code SocketChannel}, its {@code socket()}
     *               adaptor, whose stream honours SO_TIMEOUT
     */
    Input(Socket socket, int bufferSize) throws IOException {
        this.socket = socket;
        this.in = socket.getInputStream();
        this.buf = new byte[bufferSize];
    }

    int available() {
        return lim - pos;
    }

    /**
     * Reads at least one more byte, waiting at most {@code timeoutMillis}.
     *
     * @return false at end of stream
     * @throws java.net.SocketTimeoutException if nothing arrived in time
     */
    boolean fill(int timeoutMillis) throws IOException {
        if (pos == lim) {
            pos = lim = 0;
        } else if (lim == buf.length) {
            System.arraycopy(buf, pos, buf, 0, lim - pos);
            lim -= pos;
            pos = 0;
        }
        if (lim == buf.length) throw new IllegalStateException("buffer full");
        socket.setSoTimeout(Math.max(1, timeoutMillis));
        int n;
        try {
            n = in.read(buf, lim, buf.length - lim);
        } catch (SocketException e) {
            if (socket.isClosed()) throw e;
            return false; // connection reset: the same as an end of stream here
        }
        if (n < 0) return false;
        lim += n;
        return true;
    }

    private void fillOrThrow(int timeoutMillis) throws IOException {
        if (!fill(timeoutMillis)) throw new EOFException("peer closed mid-message");
    }

    /**
     * A line ending in LF (a preceding CR is dropped), at most {@code maxLength} bytes.
     *
     * @throws ProtocolException if the line is longer
     */
    String readLine(int maxLength, int timeoutMillis) throws IOException {
        int scanned = 0;
        while (true) {
            for (int i = pos + scanned; i < lim; i++) {
                if (buf[i] == '\n') {
                    int end = i > pos && buf[i - 1] == '\r' ? i - 1 : i;
                    String line = new String(buf, pos, end - pos, StandardCharsets.ISO_8859_1);
                    pos = i + 1;
                    return line;
                }
            }
            scanned = lim - pos;
            if (scanned >= maxLength) throw new ProtocolException("line longer than " + maxLength);
            fillOrThrow(timeoutMillis);
        }
    }

    /** Consumes exactly {@code n} bytes into {@code digest}. */
    void digest(long n, MessageDigest digest, int timeoutMillis) throws IOException {
        while (n > 0) {
            if (pos == lim) fillOrThrow(timeoutMillis);
            int take = (int) Math.min(n, lim - pos);
            digest.update(buf, pos, take);
            pos += take;
            n -= take;
        }
    }

    /** A malformed message read from a peer. */
    static final class ProtocolException extends IOException {
        @Serial
        private static final long serialVersionUID = 1L;

        ProtocolException(String message) {
            super(message);
        }
    }
}
