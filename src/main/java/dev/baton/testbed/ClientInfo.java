package dev.baton.testbed;

/**
 * The client side of the testbed.
 *
 * @param netns {@code baton-client}
 * @param ip {@code 10.200.0.2}
 */
public record ClientInfo(String netns, String ip) {
    /** The one client of the testbed. */
    public static ClientInfo standard() {
        return new ClientInfo(Names.CLIENT_NETNS, Names.CLIENT_IP);
    }
}
