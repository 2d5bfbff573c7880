package dev.baton.btcp;

import dev.baton.wire.Ipv4Header;
import dev.baton.wire.TcpHeader;

/**
 * How a handed-off connection's numbers differ between the entry and the chosen node, and the
 * rewrites that carry a packet from one space to the other (claims 7-9; docs/KERNEL-FACTS.md: sequence,
 * ack, SACK edges, timestamps, window). One per table slot, reused. The kernel's programs do the
 * same for the segments they carry (src/main/bpf/baton.bpf.c).
 */
final class Translation {
    /** Chosen node's sequence numbers minus the entry's: its ISN against the entry's SYN/ACK's. */
    int seqDelta;
    /** Chosen node's TSvals minus the entry's. */
    int tsDelta;
    /** Both kernels use timestamps (RFC 7323). */
    boolean timestamps;
    /** Window scale shifts (chosen node's, entry node's) when they differ; otherwise equal. */
    int chosenWindowScale;

    int entryWindowScale;

    /** At the entry, from its own SYN/ACK and the chosen node's (the handoff ack). */
    void atEntry(HandshakeInit entry, HandshakeInit chosen) {
        seqDelta = chosen.isn() - entry.isn();
        tsDelta = chosen.tsVal() - entry.tsVal();
        timestamps = entry.timestamps() && chosen.timestamps();
    }

    /** At the chosen node, from the entry's SYN/ACK (the handoff request) and its own. */
    void atChosen(HandshakeInit entry, HandshakeInit chosen) {
        seqDelta = chosen.isn() - entry.isn();
        tsDelta = chosen.tsVal() - entry.tsVal();
        timestamps = chosen.timestamps();
        chosenWindowScale = Math.max(0, chosen.windowScale());
        entryWindowScale = Math.max(0, entry.windowScale());
    }

    void clear() {
        seqDelta = 0;
        tsDelta = 0;
        timestamps = false;
        chosenWindowScale = 0;
        entryWindowScale = 0;
    }

    /** For the kernel's data path (control path: allocates). */
    FastPath.Translation forKernel() {
        return new FastPath.Translation(seqDelta, tsDelta, timestamps, chosenWindowScale, entryWindowScale);
    }

    /** Entry to chosen: destination, ack, SACK edges and TSecr into the chosen node's space (claim 7). */
    void toChosen(Ipv4Header ip, TcpHeader tcp, int chosen, int forwardPort) {
        readdress(ip, tcp, chosen, forwardPort);
        if (tcp.ack()) {
            tcp.acknowledgmentNumberWithChecksumUpdate(tcp.acknowledgmentNumber() + seqDelta);
            if (tcp.sackBlockCount() > 0) tcp.shiftSackBlocksWithChecksumUpdate(seqDelta);
            if (timestamps && tcp.hasTimestamps()) tcp.tsEcrWithChecksumUpdate(tcp.tsEcr() + tsDelta);
        }
    }

    /**
     * The held handshake ACK, injected into the chosen node's kernel (claims 3, 13, 34): to the
     * entry's shadow address, its ack and TSecr in this node's space.
     */
    void heldAckToChosen(Ipv4Header ip, TcpHeader tcp, int shadow) {
        int old = ip.destinationAddress();
        ip.destinationAddressWithChecksumUpdate(shadow);
        tcp.pseudoHeaderAddressChanged(old, shadow);
        tcp.acknowledgmentNumberWithChecksumUpdate(tcp.acknowledgmentNumber() + seqDelta);
        if (timestamps && tcp.hasTimestamps()) tcp.tsEcrWithChecksumUpdate(tcp.tsEcr() + tsDelta);
    }

    /** Chosen to client: source, sequence, TSval into the entry node's space; window rescaled (claim 9). */
    void toClient(Ipv4Header ip, TcpHeader tcp, int entry) {
        int old = ip.sourceAddress();
        ip.sourceAddressWithChecksumUpdate(entry);
        tcp.pseudoHeaderAddressChanged(old, entry);
        tcp.sequenceNumberWithChecksumUpdate(tcp.sequenceNumber() - seqDelta);
        if (timestamps && tcp.hasTimestamps()) tcp.tsValWithChecksumUpdate(tcp.tsVal() - tsDelta);
        if (chosenWindowScale != entryWindowScale) {
            long bytes = (long) tcp.window() << chosenWindowScale;
            tcp.windowWithChecksumUpdate((int) Math.min(0xffff, bytes >>> entryWindowScale));
        }
    }

    /** A sequence number of the chosen node's, in the entry's space (the client's view). */
    int toEntrySpace(int chosenSeq) {
        return chosenSeq - seqDelta;
    }

    /** An ack number of the entry's space, in the chosen node's. */
    int toChosenSpace(int entrySeq) {
        return entrySeq + seqDelta;
    }

    /** A TSecr of the client's, in the chosen node's clock. */
    int tsEcrToChosen(int tsEcr) {
        return tsEcr + tsDelta;
    }

    /**
     * A new destination, checksums kept right. At the chosen node a forwarded client packet gets
     * only this (to the entry's shadow address and the service port): the entry translated the rest.
     */
    static void readdress(Ipv4Header ip, TcpHeader tcp, int address, int port) {
        int old = ip.destinationAddress();
        ip.destinationAddressWithChecksumUpdate(address);
        tcp.pseudoHeaderAddressChanged(old, address);
        tcp.destinationPortWithChecksumUpdate(port);
    }
}
