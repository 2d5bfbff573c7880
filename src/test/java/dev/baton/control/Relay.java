package dev.baton.control;

import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A man in the middle on loopback: a dialing plane connects here, and the relay connects on to the
 * accepting plane (from 127.0.0.1, the dialer's address). Acceptor to dialer bytes pass untouched;
 * dialer to acceptor bytes are cut into frames (Hello and Auth bare, every later frame with its
 * 16-byte tag) and handed to a {@link Tamper}, and recorded per connection.
 */
final class Relay implements AutoCloseable {
    /** What to write for the {@code index}-th frame (from 0) after the dialer's Auth; its tag included. */
    interface Tamper {
        byte[] apply(int index, byte[] frameAndTag);
    }

    /** Everything the dialer sent on each connection, in order. */
    final List<ByteArrayOutputStream> recorded = new CopyOnWriteArrayList<>();

    private final ServerSocket server;
    private final int target;
    private final Tamper tamper;
    private final Set<Socket> sockets = ConcurrentHashMap.newKeySet();
    private final Thread acceptor;

    Relay(int targetPort, Tamper tamper) throws IOException {
        this.server = new ServerSocket(0, 8, InetAddress.getLoopbackAddress());
        this.target = targetPort;
        this.tamper = tamper;
        this.acceptor = Thread.ofVirtual().start(this::acceptLoop);
    }

    int port() {
        return server.getLocalPort();
    }

    private void acceptLoop() {
        while (!server.isClosed()) {
            try {
                Socket fromDialer = server.accept();
                Socket toAcceptor = new Socket(InetAddress.getLoopbackAddress(), target);
                sockets.add(fromDialer);
                sockets.add(toAcceptor);
                ByteArrayOutputStream record = new ByteArrayOutputStream();
                recorded.add(record);
                Thread.ofVirtual().start(() -> pumpFrames(fromDialer, toAcceptor, record));
                Thread.ofVirtual().start(() -> pumpBytes(toAcceptor, fromDialer));
            } catch (IOException e) {
                // closed, or the acceptor is down: the dialer retries
            }
        }
    }

    private void pumpFrames(Socket from, Socket to, ByteArrayOutputStream record) {
        try {
            DataInputStream in = new DataInputStream(from.getInputStream());
            OutputStream out = to.getOutputStream();
            for (int frame = 0; ; frame++) {
                int length = in.readInt();
                if (length < 0 || length > ControlFrame.MAX_FRAME_LENGTH) {
                    return;
                }
                boolean tagged = frame >= 2; // Hello and Auth carry no tag
                byte[] f = new byte[4 + length + (tagged ? LinkAuth.TAG_LENGTH : 0)];
                f[0] = (byte) (length >>> 24);
                f[1] = (byte) (length >>> 16);
                f[2] = (byte) (length >>> 8);
                f[3] = (byte) length;
                in.readFully(f, 4, f.length - 4);
                synchronized (record) {
                    record.write(f);
                }
                out.write(tagged ? tamper.apply(frame - 2, f) : f);
                out.flush();
            }
        } catch (EOFException e) {
            // the dialer closed
        } catch (IOException e) {
            // either side closed
        } finally {
            close(from, to);
        }
    }

    private void pumpBytes(Socket from, Socket to) {
        try {
            InputStream in = from.getInputStream();
            in.transferTo(to.getOutputStream());
        } catch (IOException e) {
            // either side closed
        } finally {
            close(from, to);
        }
    }

    private static void close(Socket... both) {
        for (Socket s : both) {
            try {
                s.close();
            } catch (IOException e) {
                // nothing more to do
            }
        }
    }

    @Override
    public void close() throws IOException {
        server.close();
        for (Socket s : sockets) {
            s.close();
        }
        acceptor.interrupt();
    }
}
