package dev.baton.wire;

import java.lang.foreign.MemorySegment;

/**
 * A reusable view of an IPv4 header (RFC 791 §3.1) in a buffer; it allocates nothing.
 *
 * <pre>
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |Version|  IHL  |Type of Service|          Total Length         |
 * |         Identification        |Flags|      Fragment Offset    |
 * |  Time to Live |    Protocol   |         Header Checksum       |
 * |                       Source Address                          |
 * |                    Destination Address                        |
 * |                    Options                    |    Padding    |
 * </pre>
 *
 * <p>Check once, then trust: after {@link #isValid()} returned true, no accessor reads outside the
 * packet. {@link #totalLength(int)} is the one setter that can break that guarantee.
 */
public final class Ipv4Header {
    public static final int MIN_LENGTH = 20;
    public static final int PROTOCOL_TCP = 6;

    static final int VERSION_IHL = 0;
    static final int TOTAL_LENGTH = 2;
    static final int IDENTIFICATION = 4;
    static final int FLAGS_FRAGMENT = 6;
    static final int TTL = 8;
    static final int PROTOCOL = 9;
    static final int CHECKSUM = 10;
    static final int SOURCE = 12;
    static final int DESTINATION = 16;

    private static final int MORE_FRAGMENTS = 0x2000;
    private static final int OFFSET_MASK = 0x1fff;

    private MemorySegment segment;
    private long base;
    private int capacity;

    /** Points this view at {@code capacity} bytes of {@code segment} starting at {@code base}. */
    public Ipv4Header wrap(MemorySegment segment, long base, int capacity) {
        this.segment = segment;
        this.base = base;
        this.capacity = capacity;
        return this;
    }

    public MemorySegment segment() {
        return segment;
    }

    public long base() {
        return base;
    }

    /** Version 4, IHL at least 5, and header length &lt;= total length &lt;= bytes available. */
    public boolean isValid() {
        if (capacity < MIN_LENGTH) return false;
        int vi = Bytes.u8(segment, base + VERSION_IHL);
        if (vi >>> 4 != 4) return false;
        int hl = (vi & 0xf) * 4;
        int tl = totalLength();
        return hl >= MIN_LENGTH && hl <= tl && tl <= capacity;
    }

    public int version() {
        return Bytes.u8(segment, base + VERSION_IHL) >>> 4;
    }

    public int headerLength() {
        return (Bytes.u8(segment, base + VERSION_IHL) & 0xf) * 4;
    }

    public int totalLength() {
        return Bytes.u16(segment, base + TOTAL_LENGTH);
    }

    /** Sets the total length without touching the checksum; may break {@link #isValid()}. */
    public void totalLength(int v) {
        Bytes.u16(segment, base + TOTAL_LENGTH, v);
    }

    public int identification() {
        return Bytes.u16(segment, base + IDENTIFICATION);
    }

    /** True for any fragment of a fragmented datagram: the MF flag set or a non-zero offset. */
    public boolean isFragment() {
        int ff = Bytes.u16(segment, base + FLAGS_FRAGMENT);
        return (ff & (MORE_FRAGMENTS | OFFSET_MASK)) != 0;
    }

    public int timeToLive() {
        return Bytes.u8(segment, base + TTL);
    }

    public int protocol() {
        return Bytes.u8(segment, base + PROTOCOL);
    }

    public int headerChecksum() {
        return Bytes.u16(segment, base + CHECKSUM);
    }

    public int sourceAddress() {
        return Bytes.u32(segment, base + SOURCE);
    }

    public int destinationAddress() {
        return Bytes.u32(segment, base + DESTINATION);
    }

    public long payloadOffset() {
        return base + headerLength();
    }

    public int payloadLength() {
        return totalLength() - headerLength();
    }

    /** Rewrites the source address, updating the header checksum (RFC 1624). */
    public void sourceAddressWithChecksumUpdate(int address) {
        int old = sourceAddress();
        Bytes.u32(segment, base + SOURCE, address);
        Bytes.u16(segment, base + CHECKSUM, Checksum.update32(headerChecksum(), old, address));
    }

    /** Rewrites the destination address, updating the header checksum (RFC 1624). */
    public void destinationAddressWithChecksumUpdate(int address) {
        int old = destinationAddress();
        Bytes.u32(segment, base + DESTINATION, address);
        Bytes.u16(segment, base + CHECKSUM, Checksum.update32(headerChecksum(), old, address));
    }

    /** The checksum this header should carry (RFC 791: over the header, checksum field as zero). */
    public int computeHeaderChecksum() {
        long sum = Checksum.sum(segment, base, headerLength(), 0) - headerChecksum();
        return Checksum.finish(sum);
    }

    /** Recomputes and stores the header checksum. */
    public void updateHeaderChecksum() {
        Bytes.u16(segment, base + CHECKSUM, 0);
        Bytes.u16(segment, base + CHECKSUM, Checksum.finish(Checksum.sum(segment, base, headerLength(), 0)));
    }

    public boolean headerChecksumValid() {
        return Checksum.fold(Checksum.sum(segment, base, headerLength(), 0)) == 0xffff;
    }
}
