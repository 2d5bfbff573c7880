package dev.baton.btcp;

/** What the BTCP counts (the testbed's stats command shows these). */
public enum Counter {
    /** New client connections (SYNs) to the service port seen at this node as entry. */
    CONNECTIONS_SEEN("connectionsSeen"),
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
    /** Requests served locally because they could not be parsed, were too large or too slow. */
    UNPARSED_LOCAL("unparsedServedLocally"),
    /** Client packets forwarded to a chosen node. */
    PACKETS_FORWARDED("packetsForwarded"),
    /** Packets of handed-in connections sent directly to the client with the entry's address. */
    PACKETS_SENT_FOR_OTHERS("packetsSentForOthers"),
    /** Payload bytes of those packets. */
    BYTES_SENT_FOR_OTHERS("bytesSentForOthers"),
    /** Connections closed and reported by a termination message. */
    TERMINATIONS("terminations"),
    /** Packets that were not ours (other ports, protocols) passed through untouched. */
    PASSED_THROUGH("passedThrough");

    final String metric;

    Counter(String metric) {
        this.metric = metric;
    }

    public String metric() {
        return metric;
    }
}
