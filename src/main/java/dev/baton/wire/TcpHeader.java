package dev.baton.wire;

import java.lang.foreign.MemorySegment;

/**
 * A reusable view of a TCP header and its options (RFC 9293 §3.1) in a buffer; it allocates nothing.
 *
 * <pre>
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |          Source Port          |       Destination Port        |
 * |                        Sequence Number                        |
 * |                    Acknowledgment Number                      |
 * |  Data |       |C|E|U|A|P|R|S|F|                               |
 * | Offset| Rsrvd |W|C|R|C|S|S|Y|I|            Window             |
 * |           Checksum            |         Urgent Pointer        |
 * |                    Options                    |    Padding    |
 * </pre>
 *
 * <p>{@link #validate()} checks the data offset against the segment length and walks the options
 * once, remembering where MSS, window scale, SACK-permitted, SACK blocks (RFC 2018) and timestamps
 * (RFC 7323) are; after it returned {@link #OK}, no accessor reads outside the segment.
 * The {@code ...WithChecksumUpdate} setters keep the TCP checksum right by RFC 1624.
 *
 * <p>A segment whose checksum is {@linkplain #partialChecksum(boolean) partial} (a TUN's
 * {@code VIRTIO_NET_HDR_F_NEEDS_CSUM}: the field holds the non-complemented sum of the pseudo-header
 * alone, and the kernel sums the segment later) is rewritten as Linux's
 * {@code inet_proto_csum_replace4} does for {@code CHECKSUM_PARTIAL}: only a pseudo-header change
 * touches the field, {@code P' = fold(P + ~m + m')}; a change inside the segment leaves it alone.
 */
public final class TcpHeader {
    public static final int MIN_LENGTH = 20;

    public static final int FIN = 0x01;
    public static final int SYN = 0x02;
    public static final int RST = 0x04;
    public static final int PSH = 0x08;
    public static final int ACK = 0x10;
    public static final int URG = 0x20;

    /** Results of {@link #validate()}. */
    public static final int OK = 0;

    public static final int TRUNCATED = 1;
    public static final int BAD_DATA_OFFSET = 2;
    public static final int BAD_OPTIONS = 3;

    static final int SOURCE_PORT = 0;
    static final int DESTINATION_PORT = 2;
    static final int SEQUENCE = 4;
    static final int ACKNOWLEDGMENT = 8;
    static final int DATA_OFFSET = 12;
    static final int FLAGS = 13;
    static final int WINDOW = 14;
    static final int CHECKSUM = 16;
    static final int URGENT = 18;

    static final int KIND_EOL = 0;
    static final int KIND_NOP = 1;
    static final int KIND_MSS = 2;
    static final int KIND_WINDOW_SCALE = 3;
    static final int KIND_SACK_PERMITTED = 4;
    static final int KIND_SACK = 5;
    static final int KIND_TIMESTAMPS = 8;

    private MemorySegment segment;
    private long base;
    private int length;
    private boolean partial;

    // Where the options are, found by validate(); -1 when absent.
    private int mss;
    private int windowScale;
    private boolean sackPermitted;
    private long timestampsAt;
    private long sackAt;
    private int sackBlocks;

    /** Points this view at a TCP segment of {@code length} bytes (header and payload). */
    public TcpHeader wrap(MemorySegment segment, long base, int length) {
        this.segment = segment;
        this.base = base;
        this.length = length;
        this.partial = false;
        return this;
    }

    /**
     * Says whether the checksum field of the wrapped segment is partial (see the class comment);
     * {@link #wrap} resets it to false (a full checksum).
     */
    public TcpHeader partialChecksum(boolean partial) {
        this.partial = partial;
        return this;
    }

    public boolean partialChecksum() {
        return partial;
    }

    public long base() {
        return base;
    }

    public MemorySegment segment() {
        return segment;
    }

    public int segmentLength() {
        return length;
    }

    /** Checks lengths and options; returns {@link #OK} or the reason the segment is malformed. */
    public int validate() {
        mss = -1;
        windowScale = -1;
        sackPermitted = false;
        timestampsAt = -1;
        sackAt = -1;
        sackBlocks = 0;
        if (length < MIN_LENGTH) return TRUNCATED;
        int hl = headerLength();
        if (hl < MIN_LENGTH || hl > length) return BAD_DATA_OFFSET;
        long at = base + MIN_LENGTH;
        long end = base + hl;
        while (at < end) {
            int kind = Bytes.u8(segment, at);
            if (kind == KIND_EOL) break;
            if (kind == KIND_NOP) {
                at++;
                continue;
            }
            if (at + 1 >= end) return BAD_OPTIONS;
            int len = Bytes.u8(segment, at + 1);
            if (len < 2 || at + len > end) return BAD_OPTIONS;
            switch (kind) {
                case KIND_MSS -> {
                    if (len != 4) return BAD_OPTIONS;
                    mss = Bytes.u16(segment, at + 2);
                }
                case KIND_WINDOW_SCALE -> {
                    if (len != 3) return BAD_OPTIONS;
                    windowScale = Math.min(Bytes.u8(segment, at + 2), 14); // RFC 7323 §2.3
                }
                case KIND_SACK_PERMITTED -> {
                    if (len != 2) return BAD_OPTIONS;
                    sackPermitted = true;
                }
                case KIND_SACK -> {
                    if (len < 10 || (len - 2) % 8 != 0) return BAD_OPTIONS;
                    sackAt = at + 2;
                    sackBlocks = (len - 2) / 8;
                }
                case KIND_TIMESTAMPS -> {
                    if (len != 10) return BAD_OPTIONS;
                    timestampsAt = at + 2;
                }
                default -> {}
            }
            at += len;
        }
        return OK;
    }

    public int sourcePort() {
        return Bytes.u16(segment, base + SOURCE_PORT);
    }

    public int destinationPort() {
        return Bytes.u16(segment, base + DESTINATION_PORT);
    }

    public int sequenceNumber() {
        return Bytes.u32(segment, base + SEQUENCE);
    }

    public void sequenceNumber(int v) {
        Bytes.u32(segment, base + SEQUENCE, v);
    }

    public int acknowledgmentNumber() {
        return Bytes.u32(segment, base + ACKNOWLEDGMENT);
    }

    public void acknowledgmentNumber(int v) {
        Bytes.u32(segment, base + ACKNOWLEDGMENT, v);
    }

    public int headerLength() {
        return (Bytes.u8(segment, base + DATA_OFFSET) >>> 4) * 4;
    }

    public int flags() {
        return Bytes.u8(segment, base + FLAGS);
    }

    public void flags(int v) {
        Bytes.u8(segment, base + FLAGS, v);
    }

    public boolean syn() {
        return (flags() & SYN) != 0;
    }

    public boolean ack() {
        return (flags() & ACK) != 0;
    }

    public boolean fin() {
        return (flags() & FIN) != 0;
    }

    public boolean rst() {
        return (flags() & RST) != 0;
    }

    public int window() {
        return Bytes.u16(segment, base + WINDOW);
    }

    public int checksum() {
        return Bytes.u16(segment, base + CHECKSUM);
    }

    public void checksum(int v) {
        Bytes.u16(segment, base + CHECKSUM, v);
    }

    public int urgentPointer() {
        return Bytes.u16(segment, base + URGENT);
    }

    public long payloadOffset() {
        return base + headerLength();
    }

    public int payloadLength() {
        return length - headerLength();
    }

    /** Sequence space the segment occupies: payload, plus one each for SYN and FIN (RFC 9293 §3.4). */
    public int sequenceLength() {
        int f = flags();
        return payloadLength() + ((f & SYN) != 0 ? 1 : 0) + ((f & FIN) != 0 ? 1 : 0);
    }

    // ---- options (valid after validate() == OK) ----

    /** MSS option value, or -1. */
    public int mss() {
        return mss;
    }

    /** Window scale shift (clamped to 14), or -1 if the option is absent. */
    public int windowScale() {
        return windowScale;
    }

    public boolean sackPermitted() {
        return sackPermitted;
    }

    public boolean hasTimestamps() {
        return timestampsAt >= 0;
    }

    public int tsVal() {
        return Bytes.u32(segment, timestampsAt);
    }

    public int tsEcr() {
        return Bytes.u32(segment, timestampsAt + 4);
    }

    public int sackBlockCount() {
        return sackBlocks;
    }

    public int sackLeft(int i) {
        return Bytes.u32(segment, sackAt + 8L * i);
    }

    public int sackRight(int i) {
        return Bytes.u32(segment, sackAt + 8L * i + 4);
    }

    // ---- rewriting with incremental checksum update (RFC 1624) ----

    private void replace32(long at, int value) {
        int old = Bytes.u32(segment, at);
        Bytes.u32(segment, at, value);
        if (partial) return; // the kernel sums the segment later
        if (((at - base) & 1) != 0) {
            // Options need no alignment (RFC 9293 §3.1), so a timestamp or SACK edge can start at an
            // odd offset: its bytes b0 b1 b2 b3 then sit in the summed 16-bit words as [.. b0][b1 b2][b3 ..],
            // i.e. the words of the value rotated right by 8 bits (RFC 1071 §2(B), byte order independence).
            old = Integer.rotateRight(old, 8);
            value = Integer.rotateRight(value, 8);
        }
        checksum(Checksum.update32(checksum(), old, value));
    }

    public void sequenceNumberWithChecksumUpdate(int v) {
        replace32(base + SEQUENCE, v);
    }

    public void acknowledgmentNumberWithChecksumUpdate(int v) {
        replace32(base + ACKNOWLEDGMENT, v);
    }

    public void destinationPortWithChecksumUpdate(int v) {
        int old = destinationPort();
        Bytes.u16(segment, base + DESTINATION_PORT, v);
        if (!partial) checksum(Checksum.update16(checksum(), old, v));
    }

    public void windowWithChecksumUpdate(int v) {
        int old = window();
        Bytes.u16(segment, base + WINDOW, v);
        if (!partial) checksum(Checksum.update16(checksum(), old, v));
    }

    public void tsValWithChecksumUpdate(int v) {
        replace32(timestampsAt, v);
    }

    public void tsEcrWithChecksumUpdate(int v) {
        replace32(timestampsAt + 4, v);
    }

    /** Adds {@code delta} to both edges of every SACK block (as nf_conntrack_seqadj's sack adjust). */
    public void shiftSackBlocksWithChecksumUpdate(int delta) {
        for (int i = 0; i < sackBlocks; i++) {
            long at = sackAt + 8L * i;
            replace32(at, Bytes.u32(segment, at) + delta);
            replace32(at + 4, Bytes.u32(segment, at + 4) + delta);
        }
    }

    /** An IPv4 address in the pseudo-header changed (RFC 9293 §3.1): fold that into the checksum. */
    public void pseudoHeaderAddressChanged(int oldAddress, int newAddress) {
        // Full: HC' = ~(~HC + ~m + m'). Partial: P' = fold(P + ~m + m') = ~update(~P) (no complements).
        if (partial) checksum(~Checksum.update32(~checksum() & 0xffff, oldAddress, newAddress) & 0xffff);
        else checksum(Checksum.update32(checksum(), oldAddress, newAddress));
    }

    /** The checksum over the IPv4 pseudo-header and the whole segment, as the field should hold. */
    public int computeChecksum(int sourceAddress, int destinationAddress) {
        long sum = pseudoHeaderSum(sourceAddress, destinationAddress);
        sum = Checksum.sum(segment, base, length, sum) - checksum();
        return Checksum.finish(sum);
    }

    public void updateChecksum(int sourceAddress, int destinationAddress) {
        checksum(0);
        checksum(Checksum.finish(
                Checksum.sum(segment, base, length, pseudoHeaderSum(sourceAddress, destinationAddress))));
    }

    public boolean checksumValid(int sourceAddress, int destinationAddress) {
        long sum = Checksum.sum(segment, base, length, pseudoHeaderSum(sourceAddress, destinationAddress));
        return Checksum.fold(sum) == 0xffff;
    }

    private long pseudoHeaderSum(int src, int dst) {
        return (src & 0xffffffffL) + (dst & 0xffffffffL) + Ipv4Header.PROTOCOL_TCP + length;
    }
}
