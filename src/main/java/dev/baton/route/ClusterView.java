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
}
