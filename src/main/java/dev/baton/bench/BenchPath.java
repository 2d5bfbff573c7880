package dev.baton.bench;

import java.util.Locale;

/** The ways from the client to the node holding the file that the bench compares. */
public enum BenchPath {
    /** (a) The client talks to the holder's direct address: kernel only, no BTCP. */
    DIRECT("a", "direct"),
    /** (b) The client enters baton at the holder: nothing is handed off. */
    LOCAL("b", "baton, local"),
    /** (c) The client enters baton at each of the four nodes alike: three in four handed off. */
    HANDOFF("c", "baton, handoff"),
    /** (d) HAProxy on n1's direct address, routing by path to the holder's direct address. */
    HAPROXY("d", "HAProxy on n1"),
    /** (e) nginx as a reverse proxy on n1, likewise. */
    NGINX("e", "nginx proxy on n1");

    private final String letter;
    private final String label;

    BenchPath(String letter, String label) {
        this.letter = letter;
        this.label = label;
    }

    /** {@code (c) baton, handoff}. */
    public String label() {
        return "(" + letter + ") " + label;
    }

    /** {@code handoff}: the key in JSON. */
    public String key() {
        return name().toLowerCase(Locale.ROOT);
    }
}
