package dev.baton.btcp;

/**
 * One tracked connection. Objects are preallocated per table slot and reused; the fields that matter
 * depend on {@link #state}. "Entry" is the node the client connected to, "chosen" the node serving
 * it after a handoff; {@link #translation} carries packets between their spaces.
 */
final class Conn {
    /** Largest SYN or pure ACK kept: an IPv4 header and a TCP header, each at most 60 bytes. */
    static final int MAX_HANDSHAKE_PACKET = 120;

    final int slot;
    State state = State.FREE;
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

    /** Between the entry's sequence space and the chosen node's, once both SYN/ACKs are known. */
    final Translation translation = new Translation();

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
    /**
     * At the chosen node: the committed request waits for the round's control messages
     * (ChosenRole#injectAfterControl); the client's flow stays held until it is in our kernel.
     */
    boolean requestWaiting;
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
    /** What the kernel's data path knows of this connection's flows. */
    Offload offloaded = Offload.NONE;
    /** Packets of its flows the engine has read since the kernel's data path began to count them. */
    int readFromNetwork;

    int readFromKernel;
    /** When a handed-off connection may go down to the kernel (KernelPath.HAND_DOWN_DELAY_MILLIS); 0: not waiting. */
    long handDownAt;
    /** The kernel keeps a record of it for a restarted process (KernelPath#remember) ... */
    boolean remembered;
    /**
     * Taken in from a handshake the kernel passed ({@link FastPath#handshake}), or taken over, when it
     * may have been: its handshake is forgotten there at the end.
     */
    boolean adopted;
    /** ... written in this state and with these flags (ConnRecord.version). */
    int recordedAs;
    /** Taken over mid-handoff and reset: its peer hears an abort once its link is up. */
    boolean abortWhenUp;

    Conn(int slot) {
        this.slot = slot;
    }

    void reset() {
        state = State.FREE;
        adopted = false;
        offloaded = Offload.NONE;
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
        translation.clear();
        synLength = 0;
        ackLength = 0;
        synAckWindow = 0;
        clientTsVal = 0;
        heldAcked = 0;
        committed = false;
        request = null;
        requestWaiting = false;
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
