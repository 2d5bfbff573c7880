package dev.baton.wire;

import java.lang.foreign.MemorySegment;

/**
 * Writes a whole IPv4/TCP packet (for segments the BTCP makes itself: resets into a kernel, ACKs to a
 * client, request segments injected at the chosen node). The header carries the timestamps option
 * when asked (NOP, NOP, TS: RFC 7323 Appendix A layout) and nothing else; checksums are computed in
 * full. Control path only: it runs once per handoff, not per forwarded packet.
 */
public final class TcpPacketWriter {
    public static final int IPV4_HEADER = 20;
    public static final int TCP_HEADER = 20;
    public static final int TIMESTAMPS_OPTION = 12;

    private final Ipv4Header ip = new Ipv4Header();
    private final TcpHeader tcp = new TcpHeader();

    /**
     * Writes the headers at offset 0 of {@code out} for a segment whose {@code payloadLength} bytes the
     * caller has already put (or will put, before {@link #finish}) right after them.
     *
     * @return the header length (where the payload starts)
     */
    public int headers(
            MemorySegment out,
            int src,
            int dst,
            int srcPort,
            int dstPort,
            int seq,
            int ack,
            int flags,
            int window,
            boolean timestamps,
            int tsVal,
            int tsEcr,
            int payloadLength) {
        int tcpHl = TCP_HEADER + (timestamps ? TIMESTAMPS_OPTION : 0);
        int hl = IPV4_HEADER + tcpHl;
        out.asSlice(0, hl).fill((byte) 0);
        Bytes.u8(out, 0, 0x45);
        Bytes.u16(out, Ipv4Header.TOTAL_LENGTH, hl + payloadLength);
        Bytes.u16(out, Ipv4Header.FLAGS_FRAGMENT, 0x4000); // DF
        Bytes.u8(out, Ipv4Header.TTL, 64);
        Bytes.u8(out, Ipv4Header.PROTOCOL, Ipv4Header.PROTOCOL_TCP);
        Bytes.u32(out, Ipv4Header.SOURCE, src);
        Bytes.u32(out, Ipv4Header.DESTINATION, dst);
        long t = IPV4_HEADER;
        Bytes.u16(out, t + TcpHeader.SOURCE_PORT, srcPort);
        Bytes.u16(out, t + TcpHeader.DESTINATION_PORT, dstPort);
        Bytes.u32(out, t + TcpHeader.SEQUENCE, seq);
        Bytes.u32(out, t + TcpHeader.ACKNOWLEDGMENT, ack);
        Bytes.u8(out, t + TcpHeader.DATA_OFFSET, (tcpHl / 4) << 4);
        Bytes.u8(out, t + TcpHeader.FLAGS, flags);
        Bytes.u16(out, t + TcpHeader.WINDOW, window);
        if (timestamps) {
            long o = t + TCP_HEADER;
            Bytes.u8(out, o, TcpHeader.KIND_NOP);
            Bytes.u8(out, o + 1, TcpHeader.KIND_NOP);
            Bytes.u8(out, o + 2, TcpHeader.KIND_TIMESTAMPS);
            Bytes.u8(out, o + 3, 10);
            Bytes.u32(out, o + 4, tsVal);
            Bytes.u32(out, o + 8, tsEcr);
        }
        return hl;
    }

    /** Computes both checksums of the packet at offset 0 of {@code out}; returns its length. */
    public int finish(MemorySegment out) {
        ip.wrap(out, 0, Bytes.u16(out, Ipv4Header.TOTAL_LENGTH));
        ip.updateHeaderChecksum();
        int total = ip.totalLength();
        tcp.wrap(out, IPV4_HEADER, total - IPV4_HEADER);
        tcp.updateChecksum(ip.sourceAddress(), ip.destinationAddress());
        return total;
    }
}
