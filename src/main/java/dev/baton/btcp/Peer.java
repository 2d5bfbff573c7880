package dev.baton.btcp;

import dev.baton.wire.Bytes;

/**
 * Another member of the cluster, as the engine needs it: its name on the control channel, its
 * service address, and its index, which numbers its shadow address ({@link Btcp.Shadows#address})
 * and the connection ids it hands in. The engine defines it so that it imports neither the router's
 * nor the control channel's types; the node maps theirs to it.
 */
public record Peer(String name, int address, int index) {
    public Peer {
        if (name == null || name.isBlank()) throw new IllegalArgumentException("peer name is empty");
        if (index < 0 || index > 254) throw new IllegalArgumentException("peer index out of 0..254: " + index);
    }

    @Override
    public String toString() {
        return name + "@" + Bytes.ipv4ToString(address);
    }
}
