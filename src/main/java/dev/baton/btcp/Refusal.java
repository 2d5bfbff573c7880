package dev.baton.btcp;

/**
 * Why a chosen node refused a handoff. In every case the entry node serves the connection itself: a
 * refusal is never an error for the client. Each carries its code on the control channel
 * ({@code control.RefuseReason}, the protocol's table; a test holds the two to the same codes).
 */
public enum Refusal {
    /** The chosen node is too loaded to take more connections. */
    BUSY(1),
    /** Its handoff table is full. */
    TABLE_FULL(2),
    /** It already holds a handoff with this connection id. */
    DUPLICATE(3),
    /** Its kernel did not answer the injected SYN in time. */
    NO_SYNACK(4),
    /** Its kernel chose TCP options the entry node's client cannot live with (e.g. a different MSS). */
    OPTION_MISMATCH(5),
    /** It is shutting down and takes no new connections. */
    DRAINING(6),
    /** The handoff request's packets were not a valid SYN and ACK for this node's service port. */
    MALFORMED(7),
    /**
     * The answer to an abort: the chosen node holds nothing of the connection (the request never
     * came, or its server had not seen the request and it let go), so the entry may serve it.
     */
    ABORTED(8);

    private static final Refusal[] BY_CODE = new Refusal[16];

    static {
        for (Refusal r : values()) BY_CODE[r.code] = r;
    }

    private final int code;

    Refusal(int code) {
        this.code = code;
    }

    /** Its code on the control channel. */
    public int code() {
        return code;
    }

    /** The refusal with {@code code}; an unknown code (a decoder lets none through) is an error. */
    public static Refusal ofCode(int code) {
        Refusal r = code >= 0 && code < BY_CODE.length ? BY_CODE[code] : null;
        if (r == null) throw new IllegalArgumentException("no refusal has code " + code);
        return r;
    }
}
