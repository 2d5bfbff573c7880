package dev.baton.wire;

/**
 * TCP sequence number arithmetic modulo 2^32 (RFC 9293 §3.4), named as Linux's {@code before()} and
 * {@code after()} in include/net/tcp.h.
 */
public final class Seq {
    private Seq() {}

    /** True if {@code a} comes strictly before {@code b} in sequence space. */
    public static boolean before(int a, int b) {
        return a - b < 0;
    }

    /** True if {@code a} comes strictly after {@code b} in sequence space. */
    public static boolean after(int a, int b) {
        return b - a < 0;
    }

    /** True if {@code lo <= a <= hi} in sequence space. */
    public static boolean between(int a, int lo, int hi) {
        return Integer.compareUnsigned(hi - lo, a - lo) >= 0;
    }
}
