package dev.baton.sys;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;

/**
 * A Linux TUN device (layer 3, {@code IFF_TUN | IFF_NO_PI}): each read returns one IPv4/IPv6 packet
 * that the kernel routed to the device, each write injects one packet as if received on it
 * (Documentation/networking/tuntap.rst). The device lives in the network namespace where it was
 * opened; it may be moved to another one with {@code ip link set DEV netns NS} and the descriptor
 * keeps working, which lets one process hold both TUNs of a node.
 *
 * <p>The descriptor is non-blocking: wait with {@link Poller}, then read until {@link #read} says
 * there is nothing left.
 *
 * <p>Opened {@linkplain #open(String, boolean) with a virtio-net header} ({@code IFF_VNET_HDR}),
 * every packet read or written is preceded by a 10-byte {@code struct virtio_net_hdr}
 * ({@code dev.baton.wire.VirtioNetHeader}); with {@link #offload} the kernel may then hand over
 * packets whose checksum it left to us (partial) and TCP super-packets of up to 64 KiB that it
 * segments only where they leave the machine (GSO), which saves most of the per-packet work of a
 * bulk transfer (docs/KERNEL-FACTS.md).
 */
public final class Tun implements AutoCloseable {
    private static final long TUNSETIFF = 0x400454caL;
    private static final short IFF_TUN = 0x0001;
    private static final short IFF_NO_PI = 0x1000;
    private static final short IFF_VNET_HDR = 0x4000;
    /** {@code _IOW('T', 208, unsigned int)}: which offloads the device's reader (us) accepts. */
    private static final long TUNSETOFFLOAD = 0x400454d0L;

    /** {@code TUN_F_CSUM}: we accept packets whose checksum is partial. */
    public static final int OFFLOAD_CSUM = 0x01;
    /** {@code TUN_F_TSO4}: we accept IPv4 TCP super-packets (needs {@link #OFFLOAD_CSUM}). */
    public static final int OFFLOAD_TSO4 = 0x02;
    /** {@code TUN_F_TSO6}: we accept IPv6 TCP super-packets (needs {@link #OFFLOAD_CSUM}). */
    public static final int OFFLOAD_TSO6 = 0x04;

    private static final int IFNAMSIZ = 16;
    private static final int IFREQ_SIZE = 40;

    /** Returned by {@link #read} when no packet is waiting. */
    public static final int NOTHING = -1;

    private final String name;
    private final int fd;
    private final boolean vnetHeader;
    private final Libc.CallState state = Libc.state();
    private volatile boolean closed;

    private Tun(String name, int fd, boolean vnetHeader) {
        this.name = name;
        this.fd = fd;
        this.vnetHeader = vnetHeader;
    }

    /** Creates (or attaches to) the TUN device {@code name} in the caller's network namespace. */
    public static Tun open(String name) throws SysException {
        return open(name, false);
    }

    /**
     * Creates (or attaches to) the TUN device {@code name}; with {@code vnetHeader}, every packet
     * read and written carries a {@code struct virtio_net_hdr} in front.
     */
    public static Tun open(String name, boolean vnetHeader) throws SysException {
        if (name.isEmpty() || name.length() >= IFNAMSIZ) {
            throw new IllegalArgumentException("device name must have 1-15 characters: " + name);
        }
        Libc.CallState st = Libc.state();
        try (Arena arena = Arena.ofConfined()) {
            int fd = Libc.open(st, arena.allocateFrom("/dev/net/tun"), Libc.O_RDWR | Libc.O_NONBLOCK | Libc.O_CLOEXEC);
            if (fd < 0) throw new SysException("open /dev/net/tun", st.errno());
            MemorySegment ifr = arena.allocate(IFREQ_SIZE);
            byte[] n = name.getBytes(StandardCharsets.US_ASCII);
            MemorySegment.copy(n, 0, ifr, ValueLayout.JAVA_BYTE, 0, n.length);
            short flags = (short) (IFF_TUN | IFF_NO_PI | (vnetHeader ? IFF_VNET_HDR : 0));
            ifr.set(ValueLayout.JAVA_SHORT, IFNAMSIZ, flags);
            if (Libc.ioctl(st, fd, TUNSETIFF, ifr) < 0) {
                int errno = st.errno();
                Libc.close(st, fd);
                throw new SysException("ioctl TUNSETIFF " + name, errno);
            }
            return new Tun(name, fd, vnetHeader);
        }
    }

    /**
     * Tells the kernel which offloads we accept on packets we read ({@code TUNSETOFFLOAD}, a mask of
     * {@code OFFLOAD_*}); 0 turns them off. Needs a device opened with a virtio-net header. Writes
     * may carry partial checksums and super-packets whatever this says.
     */
    public void offload(int flags) throws SysException {
        if (!vnetHeader) throw new IllegalStateException(name + " has no virtio-net header: no offloads");
        if (Libc.ioctl(state, fd, TUNSETOFFLOAD, flags & 0xffffffffL) < 0) {
            throw new SysException("ioctl TUNSETOFFLOAD " + name, state.errno());
        }
    }

    /** Whether every packet read and written starts with a {@code struct virtio_net_hdr}. */
    public boolean vnetHeader() {
        return vnetHeader;
    }

    public String name() {
        return name;
    }

    public int fd() {
        return fd;
    }

    /**
     * Reads one packet (after its virtio-net header, if the device has one) into {@code buf}; returns
     * the length read, header included, or {@link #NOTHING} if none is waiting.
     * Must be called from one thread only (the packet loop).
     */
    public int read(MemorySegment buf) throws SysException {
        long n = Libc.read(state, fd, buf, buf.byteSize());
        if (n >= 0) return (int) n;
        int errno = state.errno();
        if (errno == Libc.EAGAIN || errno == Libc.EINTR) return NOTHING;
        throw new SysException("read " + name, errno);
    }

    /**
     * Writes one packet of {@code len} bytes (header included, if the device has one); returns false if the kernel refused it (for example
     * an invalid packet, or the device is down), which the caller counts as a drop.
     */
    public boolean write(MemorySegment buf, int len) {
        long n = Libc.write(state, fd, buf, len);
        return n == len;
    }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        Libc.close(Libc.state(), fd);
    }
}
