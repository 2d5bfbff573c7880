package dev.baton.btcp;

/**
 * One tracked connection. Objects are preallocated per table slot and reused; the fields that matter
 * depend on {@link #state}. "Entry" is the node the client connected to, "chosen" the node serving
 * it after a handoff; {@link #seqDelta} and {@link #tsDelta} translate between their spaces.
 */
final class Conn {
    /** Largest SYN or pure ACK kept: an IPv4 header and a TCP header, each at most 60 bytes. */
    static final int MAX_HANDSHAKE_PACKET = 120;

    // States of an entry-role connection.
    static final byte FREE = 0;
    /** SYN passed to our kernel; waiting for the client's ACK. */
    static final byte SYN_RCVD = 1;
    /** Handshake ACK and request bytes held; our kernel has only a SYN-RECV entry (claims 6, 16). */
    static final byte HOLDING = 2;
    /** Handoff request sent; client packets are queued. */
    static final byte PENDING = 3;
    /** Handed off: client packets are translated and forwarded to the chosen node (claim 7). */
    static final byte FORWARDING = 4;
    /** The chosen node reported the close; late retransmissions are still forwarded (claim 10). */
    static final byte LINGER = 5;
    /** Served by our kernel; watched only to count active connections. */
    static final byte LOCAL = 6;
    // States of a chosen-role connection.
    /** The client's SYN was injected into our kernel; waiting for its SYN/ACK (claim 3). */
    static final byte INJECTED = 7;
    /** Our kernel's packets are rewritten and sent directly to the client (claim 9). */
    static final byte SERVING = 8;
    /** Closed (both FINs or a RST); still rewriting while our kernel sits in TIME-WAIT. */
    static final byte CLOSED = 9;
    /**
     * Entry role again: the chosen node was lost, the client was sent a RST; its later packets are
     * answered with RSTs (RFC 5961 §3.2: a RST is taken only at exactly RCV.NXT, which each of the
     * client's ACKs states) until the entry is freed.
     */
    static final byte RESET = 10;

    final int slot;
    byte state;
    long key;
    int generation;

    int clientIsn;
    /** Next client sequence number the request reassembly expects (entry), highest seen (chosen). */
    int clientNext;

    // Our own kernel's SYN/ACK.
    boolean synAckSeen;
    HandshakeInit local;
    /** The other node's handshake state (at the chosen node: the entry's, from the handoff request). */
    HandshakeInit remote;

    // The other node of a handoff: the chosen node (at the entry) or the entry node (at the chosen).
    String peer;
    int peerAddress;
    long connId;
    /** At the entry: the chosen node's port for this connection's forwarded packets. */
    int forwardPort;

    int seqDelta;
    int tsDelta;
    boolean timestamps;
    /** Window scale shifts (chosen node's, entry node's) when they differ; otherwise equal. */
    int chosenWindowScale;
    int entryWindowScale;

    final byte[] syn = new byte[MAX_HANDSHAKE_PACKET];
    int synLength;
    final byte[] ack = new byte[MAX_HANDSHAKE_PACKET];
    int ackLength;

    /** At the entry: the window field of our kernel's SYN/ACK, and the client's latest TSval. */
    int synAckWindow;
    int clientTsVal;
    /** At the entry: the last sequence number we acknowledged to the client for held bytes. */
    int heldAcked;
    /** At the chosen node: the entry committed; its request bytes, injected after the ACK. */
    boolean committed;
    byte[] request;
    /** At the entry: the commit went with the handoff request; we may no longer serve it ourselves. */
    boolean committedEarly;
    /** System.nanoTime() when the entry sent its handoff request (for the handoff latency). */
    long handoffSentNanos;
    /** At the entry: an eagerly committed handoff outlived its first timeout and waits longer. */
    boolean waitedLong;
    /** At the chosen node: the entry asked (an abort) whether we serve it, and we said yes. */
    boolean queried;

    /** The client's latest acknowledgment number (what it has received), in this node's space. */
    int clientAck;
    /** At the chosen node: the end of what our kernel has sent the client (in our space). */
    int serverNext;
    /** The control link to {@link #peer} went down; the connection waits out the grace time. */
    boolean orphaned;
    /** The peer's incarnation when the handoff began: a different one later means it restarted. */
    long peerIncarnation;

    HoldBuffer hold;
    boolean finFromClient;
    boolean finFromServer;
    long lastSeen;
    /** Which flows of this connection the kernel's data path carries (Btcp.OFFLOAD_*). */
    byte offloaded;
    /** Packets of its flows the engine has read since the kernel's data path began to count them. */
    int readFromNetwork;
    int readFromKernel;
    /** When a handed-off connection may go down to the kernel (Btcp.HAND_DOWN_DELAY_MILLIS); 0: not waiting. */
    long handDownAt;
    /** The kernel keeps a record of it for a restarted process (Btcp.remember) ... */
    boolean remembered;
    /** ... written in this state and with these flags (ConnRecord.version). */
    int recordedAs;
    /** Taken over mid-handoff and reset: its peer hears an abort once its link is up. */
    boolean abortWhenUp;

    Conn(int slot) {
        this.slot = slot;
    }

    boolean isChosenRole() {
        return state == INJECTED || state == SERVING || state == CLOSED;
    }

    void reset() {
        state = FREE;
        offloaded = 0;
        readFromNetwork = 0;
        readFromKernel = 0;
        handDownAt = 0;
        remembered = false;
        recordedAs = 0;
        abortWhenUp = false;
        key = -1;
        clientIsn = 0;
        clientNext = 0;
        synAckSeen = false;
        local = null;
        remote = null;
        peer = null;
        peerAddress = 0;
        connId = 0;
        committedEarly = false;
        waitedLong = false;
        queried = false;
        forwardPort = 0;
        seqDelta = 0;
        tsDelta = 0;
        timestamps = false;
        chosenWindowScale = 0;
        entryWindowScale = 0;
        synLength = 0;
        ackLength = 0;
        synAckWindow = 0;
        clientTsVal = 0;
        heldAcked = 0;
        committed = false;
        request = null;
        clientAck = 0;
        serverNext = 0;
        orphaned = false;
        peerIncarnation = 0;
        hold = null;
        finFromClient = false;
        finFromServer = false;
        lastSeen = 0;
    }
}
