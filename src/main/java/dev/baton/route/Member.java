package dev.baton.route;

import dev.baton.wire.Bytes;

/**
 * A node of the cluster: its name, its IPv4 address (the address clients reach it at), and its index
 * (1-based position in the cluster's members sorted by name; 0 when not known), which names the
 * node's shadow address on the other nodes.
 */
public record Member(String name, int address, int index) {
    public Member {
        if (name == null || name.isBlank()) throw new IllegalArgumentException("member name is empty");
        if (index < 0 || index > 254) throw new IllegalArgumentException("member index out of 0..254: " + index);
    }

    public Member(String name, int address) {
        this(name, address, 0);
    }

    @Override
    public String toString() {
        return name + "@" + Bytes.ipv4ToString(address);
    }
}
