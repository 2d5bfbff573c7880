package dev.baton.wire;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/** Big-endian (network order) accessors over a {@link MemorySegment}; no bounds beyond the segment's own. */
public final class Bytes {
    static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);

    private Bytes() {}

    public static int u8(MemorySegment s, long at) {
        return s.get(ValueLayout.JAVA_BYTE, at) & 0xff;
    }

    public static void u8(MemorySegment s, long at, int v) {
        s.set(ValueLayout.JAVA_BYTE, at, (byte) v);
    }

    public static int u16(MemorySegment s, long at) {
        return s.get(U16, at) & 0xffff;
    }

    public static void u16(MemorySegment s, long at, int v) {
        s.set(U16, at, (short) v);
    }

    public static int u32(MemorySegment s, long at) {
        return s.get(U32, at);
    }

    public static void u32(MemorySegment s, long at, int v) {
        s.set(U32, at, v);
    }

    /** Dotted-quad form of an IPv4 address held in an int (for logs and the CLI, not the packet path). */
    public static String ipv4ToString(int a) {
        return (a >>> 24) + "." + ((a >>> 16) & 0xff) + "." + ((a >>> 8) & 0xff) + "." + (a & 0xff);
    }

    /** Parses a dotted-quad IPv4 address; throws IllegalArgumentException on anything else. */
    public static int parseIpv4(String s) {
        String[] parts = s.trim().split("\\.", -1);
        if (parts.length != 4) throw new IllegalArgumentException("not an IPv4 address: " + s);
        int a = 0;
        for (String p : parts) {
            if (p.isEmpty() || p.length() > 3 || !p.chars().allMatch(Character::isDigit)) {
                throw new IllegalArgumentException("not an IPv4 address: " + s);
            }
            int v = Integer.parseInt(p);
            if (v > 255) throw new IllegalArgumentException("not an IPv4 address: " + s);
            a = (a << 8) | v;
        }
        return a;
    }
}
