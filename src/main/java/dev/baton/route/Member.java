package dev.baton.route;

import dev.baton.wire.Bytes;

/** A node of the cluster: its name and its IPv4 address (the address clients reach it at). */
public record Member(String name, int address) {
    public Member {
        if (name == null || name.isBlank()) throw new IllegalArgumentException("member name is empty");
    }

    @Override
    public String toString() {
        return name + "@" + Bytes.ipv4ToString(address);
    }
}
