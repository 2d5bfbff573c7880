package dev.baton.control;

/**
 * What a {@link ControlPlane} tells the node. Called on the link's reader thread (a virtual thread),
 * so a slow callback delays only that peer's frames; still, it must not block for long, since a link
 * whose reader stalls past the dead interval on the other side is closed as dead.
 *
 * <p>For each peer, {@code onPeerUp} and {@code onPeerDown} alternate, starting with up. A callback
 * that throws is counted ({@code listenerErrors}) and does not close the link.
 */
public interface ControlListener {
    /**
     * An authenticated link to {@code peer} is up; {@code hello} tells its incarnation (a new one
     * means it restarted; the same one, that a cut link came back).
     */
    void onPeerUp(String peer, ControlMessage.Hello hello);

    /** The link to {@code peer} is gone: every handoff in flight with it has failed. */
    void onPeerDown(String peer);

    /** A frame from {@code peer}, heartbeats included, in the order the peer sent them. */
    void onMessage(String peer, ControlMessage m);
}
