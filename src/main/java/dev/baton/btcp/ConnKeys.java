package dev.baton.btcp;

/**
 * Keys of the connection table and connection ids.
 *
 * <p>Every connection a node's BTCP tracks has one of the node's own addresses on the server side:
 * its service address (connections clients opened to it), or the shadow address of the entry node
 * that handed the connection in. So the client's address and port plus a one-byte "local" index (0
 * for the service address, the entry node's member index for a shadow) identify it:
 * {@code key = ip << 24 | port << 8 | local} (56 bits). Shadow addresses keep a handed-in connection
 * apart from one the same client opened to this node from the same port: the kernel sees two
 * different 4-tuples, as the client does.
 *
 * <p>A connection id, sent over the control channel, is the client's address and port and a 16-bit
 * generation: each side finds its entry with one lookup and checks the generation to reject stale
 * messages.
 */
final class ConnKeys {
    /** The local index of connections to the node's own service address. */
    static final int SERVICE = 0;

    private ConnKeys() {}

    static long key(int clientAddress, int clientPort, int local) {
        return (clientAddress & 0xffffffffL) << 24 | (long) (clientPort & 0xffff) << 8 | (local & 0xff);
    }

    static int address(long key) {
        return (int) (key >>> 24);
    }

    static int port(long key) {
        return (int) (key >>> 8) & 0xffff;
    }

    static int local(long key) {
        return (int) key & 0xff;
    }

    static long connId(long key, int generation) {
        return (long) address(key) << 32 | (long) port(key) << 16 | (generation & 0xffff);
    }

    /** The table key, at a node whose local index for this connection is {@code local}. */
    static long keyOf(long connId, int local) {
        return key((int) (connId >>> 32), (int) (connId >>> 16) & 0xffff, local);
    }
}
