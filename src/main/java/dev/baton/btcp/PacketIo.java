package dev.baton.btcp;

import dev.baton.wire.Ipv4Header;
import dev.baton.wire.TcpHeader;
import dev.baton.wire.TcpPacketWriter;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * The packet at hand and where packets go: the headers of the packet being handled, spare headers
 * for the packets a connection keeps, a buffer for the packets the engine writes itself, and the
 * {@link Btcp.Output} with the phase of each packet written (the fault module's selector). Reused
 * for every packet: nothing here allocates after construction.
 */
final class PacketIo {
    static final int MAX_PACKET = 65536;

    /** The packet being handled. */
    final Ipv4Header ip = new Ipv4Header();

    final TcpHeader tcp = new TcpHeader();
    /** For a packet kept (held, or a handshake packet) while {@link #ip} holds the one at hand. */
    final Ipv4Header auxIp = new Ipv4Header();

    final TcpHeader auxTcp = new TcpHeader();
    /** For the packets the engine writes (ACKs of held bytes, RSTs, injected segments). */
    final MemorySegment tx = Arena.ofAuto().allocate(MAX_PACKET, 16);

    final byte[] scratch = new byte[MAX_PACKET];
    final TcpPacketWriter writer = new TcpPacketWriter();

    private final Btcp.Output out;
    private final Counters counters;
    private Phase emitting = Phase.OTHER;

    PacketIo(Btcp.Output out, Counters counters) {
        this.out = out;
        this.counters = counters;
    }

    void toKernel(MemorySegment p, int len) {
        out.toKernel(p, len);
    }

    void toWire(MemorySegment p, int len) {
        toWire(p, len, Phase.OTHER);
    }

    void toWire(MemorySegment p, int len, Phase phase) {
        emitting = phase;
        out.toWire(p, len);
        emitting = Phase.OTHER;
    }

    /** While {@link Btcp.Output#toWire} runs: the phase of the packet being written. */
    Phase emitting() {
        return emitting;
    }

    /** The TCP header of the packet at hand is sound; a drop is counted if not. */
    boolean validTcp() {
        int v = tcp.validate();
        if (v == TcpHeader.OK) return true;
        counters.drop(v == TcpHeader.BAD_OPTIONS ? Drop.BAD_TCP_OPTIONS : Drop.BAD_TCP_HEADER);
        return false;
    }

    /**
     * Both checksums of the packet at hand, for the packets we keep (a SYN's table entry, held
     * packets): we acknowledge held bytes ourselves, so one our kernel then drops for a wrong IPv4
     * header checksum would be lost for good (found by fuzzing).
     */
    boolean checksumsValid() {
        return ip.headerChecksumValid() && tcp.checksumValid(ip.sourceAddress(), ip.destinationAddress());
    }

    /** The packet at hand is a SYN of a new connection on {@code c}'s port, not a retransmission. */
    boolean isNewSyn(Conn c) {
        return tcp.syn() && !tcp.ack() && tcp.sequenceNumber() != c.clientIsn;
    }

    /** Points {@link #auxIp} and {@link #auxTcp} at packet {@code i} of {@code h}. */
    void wrapHeld(HoldBuffer h, int i) {
        auxIp.wrap(h.data, h.offsets[i], h.lengths[i]);
        int ipHl = auxIp.headerLength();
        auxTcp.wrap(h.data, h.offsets[i] + ipHl, h.lengths[i] - ipHl);
    }
}
