package dev.baton.btcp;

import java.util.HashMap;
import java.util.Map;

/**
 * What the control channel last told of each peer: up or not, and its incarnation (chosen anew at
 * each start of its process). Control path only: a few calls per handoff and per link event.
 */
final class PeerLinks {
    private final Map<String, Link> links = new HashMap<>();

    private static final class Link {
        boolean up;
        boolean known;
        long incarnation;
    }

    /** The peer's incarnation as last heard; 0 before its link was ever up. */
    long incarnation(String peer) {
        return link(peer).incarnation;
    }

    void down(String peer) {
        link(peer).up = false;
    }

    /** The link is up with {@code incarnation}; true if the peer restarted since it was last heard. */
    boolean up(String peer, long incarnation) {
        Link l = link(peer);
        boolean restarted = l.known && l.incarnation != incarnation;
        l.up = true;
        l.known = true;
        l.incarnation = incarnation;
        return restarted;
    }

    /** The link is up and the peer is the same process as at {@code incarnation}. */
    boolean alive(String peer, long incarnation) {
        Link l = links.get(peer);
        return l != null && l.up && l.incarnation == incarnation;
    }

    private Link link(String peer) {
        return links.computeIfAbsent(peer, k -> new Link());
    }
}
