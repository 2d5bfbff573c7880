package dev.baton.route;

import java.util.List;

/** What a routing policy may know about the cluster when it decides where a request is served. */
public interface ClusterView {
    /** This node's name. */
    String self();

    /** Nodes holding the path (see {@link ContentIndex#holders}). */
    List<String> holders(String path);

    /** True if the control channel to {@code node} is up (always true for {@link #self()}). */
    boolean isUp(String node);

    /** Active connections {@code node} last reported (this node's own count for {@link #self()}). */
    int load(String node);

    /**
     * True if {@code node} is draining (its operator asked it to finish what it has and take nothing
     * new): a policy sends it a connection only when no other node can serve the path.
     */
    default boolean isDraining(String node) {
        return false;
    }
}
