package dev.baton.control;

/** What the control plane counts, over all its links; each name is its key in stats and metrics. */
public enum ControlCounter {
    /** Frames read and accepted, on every link. */
    FRAMES_IN("framesIn"),
    /** Frames written, on every link. */
    FRAMES_OUT("framesOut"),
    /** Messages not sent: the peer was down or its queue full. */
    SEND_DROPPED("sendDropped"),
    /** Links that went down and came up again. */
    RECONNECTS("reconnects"),
    /** Hellos refused: a name or address that is not the member's, or a wrong cluster. */
    HELLO_REJECTED("helloRejected"),
    /** Connections from an address that is no member's. */
    UNKNOWN_ADDRESS("unknownAddress"),
    /** Connections refused because too many handshakes were under way. */
    HANDSHAKE_BUSY("handshakeBusy"),
    /** Links closed because the peer went quiet past the peer timeout. */
    PEER_DEAD("peerDead"),
    /** Hellos on a link that had already said hello. */
    UNEXPECTED_HELLO("unexpectedHello"),
    /** Errors of the listening socket. */
    LISTENER_ERRORS("listenerErrors"),
    /** Handshakes whose authentication failed (no Auth, a wrong key, a replayed challenge). */
    AUTH_FAILED("authFailed"),
    /** Frames whose tag was wrong: forged, altered, replayed, reordered or after a dropped one. */
    BAD_MAC("badMac"),
    /** Frames that did not follow the protocol, by any reason ({@link FrameException.Reason} counts each). */
    MALFORMED("malformed");

    private final String key;

    ControlCounter(String key) {
        this.key = key;
    }

    /** Its name in stats and metrics. */
    public String key() {
        return key;
    }
}
