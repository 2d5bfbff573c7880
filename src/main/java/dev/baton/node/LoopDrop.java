package dev.baton.node;

/**
 * What the node's packet loop drops or fails at, around the engine (whose own reasons are
 * {@code btcp.Drop}); each name is its key in stats and metrics, beside the engine's.
 */
public enum LoopDrop {
    /** Work another thread queued for the loop (an admin command) when its inbox was full. */
    INBOX_FULL("inboxFull"),
    /** Packets a TUN did not take. */
    TUN_WRITE_FAILED("tunWriteFailed"),
    /** Frames read from a TUN that were no packet (a virtio header that does not fit). */
    BAD_TUN_FRAME("badTunFrame"),
    /** Packets or events whose handling threw: logged (rate-limited), counted, and the loop goes on. */
    INTERNAL_ERROR("internalError"),
    /** Routing decisions whose policy threw: the connection was served here. */
    POLICY_ERROR("policyError");

    private final String key;

    LoopDrop(String key) {
        this.key = key;
    }

    /** Its name in stats and metrics. */
    public String key() {
        return key;
    }
}
