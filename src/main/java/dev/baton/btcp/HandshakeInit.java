package dev.baton.btcp;

import dev.baton.wire.TcpHeader;

/**
 * A node's initial TCP state for one connection, parsed from the SYN/ACK its kernel sent (claims 2,
 * 4-5, 12, 14-15, 28, 30, 35: "parsing said initial TCP state from said SYN/ACK packet, including
 * ... initial sequence number"). The entry node sends its own in the handoff request, the chosen
 * node answers with its own in the handoff ack; from the two each side computes the translation.
 *
 * @param isn initial sequence number of the node's kernel
 * @param tsVal TSval of the SYN/ACK (RFC 7323), meaningful when {@code timestamps}
 * @param windowScale the shift the node's kernel announced, or -1 if none
 * @param mss the MSS the node's kernel announced, or -1
 */
public record HandshakeInit(int isn, int tsVal, int windowScale, int mss, boolean timestamps, boolean sackPermitted) {
    /** Parsed from a SYN/ACK's header. */
    static HandshakeInit of(TcpHeader synAck) {
        return new HandshakeInit(
                synAck.sequenceNumber(),
                synAck.hasTimestamps() ? synAck.tsVal() : 0,
                synAck.windowScale(),
                synAck.mss(),
                synAck.hasTimestamps(),
                synAck.sackPermitted());
    }

    /** The same with another TSval. */
    public HandshakeInit withTsVal(int ts) {
        return new HandshakeInit(isn, ts, windowScale, mss, timestamps, sackPermitted);
    }
}
