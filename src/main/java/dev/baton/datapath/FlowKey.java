package dev.baton.datapath;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * A flow as a packet names it at this node ({@code struct flow_key}, 12 bytes, addresses and ports
 * in network byte order): the remote end (the client) and the local end (this node's address and the
 * service or a forward port; at the chosen node's egress, the entry's shadow address and the service
 * port). Addresses are IPv4 addresses as ints, ports 0-65535.
 */
public record FlowKey(int remoteAddress, int localAddress, int remotePort, int localPort) {
    public static final int SIZE = 12;
    static final ValueLayout.OfInt BE32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    static final ValueLayout.OfShort BE16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);

    public FlowKey {
        if ((remotePort & ~0xffff) != 0 || (localPort & ~0xffff) != 0) {
            throw new IllegalArgumentException("ports are 16 bits: " + remotePort + ", " + localPort);
        }
    }

    /** Writes the key at the start of {@code s}. */
    public void write(MemorySegment s) {
        write(s, remoteAddress, localAddress, remotePort, localPort);
    }

    /** Writes a key without making one (the packet loop's path). */
    public static void write(MemorySegment s, int remoteAddress, int localAddress, int remotePort, int localPort) {
        s.set(BE32, 0, remoteAddress);
        s.set(BE32, 4, localAddress);
        s.set(BE16, 8, (short) remotePort);
        s.set(BE16, 10, (short) localPort);
    }

    public static FlowKey read(MemorySegment s) {
        return new FlowKey(
                s.get(BE32, 0),
                s.get(BE32, 4),
                Short.toUnsignedInt(s.get(BE16, 8)),
                Short.toUnsignedInt(s.get(BE16, 10)));
    }
}
