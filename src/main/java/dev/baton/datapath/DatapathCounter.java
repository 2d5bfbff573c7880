package dev.baton.datapath;

/** The programs' per-CPU counters, in the order of {@code enum datapath_counter} (src/main/bpf/datapath.h). */
public enum DatapathCounter {
    SLOW_FROM_WIRE("slowFromWire"),
    SLOW_FROM_KERNEL("slowFromKernel"),
    LOCAL_IN("localIn"),
    LOCAL_OUT("localOut"),
    TO_CHOSEN("toChosen"),
    TO_CHOSEN_BYTES("toChosenBytes"),
    FROM_ENTRY("fromEntry"),
    TO_CLIENT("toClient"),
    TO_CLIENT_BYTES("toClientBytes"),
    WIRE_OUT("wireOut"),
    BAD_OPTIONS("badOptions"),
    IP_OPTIONS("ipOptionsOrFragments"),
    NO_CONFIG("noConfig"),
    REDIRECT_FAILED("redirectFailed"),
    CATCHING_UP("catchingUp"),
    NO_PROGRESS("noProgress"),
    CLOSES_PASSED("closesPassed"),
    CLOSES_FULL("closesRingFull"),
    HANDSHAKES("handshakesInKernel"),
    HANDSHAKE_ACKS("handshakeAcksHeld"),
    DECIDED_LOCAL("decidedLocalInKernel"),
    DECIDED_LOCAL_ENDED("decidedLocalEnded"),
    REQUESTS_UP("requestsUp"),
    SILENT_RELEASED("silentReleased"),
    AFTER_LINGER("handshakesAfterLinger"),
    ENGINE_WOKEN("engineWoken");

    private final String key;

    DatapathCounter(String key) {
        this.key = key;
    }

    /** Its name in stats and metrics. */
    public String key() {
        return key;
    }
}
