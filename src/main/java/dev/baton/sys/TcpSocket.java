package dev.baton.sys;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.ByteOrder;

/**
 * An IPv4 TCP socket of the kernel's, non-blocking, with its descriptor in view: unlike
 * {@code java.net.Socket} it can sit in the same {@link Poller} as the TUN devices, so the packet
 * loop reads and writes the control links itself, with no thread in between (docs/PERFORMANCE.md has what it gained).
 *
 * <p>Every call returns at once; {@link #awaitReadable}/{@link #awaitWritable} wait with a timeout
 * for the threads that want to block (the control channel's handshakes). Data calls take a
 * {@code byte[]} and copy through a native buffer of the socket's own: control frames are small, and
 * a socket is used by one thread at a time (its handshake's, then its driver's).
 */
public final class TcpSocket implements AutoCloseable {
    /** Returned by {@link #read} at the end of the stream. */
    public static final int EOF = -1;

    private static final int SOCKADDR_IN_SIZE = 16;
    private static final int BOUNCE = 65536;

    private final int fd;
    private final InetAddress remote;
    private final int remotePort;
    /** The native side of reads and writes; then the sockaddr and pollfd scratch of control calls. */
    private final MemorySegment bounce;

    private final MemorySegment scratch;
    private boolean closed;

    private TcpSocket(int fd, InetAddress remote, int remotePort) {
        this.fd = fd;
        this.remote = remote;
        this.remotePort = remotePort;
        Arena arena = Arena.ofAuto();
        this.bounce = arena.allocate(BOUNCE, 16);
        this.scratch = arena.allocate(32, 8);
    }

    /** A listening socket on {@code bind:port} ({@code SO_REUSEADDR}); port 0 picks a free one. */
    public static TcpSocket listen(InetAddress bind, int port, int backlog) throws SysException {
        TcpSocket s = new TcpSocket(newSocket(), null, 0);
        try (Arena arena = Arena.ofConfined()) {
            Libc.CallState st = Libc.state();
            MemorySegment one = arena.allocateFrom(ValueLayout.JAVA_INT, 1);
            check(Libc.setsockopt(st, s.fd, Libc.SOL_SOCKET, Libc.SO_REUSEADDR, one, 4), "setsockopt SO_REUSEADDR");
            MemorySegment sa = sockaddr(arena, bind, port);
            check(Libc.bind(st, s.fd, sa, SOCKADDR_IN_SIZE), "bind " + bind.getHostAddress() + ":" + port);
            check(Libc.listen(st, s.fd, backlog), "listen");
            return s;
        } catch (SysException | RuntimeException e) {
            s.close();
            throw e;
        }
    }

    /**
     * Connects from {@code from} (any local address if null) to {@code to:port}, with IP TOS
     * {@code tos} from the first segment on, waiting at most {@code timeoutMillis}.
     *
     * @throws SysException if refused, unreachable or not connected in time ({@code ETIMEDOUT})
     */
    public static TcpSocket connect(InetAddress from, InetAddress to, int port, int tos, long timeoutMillis)
            throws SysException {
        int fd = newSocket();
        TcpSocket s = new TcpSocket(fd, to, port);
        try (Arena arena = Arena.ofConfined()) {
            Libc.CallState st = Libc.state();
            s.setTos(tos);
            if (from != null) {
                check(Libc.bind(st, fd, sockaddr(arena, from, 0), SOCKADDR_IN_SIZE), "bind " + from.getHostAddress());
            }
            if (Libc.connect(st, fd, sockaddr(arena, to, port), SOCKADDR_IN_SIZE) < 0) {
                int errno = st.errno();
                if (errno != Libc.EINPROGRESS) {
                    throw new SysException("connect " + to.getHostAddress() + ":" + port, errno);
                }
                if (!s.awaitWritable(timeoutMillis)) {
                    throw new SysException("connect " + to.getHostAddress() + ":" + port, Libc.ETIMEDOUT);
                }
                int error = s.intOption(Libc.SOL_SOCKET, Libc.SO_ERROR);
                if (error != 0) {
                    throw new SysException("connect " + to.getHostAddress() + ":" + port, error);
                }
            }
            return s;
        } catch (SysException | RuntimeException e) {
            s.close(); // once: the descriptor number may be another's right after
            throw e;
        }
    }

    /** A connection waiting on this listening socket, or null if none is. */
    public TcpSocket accept() throws SysException {
        Libc.CallState st = Libc.state();
        scratch.set(ValueLayout.JAVA_INT, 16, SOCKADDR_IN_SIZE);
        int c = Libc.accept4(st, fd, scratch, scratch.asSlice(16, 4), Libc.SOCK_NONBLOCK | Libc.SOCK_CLOEXEC);
        if (c < 0) {
            int errno = st.errno();
            if (errno == Libc.EAGAIN || errno == Libc.EINTR) return null;
            throw new SysException("accept", errno);
        }
        return new TcpSocket(c, addressOf(scratch), Short.toUnsignedInt(scratch.get(BIG_SHORT, 2)));
    }

    /** The peer's address (null for a listening socket). */
    public InetAddress remoteAddress() {
        return remote;
    }

    public int remotePort() {
        return remotePort;
    }

    /** The port this socket is bound to. */
    public int localPort() throws SysException {
        Libc.CallState st = Libc.state();
        scratch.set(ValueLayout.JAVA_INT, 16, SOCKADDR_IN_SIZE);
        if (Libc.getsockname(st, fd, scratch, scratch.asSlice(16, 4)) < 0) {
            throw new SysException("getsockname", st.errno());
        }
        return Short.toUnsignedInt(scratch.get(BIG_SHORT, 2));
    }

    public int fd() {
        return fd;
    }

    /** {@code TCP_NODELAY}: small frames leave at once instead of waiting for an ack (Nagle, RFC 896). */
    public void setNoDelay(boolean on) throws SysException {
        setInt(Libc.IPPROTO_TCP, Libc.TCP_NODELAY, on ? 1 : 0, "TCP_NODELAY");
    }

    /** The IP TOS byte of what this socket sends. */
    public void setTos(int tos) throws SysException {
        setInt(Libc.IPPROTO_IP, Libc.IP_TOS, tos, "IP_TOS");
    }

    /**
     * Reads what is waiting, at most {@code len} bytes, into {@code dst[off..]}: the count, 0 if
     * nothing is waiting, or {@link #EOF}.
     *
     * @throws SysException if the connection failed (reset, timed out)
     */
    public int read(byte[] dst, int off, int len) throws SysException {
        Libc.CallState st = Libc.state();
        long n = Libc.read(st, fd, bounce, Math.min(len, BOUNCE));
        if (n > 0) {
            MemorySegment.copy(bounce, ValueLayout.JAVA_BYTE, 0, dst, off, (int) n);
            return (int) n;
        }
        if (n == 0) return len == 0 ? 0 : EOF;
        int errno = st.errno();
        if (errno == Libc.EAGAIN || errno == Libc.EINTR) return 0;
        throw new SysException("read", errno);
    }

    /**
     * Writes what the kernel takes now of {@code src[off, off+len)}: the count, 0 if its buffer is full.
     *
     * @throws SysException if the connection failed or was closed by the peer ({@code EPIPE})
     */
    public int write(byte[] src, int off, int len) throws SysException {
        Libc.CallState st = Libc.state();
        int chunk = Math.min(len, BOUNCE);
        MemorySegment.copy(src, off, bounce, ValueLayout.JAVA_BYTE, 0, chunk);
        long n = Libc.send(st, fd, bounce, chunk, Libc.MSG_NOSIGNAL);
        if (n >= 0) return (int) n;
        int errno = st.errno();
        if (errno == Libc.EAGAIN || errno == Libc.EINTR) return 0;
        throw new SysException("send", errno);
    }

    /** Waits up to {@code timeoutMillis} for something to read (or the end, or an error). */
    public boolean awaitReadable(long timeoutMillis) throws SysException {
        return await(Libc.POLLIN, timeoutMillis);
    }

    /** Waits up to {@code timeoutMillis} for room to write (or an error). */
    public boolean awaitWritable(long timeoutMillis) throws SysException {
        return await(Libc.POLLOUT, timeoutMillis);
    }

    private boolean await(short events, long timeoutMillis) throws SysException {
        MemorySegment pfd = scratch.asSlice(24, 8);
        pfd.set(ValueLayout.JAVA_INT, 0, fd);
        pfd.set(ValueLayout.JAVA_SHORT, 4, events);
        pfd.set(ValueLayout.JAVA_SHORT, 6, (short) 0);
        Libc.CallState st = Libc.state();
        int n = Libc.poll(st, pfd, 1, (int) Math.min(Math.max(0, timeoutMillis), Integer.MAX_VALUE));
        if (n < 0) {
            if (st.errno() == Libc.EINTR) return false;
            throw new SysException("poll", st.errno());
        }
        return n > 0;
    }

    /**
     * Shuts both directions: a thread waiting on this socket wakes, the peer sees the end. Safe from
     * any thread; the descriptor stays open until {@link #close}.
     */
    public synchronized void shutdown() {
        if (!closed) Libc.shutdown(Libc.state(), fd, Libc.SHUT_RDWR);
    }

    /**
     * Closes the descriptor, once, whoever calls first. Under the same lock as {@link #shutdown}: a
     * descriptor number is reused at once, and a late shutdown must not hit another's.
     */
    @Override
    public synchronized void close() {
        if (!closed) {
            closed = true;
            Libc.close(Libc.state(), fd);
        }
    }

    // ----

    private static final ValueLayout.OfShort BIG_SHORT =
            ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);

    private static int newSocket() throws SysException {
        Libc.CallState st = Libc.state();
        int fd = Libc.socket(st, Libc.AF_INET, Libc.SOCK_STREAM | Libc.SOCK_NONBLOCK | Libc.SOCK_CLOEXEC, 0);
        if (fd < 0) throw new SysException("socket", st.errno());
        return fd;
    }

    /** Throws if {@code rc} says the call failed; the caller closes the socket. */
    private static void check(int rc, String call) throws SysException {
        if (rc < 0) throw new SysException(call, Libc.state().errno());
    }

    /** {@code struct sockaddr_in}: family (host order), port and address (network order). */
    private static MemorySegment sockaddr(Arena arena, InetAddress a, int port) {
        if (!(a instanceof Inet4Address)) throw new IllegalArgumentException("IPv4 only: " + a);
        MemorySegment sa = arena.allocate(SOCKADDR_IN_SIZE, 4);
        sa.set(ValueLayout.JAVA_SHORT, 0, (short) Libc.AF_INET);
        sa.set(BIG_SHORT, 2, (short) port);
        MemorySegment.copy(a.getAddress(), 0, sa, ValueLayout.JAVA_BYTE, 4, 4);
        return sa;
    }

    private static InetAddress addressOf(MemorySegment sa) {
        byte[] b = new byte[4];
        MemorySegment.copy(sa, ValueLayout.JAVA_BYTE, 4, b, 0, 4);
        try {
            return InetAddress.getByAddress(b);
        } catch (UnknownHostException e) {
            throw new AssertionError("4 bytes are always an address", e);
        }
    }

    private void setInt(int level, int name, int value, String what) throws SysException {
        Libc.CallState st = Libc.state();
        MemorySegment v = scratch.asSlice(0, 4);
        v.set(ValueLayout.JAVA_INT, 0, value);
        if (Libc.setsockopt(st, fd, level, name, v, 4) < 0) throw new SysException("setsockopt " + what, st.errno());
    }

    private int intOption(int level, int name) throws SysException {
        Libc.CallState st = Libc.state();
        MemorySegment v = scratch.asSlice(0, 4);
        MemorySegment len = scratch.asSlice(4, 4);
        len.set(ValueLayout.JAVA_INT, 0, 4);
        if (Libc.getsockopt(st, fd, level, name, v, len) < 0) throw new SysException("getsockopt", st.errno());
        return v.get(ValueLayout.JAVA_INT, 0);
    }
}
