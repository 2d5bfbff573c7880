package dev.baton.wire;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * A reusable view of the {@code struct virtio_net_hdr} that precedes every packet on a TUN device
 * opened with {@code IFF_VNET_HDR} (virtio 1.2 §5.1.6, include/uapi/linux/virtio_net.h). Fields are
 * little-endian (the legacy layout is the host's order; a TUN uses little-endian on x86).
 *
 * <pre>
 *  byte 0      flags        NEEDS_CSUM (1): the checksum at csum_start + csum_offset is partial
 *                           DATA_VALID (2): the sender vouches for the checksum
 *  byte 1      gso_type     NONE (0), TCPV4 (1), UDP (3), TCPV6 (4), | ECN (0x80)
 *  bytes 2-3   hdr_len      length of the headers to copy into each segment
 *  bytes 4-5   gso_size     payload bytes per segment (the MSS) of a super-packet
 *  bytes 6-7   csum_start   where the checksummed part begins (the TCP header)
 *  bytes 8-9   csum_offset  where the checksum field is, from csum_start (16 for TCP)
 * </pre>
 *
 * <p>A partial checksum (Linux's {@code CHECKSUM_PARTIAL}) holds the <em>non-complemented</em> sum
 * of the pseudo-header only; the kernel (or a NIC) adds the rest where the packet leaves. A
 * super-packet's pseudo-header counts its whole length; segmentation fixes that up per segment.
 */
public final class VirtioNetHeader {
    /** {@code sizeof(struct virtio_net_hdr)}: the TUN default ({@code TUNSETVNETHDRSZ}). */
    public static final int LENGTH = 10;

    public static final int F_NEEDS_CSUM = 0x01;
    public static final int F_DATA_VALID = 0x02;

    public static final int GSO_NONE = 0;
    public static final int GSO_TCPV4 = 1;
    public static final int GSO_UDP = 3;
    public static final int GSO_TCPV6 = 4;
    public static final int GSO_ECN = 0x80;

    static final int FLAGS = 0;
    static final int GSO_TYPE = 1;
    static final int HDR_LEN = 2;
    static final int GSO_SIZE = 4;
    static final int CSUM_START = 6;
    static final int CSUM_OFFSET = 8;

    private static final ValueLayout.OfShort LE16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private MemorySegment segment;
    private long base;

    /** Points this view at a header at {@code base}; the segment must have {@link #LENGTH} bytes there. */
    public VirtioNetHeader wrap(MemorySegment segment, long base) {
        this.segment = segment;
        this.base = base;
        return this;
    }

    public int flags() {
        return Bytes.u8(segment, base + FLAGS);
    }

    public void flags(int v) {
        Bytes.u8(segment, base + FLAGS, v);
    }

    public int gsoType() {
        return Bytes.u8(segment, base + GSO_TYPE);
    }

    public int headerLength() {
        return u16le(HDR_LEN);
    }

    public int gsoSize() {
        return u16le(GSO_SIZE);
    }

    public int checksumStart() {
        return u16le(CSUM_START);
    }

    public int checksumOffset() {
        return u16le(CSUM_OFFSET);
    }

    public boolean needsChecksum() {
        return (flags() & F_NEEDS_CSUM) != 0;
    }

    /** A super-packet, to be cut into segments of {@link #gsoSize()} where it leaves. */
    public boolean isGso() {
        return (gsoType() & ~GSO_ECN) != GSO_NONE;
    }

    /** All fields zero: a plain packet with a full checksum, which the receiver verifies itself. */
    public void clear() {
        segment.set(ValueLayout.JAVA_LONG_UNALIGNED, base, 0L);
        segment.set(ValueLayout.JAVA_SHORT_UNALIGNED, base + 8, (short) 0);
    }

    /**
     * Finishes a partial checksum in software, as Linux's {@code skb_checksum_help}: the
     * one's-complement sum from {@code csum_start} to the end of the packet (the partial pseudo-header
     * sum in the checksum field included), complemented, stored in the field; then the header says
     * NEEDS_CSUM no longer. For a packet that is no super-packet and lies at {@code packetBase}.
     *
     * @return false (nothing changed) if the offsets point outside the packet
     */
    public boolean completeChecksum(MemorySegment packet, long packetBase, int packetLength) {
        int start = checksumStart();
        int field = start + checksumOffset();
        if (field + 2 > packetLength || start > packetLength) return false;
        int sum = Checksum.finish(Checksum.sum(packet, packetBase + start, packetLength - start, 0));
        Bytes.u16(packet, packetBase + field, sum);
        flags(flags() & ~F_NEEDS_CSUM);
        return true;
    }

    private int u16le(int at) {
        return segment.get(LE16, base + at) & 0xffff;
    }

    /** Sets a field, for tests and for packets we build. */
    void u16le(int at, int v) {
        segment.set(LE16, base + at, (short) v);
    }
}
