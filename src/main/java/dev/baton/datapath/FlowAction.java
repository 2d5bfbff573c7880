package dev.baton.datapath;

/** What the data path does with a flow's packets ({@code enum flow_action} in src/main/bpf/datapath.h). */
public enum FlowAction {
    /** Served here (claim 8): passed to and from the kernel untouched. */
    LOCAL(1),
    /** Entry node, client to chosen (claims 7, 17): destination, ack, SACK edges, TSecr; out again. */
    TO_CHOSEN(2),
    /** Chosen node, a forwarded client packet: to the entry's shadow address and the service port. */
    FROM_ENTRY(3),
    /** Chosen node, its kernel to the client (claims 9, 18): source, seq, TSval, window; straight out. */
    TO_CLIENT(4),
    /** The engine has the connection: every packet to user space, counted (the hand-down waits for them). */
    HOLD(5);

    private final int code;

    FlowAction(int code) {
        this.code = code;
    }

    public int code() {
        return code;
    }

    public static FlowAction of(int code) {
        for (FlowAction a : values()) {
            if (a.code == code) return a;
        }
        throw new IllegalArgumentException("no flow action " + code);
    }
}
