package dev.baton.btcp;

/** Why a packet or a control message was dropped; each reason is counted separately. */
public enum Drop {
    BAD_IP_HEADER("badIpHeader"),
    BAD_TCP_HEADER("badTcpHeader"),
    BAD_TCP_OPTIONS("badTcpOptions"),
    BAD_CHECKSUM("badChecksum"),
    TABLE_FULL("tableFull"),
    HOLD_POOL_EMPTY("holdPoolEmpty"),
    HOLD_FULL("holdFull"),
    DUPLICATE_SYN("duplicateSyn"),
    STRAY_KERNEL_PACKET("strayKernelPacket"),
    /** Client packets forwarded to us for a handed-in connection before its SYN/ACK or its commit. */
    EARLY_FORWARD("earlyForward"),
    /** Our kernel's packets of a handed-in connection the entry has not committed yet. */
    BEFORE_COMMIT("beforeCommit"),
    /** Handed-in connections the entry never committed: reset in our kernel. */
    NEVER_COMMITTED("neverCommitted"),
    UNKNOWN_CONNECTION("unknownConnection"),
    BAD_HANDOFF("badHandoff"),
    /**
     * A handoff request for a connection already handed in under the same id, or an ack for one
     * already forwarded (the answer to an entry's question after an eager commit): ignored.
     */
    DUPLICATE_HANDOFF("duplicateHandoff"),
    WRITE_FAILED("writeFailed"),
    /**
     * A close the kernel's data path passed for a local connection no longer in the table, or an
     * earlier one on the same ports (its cookie differs): ignored.
     */
    STALE_CLOSE("staleClose");

    final String metric;

    Drop(String metric) {
        this.metric = metric;
    }

    /** Its name in stats (JSON), metrics and the dashboard: defined here only. */
    public String metric() {
        return metric;
    }
}
