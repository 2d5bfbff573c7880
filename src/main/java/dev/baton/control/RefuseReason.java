package dev.baton.control;

/**
 * Why a chosen node refused a handoff ({@link ControlMessage.HandoffRefuse#reason()}). In every case
 * the entry node serves the connection itself: a refusal is never an error for the client.
 */
public final class RefuseReason {
    /** The chosen node is too loaded to take more connections. */
    public static final int BUSY = 1;
    /** Its handoff table is full. */
    public static final int TABLE_FULL = 2;
    /** It already holds a handoff with this connection id. */
    public static final int DUPLICATE = 3;
    /** Its kernel did not answer the injected SYN in time. */
    public static final int NO_SYNACK = 4;
    /** Its kernel chose TCP options the entry node's client cannot live with (e.g. a different MSS). */
    public static final int OPTION_MISMATCH = 5;
    /** It is shutting down and takes no new connections. */
    public static final int DRAINING = 6;
    /** The handoff request's packets were not a valid SYN and ACK for this node's service port. */
    public static final int MALFORMED = 7;
    /**
     * The answer to an abort: the chosen node holds nothing of the connection (the request never
     * came, or its server had not seen the request and it let go), so the entry may serve it.
     */
    public static final int ABORTED = 8;

    private RefuseReason() {}

    /** Whether {@code reason} is one of the codes above; a decoder refuses any other. */
    public static boolean isValid(int reason) {
        return reason >= BUSY && reason <= ABORTED;
    }

    /** A name for logs and counters. */
    public static String name(int reason) {
        return switch (reason) {
            case BUSY -> "BUSY";
            case TABLE_FULL -> "TABLE_FULL";
            case DUPLICATE -> "DUPLICATE";
            case NO_SYNACK -> "NO_SYNACK";
            case OPTION_MISMATCH -> "OPTION_MISMATCH";
            case DRAINING -> "DRAINING";
            case MALFORMED -> "MALFORMED";
            case ABORTED -> "ABORTED";
            default -> "UNKNOWN(" + reason + ")";
        };
    }
}
