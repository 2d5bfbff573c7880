package dev.baton.btcp;

/**
 * The state of one tracked connection ({@link Conn#state}). Entry-role states belong to the node
 * the client connected to, chosen-role states to the node serving it after a handoff.
 *
 * <p>Every switch over a state lists every state, with no {@code default}: a state added later must
 * be placed in each. javac checks that for switch expressions; a switch statement carries a
 * {@code case null}, which makes it one that must be exhaustive too (JLS 14.11.1.1).
 */
enum State {
    /** The table slot is unused. */
    FREE(0, Role.NONE),
    /** SYN passed to our kernel; waiting for the client's ACK. */
    SYN_RCVD(1, Role.ENTRY),
    /** Handshake ACK and request bytes held; our kernel has only a SYN-RECV entry (claims 6, 16). */
    HOLDING(2, Role.ENTRY),
    /** Handoff request sent; client packets are queued. */
    PENDING(3, Role.ENTRY),
    /** Handed off: client packets are translated and forwarded to the chosen node (claim 7). */
    FORWARDING(4, Role.ENTRY),
    /** The chosen node reported the close; late retransmissions are still forwarded (claim 10). */
    LINGER(5, Role.ENTRY),
    /** Served by our kernel; watched only to count active connections (claim 8). */
    LOCAL(6, Role.ENTRY),
    /** Chosen role: the client's SYN was injected into our kernel; waiting for its SYN/ACK (claim 3). */
    INJECTED(7, Role.CHOSEN),
    /** Chosen role: our kernel's packets are rewritten and sent directly to the client (claim 9). */
    SERVING(8, Role.CHOSEN),
    /** Chosen role: closed (both FINs or a RST); still rewriting while our kernel sits in TIME-WAIT. */
    CLOSED(9, Role.CHOSEN),
    /**
     * Entry role again: the chosen node was lost, the client was sent a RST; its later packets are
     * answered with RSTs (RFC 5961 §3.2: a RST is taken only at exactly RCV.NXT, which each of the
     * client's ACKs states) until the entry is freed.
     */
    RESET(10, Role.ENTRY);

    /** Which node of a handoff a state belongs to. */
    enum Role {
        NONE,
        ENTRY,
        CHOSEN
    }

    private static final State[] BY_CODE = new State[11];

    static {
        for (State s : values()) BY_CODE[s.code] = s;
    }

    /** The state's number in a connection's record (ConnRecord; src/main/bpf/datapath.h). */
    final byte code;

    final Role role;

    State(int code, Role role) {
        this.code = (byte) code;
        this.role = role;
    }

    /** The state numbered {@code code} in a record, or null for a number that names none. */
    static State ofCode(byte code) {
        return code >= 0 && code < BY_CODE.length ? BY_CODE[code] : null;
    }

    /** Served by this node's own server: its load. */
    boolean servedHere() {
        return this == LOCAL || this == SERVING;
    }

    /**
     * Still carries data. Entries kept only to absorb late retransmissions (linger, TIME-WAIT,
     * reset) do not: a draining node with none open has finished its work.
     */
    boolean carriesData() {
        return switch (this) {
            case FREE, LINGER, CLOSED, RESET -> false;
            case SYN_RCVD, HOLDING, PENDING, FORWARDING, LOCAL, INJECTED, SERVING -> true;
        };
    }
}
