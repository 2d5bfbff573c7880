package dev.baton.control;

import dev.baton.control.ControlMessage.Auth;
import dev.baton.control.ControlMessage.Hello;
import dev.baton.control.LinkAuth.FrameMac;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.security.SecureRandom;
import java.util.Arrays;

/**
 * One end of a control connection driven by hand from a test: as a member that holds the key (it
 * dials and authenticates like a plane), or as a stranger that writes whatever bytes it likes.
 */
final class FakePeer implements AutoCloseable {
    private static final SecureRandom RANDOM = new SecureRandom();

    final Socket socket;
    private final OutputStream out;
    private final FrameReader reader;
    private final byte[] tag = new byte[LinkAuth.TAG_LENGTH];
    private FrameMac outMac;
    /** The acceptor's Hello and Auth, as a stranger saw them (after {@link #hello}). */
    byte[] theirHello;

    byte[] theirAuth;

    private FakePeer(Socket socket) throws IOException {
        this.socket = socket;
        this.out = socket.getOutputStream();
        this.reader = new FrameReader(socket.getInputStream());
    }

    static FakePeer connect(InetAddress address, int port, int timeoutMillis) throws IOException {
        Socket s = new Socket(address, port);
        s.setSoTimeout(timeoutMillis);
        return new FakePeer(s);
    }

    static Hello newHello(String name, long incarnation) {
        byte[] nonce = new byte[Hello.NONCE_LENGTH];
        RANDOM.nextBytes(nonce);
        return new Hello(name, 0x7f000001, 80, incarnation, nonce);
    }

    static byte[] encode(ControlMessage m) {
        return ControlFrameTest.encode(m);
    }

    /** Says Hello as {@code name} and reads the acceptor's Hello and Auth; returns our Hello's bytes. */
    byte[] hello(String name, long incarnation) throws IOException, FrameException {
        byte[] mine = encode(newHello(name, incarnation));
        write(mine);
        int n = reader.readFrame();
        theirHello = Arrays.copyOf(reader.buffer(), n);
        reader.decode(n);
        n = reader.readFrame();
        theirAuth = Arrays.copyOf(reader.buffer(), n);
        reader.decode(n);
        return mine;
    }

    /** The whole dialer's handshake with {@code key}; fails if the acceptor's Auth does not verify. */
    void authenticate(ClusterKey key, String name, long incarnation) throws IOException, FrameException {
        byte[] mine = hello(name, incarnation);
        write(encode(new Auth(LinkAuth.authMac(key, true, mine, theirHello))));
        Auth theirs = (Auth) ControlFrameTest.decode(theirAuth);
        if (!LinkAuth.authMatches(LinkAuth.authMac(key, false, mine, theirHello), theirs.mac())) {
            throw new AssertionError("the acceptor's Auth does not verify");
        }
        outMac = new FrameMac(LinkAuth.frameKey(key, true, mine, theirHello));
    }

    /** Sends {@code m} with its tag, as an authenticated member does. */
    void send(ControlMessage m) throws IOException {
        byte[] f = encode(m);
        outMac.sign(f, 0, f.length, tag);
        out.write(f);
        out.write(tag);
        out.flush();
    }

    /** {@code m}'s frame and tag, as {@link #send} would write them, for the caller to cut up. */
    byte[] tagged(ControlMessage m) {
        byte[] f = encode(m);
        byte[] out = Arrays.copyOf(f, f.length + LinkAuth.TAG_LENGTH);
        outMac.sign(f, 0, f.length, tag);
        System.arraycopy(tag, 0, out, f.length, tag.length);
        return out;
    }

    void write(byte[] bytes) throws IOException {
        out.write(bytes);
        out.flush();
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }
}
