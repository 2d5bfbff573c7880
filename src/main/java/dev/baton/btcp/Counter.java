package dev.baton.btcp;

/** What the BTCP counts: {@code node.NodeStats} carries them, keyed by this enum. */
public enum Counter {
    /** New client connections (SYNs) to the service port seen at this node as entry. */
    CONNECTIONS_SEEN("connectionsSeen"),
    /**
     * Half-open entries (SYN passed up, no handshake ACK yet) forgotten to make room for a new SYN
     * because half the table was half-open (a SYN flood); such a connection, if real, is served
     * locally, untracked.
     */
    HALF_OPEN_EVICTED("halfOpenEvicted"),
    /** Connections whose request was released to this node's own kernel. */
    SERVED_LOCALLY("servedLocally"),
    /** Handoff requests this node sent as entry. */
    HANDOFFS_SENT("handoffsSent"),
    /** Handoffs that completed (ack received) at this node as entry. */
    HANDOFFS_COMPLETED("handoffsCompleted"),
    /** Handoffs this node accepted as the chosen node. */
    HANDOFFS_ACCEPTED("handoffsAccepted"),
    /** Handoff requests this node refused as the chosen node. */
    HANDOFFS_REFUSED("handoffsRefused"),
    /** Handoffs that fell back to local service (refused, timed out, peer lost). */
    FALLBACKS("fallbacks"),
    /**
     * Eagerly committed handoffs that got no answer within three handoff timeouts, or whose peer's
     * link went down first: the chosen node might be serving, so the client was reset instead.
     */
    HANDOFFS_ABANDONED("handoffsAbandoned"),
    /** Requests served locally because their head could not be parsed or was too large. */
    REQUEST_INVALID("requestInvalid"),
    /** Requests served locally because their head was not complete within the request timeout. */
    REQUEST_TIMEOUT("requestTimeout"),
    /** Requests served locally because the client closed, or sent more than we hold, before the head ended. */
    REQUEST_UNFINISHED("requestUnfinished"),
    /** Handoffs this node, as entry, saw refused, by any reason (see the refusal counters). */
    REFUSALS_RECEIVED("refusalsReceived"),
    /** ACKs this node sent the client for request bytes it holds (clients writing in small pieces). */
    HELD_BYTES_ACKED("heldBytesAcked"),
    /** Client packets forwarded to a chosen node. */
    PACKETS_FORWARDED("packetsForwarded"),
    /**
     * Bytes of those packets, headers included: all an entry carries of a handed-off connection (its
     * response goes from the chosen node straight to the client).
     */
    BYTES_FORWARDED("bytesForwarded"),
    /** Packets of handed-in connections sent directly to the client with the entry's address. */
    PACKETS_SENT_FOR_OTHERS("packetsSentForOthers"),
    /** Payload bytes of those packets. */
    BYTES_SENT_FOR_OTHERS("bytesSentForOthers"),
    /** Connections closed and reported by a termination message. */
    TERMINATIONS("terminations"),
    /** Packets that were not ours (other ports, protocols) passed through untouched. */
    PASSED_THROUGH("passedThrough"),
    /** Connections whose peer's control link went down and that were kept: the peer came back. */
    ORPHANS_KEPT("orphansKept"),
    /** Connections reset because the peer that shared them died, restarted or stayed unreachable. */
    ORPHANS_RESET("orphansReset"),
    /** RSTs this node sent to clients (orphaned connections, and their retransmissions after). */
    CLIENT_RESETS_SENT("clientResetsSent"),
    /** Handed-off connections the entry freed without a termination message: the client closed, then went quiet. */
    CLOSED_WITHOUT_TERMINATION("closedWithoutTermination"),
    /** Connections whose flows the kernel's data path could not take (its table full): served through us. */
    FAST_PATH_FULL("fastPathFull"),
    /** Connections whose plain segments the kernel's data path carried for a while. */
    FAST_PATH_FLOWS("fastPathFlows"),
    /** Connections a restarted node took over from its earlier process (local, handed off, handed in). */
    TAKEN_OVER("connectionsTakenOver"),
    /** Handoffs in flight when the earlier process ended: their clients were reset at the takeover. */
    TAKEOVER_RESETS("takeoverResets");

    final String metric;

    Counter(String metric) {
        this.metric = metric;
    }

    /** Its name in stats (JSON), metrics and the dashboard: defined here only. */
    public String metric() {
        return metric;
    }
}
