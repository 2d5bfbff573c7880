package dev.baton.btcp;

import java.util.Locale;

/**
 * The phase of its connection a packet belongs to, as the BTCP sees it at that moment: what packet
 * modules in the node's chain (fault injection) select packets by. A packet from the network is
 * classified before the BTCP handles it ({@link Btcp#phaseOfWirePacket}); a packet to the network by
 * the BTCP as it writes it ({@link Btcp#emittingPhase}).
 */
public enum Phase {
    /** The client's SYN (from the network). */
    SYN,
    /** Our kernel's SYN/ACK to the client, first or retransmitted (to the network). */
    SYNACK,
    /** The client's packets after its SYN until the handshake's ACK is held. */
    HANDSHAKE,
    /** The client's request segments while they are held, and our ACKs of held bytes. */
    REQUEST,
    /** The client's packets while a handoff request waits for its answer. */
    HANDOFF,
    /** Client packets of a handed-off connection: forwarded by the entry, received by the chosen node. */
    FORWARDED,
    /** The chosen node's packets to the client, with the entry node's address. */
    SERVED,
    /** Packets of a connection this node serves itself. */
    LOCAL,
    /** Anything else: other ports and protocols, untracked connections, the control channel. */
    OTHER;

    /** The lower-case name used on the command line. */
    public String cliName() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** The phase named {@code s} (case-insensitive), or an exception listing the names. */
    public static Phase parse(String s) {
        for (Phase p : values()) {
            if (p.name().equalsIgnoreCase(s)) return p;
        }
        StringBuilder names = new StringBuilder();
        for (Phase p : values()) names.append(names.isEmpty() ? "" : ", ").append(p.cliName());
        throw new IllegalArgumentException("unknown phase '" + s + "'; phases are " + names);
    }
}
