package dev.baton.btcp;

/**
 * What the kernel's data path ({@link FastPath}) knows of a connection ({@link Conn#offloaded}):
 * nothing, its flows held (every packet comes up to the engine, counted), or handed down with one
 * of the three translations.
 */
enum Offload {
    NONE("none"),
    /** An entry's flow, held. */
    HELD("held"),
    /** A handed-in connection's two flows, held. */
    HELD_HANDED_IN("held"),
    /** Served here (claim 8). */
    LOCAL("local"),
    /** Handed off from here: the client's packets go to the chosen node (claims 7, 17). */
    TO_CHOSEN("toChosen"),
    /**
     * Handed off from here and over ({@code LINGER}): as {@link #TO_CHOSEN}, and the kernel takes a new
     * connection's SYN on its ports itself, dropping the flow.
     */
    LINGERING("lingering"),
    /**
     * Being handed in, its request waiting to be injected (ChosenRole#injectLater): our kernel's
     * packets leave as the entry's, the client's still come up, counted, so that none reaches our
     * kernel ahead of the request.
     */
    HANDED_IN_TO_CLIENT("handedInToClient"),
    /** Handed in: the client's packets come in, our kernel's leave as the entry's (claims 9, 18). */
    HANDED_IN("handedIn"),
    /** The kernel could not take the connection's flows (its table was full): it stays with us. */
    REFUSED("refused");

    /** As {@code baton admin connections} shows it. */
    final String viewName;

    Offload(String viewName) {
        this.viewName = viewName;
    }

    /** The entry's one flow ({@code client → service port}), not a handed-in connection's two. */
    boolean entrySide() {
        return this == HELD || this == LOCAL || this == TO_CHOSEN || this == LINGERING;
    }

    /** The kernel carries its plain segments. */
    boolean handedDown() {
        return this == LOCAL || this == TO_CHOSEN || this == LINGERING || this == HANDED_IN;
    }

    /** The kernel counts what it sends up of it. */
    boolean counted() {
        return this != NONE && this != REFUSED;
    }
}
