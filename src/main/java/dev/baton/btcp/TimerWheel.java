package dev.baton.btcp;

/**
 * A hashed timing wheel over the connection slots (Varghese and Lauck, 1987): each slot has at most
 * one deadline, kept in an intrusive doubly linked list per wheel bucket, so arming, re-arming and
 * cancelling are O(1) and allocate nothing. Deadlines further than one turn away stay in their
 * bucket until their turn comes.
 */
final class TimerWheel {
    static final long NONE = Long.MAX_VALUE;
    private static final int NIL = -1;

    private final long tickMillis;
    private final int[] heads;
    private final int bucketMask;
    private final int[] next;
    private final int[] prev;
    private final int[] bucketOf;
    private final long[] deadline;
    private long cursorTick;

    TimerWheel(int slots, int buckets, long tickMillis, long nowMillis) {
        if (Integer.bitCount(buckets) != 1) throw new IllegalArgumentException("buckets must be a power of 2");
        this.tickMillis = tickMillis;
        heads = new int[buckets];
        java.util.Arrays.fill(heads, NIL);
        bucketMask = buckets - 1;
        next = new int[slots];
        prev = new int[slots];
        bucketOf = new int[slots];
        deadline = new long[slots];
        java.util.Arrays.fill(bucketOf, NIL);
        java.util.Arrays.fill(deadline, NONE);
        cursorTick = nowMillis / tickMillis;
    }

    /** Arms (or re-arms) slot {@code s} to fire at {@code atMillis}. */
    void schedule(int s, long atMillis) {
        cancel(s);
        long tick = Math.max(atMillis / tickMillis, cursorTick);
        int b = (int) (tick & bucketMask);
        deadline[s] = atMillis;
        bucketOf[s] = b;
        prev[s] = NIL;
        next[s] = heads[b];
        if (heads[b] != NIL) prev[heads[b]] = s;
        heads[b] = s;
    }

    void cancel(int s) {
        int b = bucketOf[s];
        if (b == NIL) return;
        if (prev[s] != NIL) next[prev[s]] = next[s];
        else heads[b] = next[s];
        if (next[s] != NIL) prev[next[s]] = prev[s];
        bucketOf[s] = NIL;
        deadline[s] = NONE;
    }

    long deadline(int s) {
        return deadline[s];
    }

    /** Callback for expired slots. */
    interface Expiry {
        void expired(int slot, long nowMillis);
    }

    /** Fires every slot whose deadline is at or before {@code nowMillis}; returns how many fired. */
    int advance(long nowMillis, Expiry expiry) {
        long target = nowMillis / tickMillis;
        int fired = 0;
        // Never walk more than one turn: later ticks map onto the same buckets.
        long from = Math.max(cursorTick, target - bucketMask);
        for (long t = from; t <= target; t++) {
            int b = (int) (t & bucketMask);
            int s = heads[b];
            while (s != NIL) {
                int n = next[s];
                if (deadline[s] <= nowMillis) {
                    cancel(s);
                    expiry.expired(s, nowMillis);
                    fired++;
                }
                s = n;
            }
        }
        cursorTick = target;
        return fired;
    }
}
