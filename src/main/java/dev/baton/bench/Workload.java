package dev.baton.bench;

import java.util.Locale;

/** What the client asks for, and how. */
public enum Workload {
    /** wrk, a 1 KiB file, {@code Connection: close}: one new connection per request. */
    SMALL_CLOSE("1 KiB, new connection", true, false),
    /** wrk, a 1 KiB file on keep-alive connections. */
    SMALL_KEEP_ALIVE("1 KiB, keep-alive", true, true),
    /** wrk, a 1 MiB file on keep-alive connections. */
    LARGE_KEEP_ALIVE("1 MiB, keep-alive", true, true),
    /** wrk, a 1 MiB file, 128 connections at once, a new one per transfer (issue 12: many bulk flows). */
    LARGE_CONCURRENT("128 concurrent 1 MiB", true, false, 128),
    /** curl, one 64 MiB transfer. */
    HUGE_SINGLE("one 64 MiB", false, false);

    private final String label;
    private final boolean wrk;
    private final boolean keepAlive;
    private final int connections;

    Workload(String label, boolean wrk, boolean keepAlive) {
        this(label, wrk, keepAlive, 0);
    }

    Workload(String label, boolean wrk, boolean keepAlive, int connections) {
        this.label = label;
        this.wrk = wrk;
        this.keepAlive = keepAlive;
        this.connections = connections;
    }

    /** The client connections at once, over every wrk process; 0: as the bench's option says. */
    public int connections() {
        return connections;
    }

    public String label() {
        return label;
    }

    /** True for the wrk workloads, false for the single curl transfer. */
    public boolean usesWrk() {
        return wrk;
    }

    /** True when connections carry many requests. */
    public boolean keepAlive() {
        return keepAlive;
    }

    /** {@code small_close}: the key in JSON. */
    public String key() {
        return name().toLowerCase(Locale.ROOT);
    }
}
