package dev.baton.btcp;

/**
 * Keys of the connection table. Every connection a node's BTCP tracks has the node's service
 * address on one side, so the client's address and port identify it: {@code key = ip << 16 | port}
 * (48 bits). A connection id sent over the control channel is the key and a 16-bit generation, so
 * either side finds the entry with one lookup and checks the generation to reject stale messages.
 */
final class ConnKeys {
    private ConnKeys() {}

    static long key(int clientAddress, int clientPort) {
        return (clientAddress & 0xffffffffL) << 16 | (clientPort & 0xffff);
    }

    static int address(long key) {
        return (int) (key >>> 16);
    }

    static int port(long key) {
        return (int) (key & 0xffff);
    }

    static long connId(long key, int generation) {
        return key << 16 | (generation & 0xffff);
    }

    static long keyOf(long connId) {
        return connId >>> 16;
    }
}
