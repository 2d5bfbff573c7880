package dev.baton.wire;

import java.lang.foreign.MemorySegment;

/**
 * The Internet checksum (RFC 1071) and its incremental update (RFC 1624).
 *
 * <p>RFC 1624 eqn. 3: when a 16-bit word changes from {@code m} to {@code m'}, the header checksum
 * {@code HC} becomes {@code HC' = ~(~HC + ~m + m')}. A 32-bit field is two such words. This is what
 * Linux's {@code csum_replace4} does; it is exact (it never produces the 0x0000/0xffff ambiguity of
 * RFC 1141's subtraction form) and costs a few additions instead of a pass over the packet.
 */
public final class Checksum {
    private Checksum() {}

    /** One's-complement sum of {@code len} bytes at {@code at}, added to {@code sum} (not folded). */
    public static long sum(MemorySegment s, long at, int len, long sum) {
        long i = at;
        long end = at + len;
        while (i + 4 <= end) {
            sum += Bytes.u32(s, i) & 0xffffffffL;
            i += 4;
        }
        if (i + 2 <= end) {
            sum += Bytes.u16(s, i);
            i += 2;
        }
        if (i < end) sum += Bytes.u8(s, i) << 8;
        return sum;
    }

    /** Folds a wide one's-complement sum into 16 bits (not complemented). */
    public static int fold(long sum) {
        sum = (sum & 0xffffffffL) + (sum >>> 32);
        sum = (sum & 0xffff) + (sum >>> 16);
        sum = (sum & 0xffff) + (sum >>> 16);
        sum = (sum & 0xffff) + (sum >>> 16);
        return (int) sum;
    }

    /** The checksum to store in a header: the complement of the folded sum. */
    public static int finish(long sum) {
        return ~fold(sum) & 0xffff;
    }

    /** RFC 1624 eqn. 3 for one 16-bit word: returns HC' given HC, m and m'. */
    public static int update16(int checksum, int oldWord, int newWord) {
        int sum = (~checksum & 0xffff) + (~oldWord & 0xffff) + (newWord & 0xffff);
        sum = (sum & 0xffff) + (sum >>> 16);
        sum = (sum & 0xffff) + (sum >>> 16);
        return ~sum & 0xffff;
    }

    /** RFC 1624 eqn. 3 for a 32-bit field (two 16-bit words), as Linux's {@code csum_replace4}. */
    public static int update32(int checksum, int oldValue, int newValue) {
        long sum = (~checksum & 0xffffL)
                + (~oldValue >>> 16 & 0xffffL)
                + (~oldValue & 0xffffL)
                + (newValue >>> 16 & 0xffffL)
                + (newValue & 0xffffL);
        return ~fold(sum) & 0xffff;
    }
}
