package dev.baton.btcp;

import java.util.Arrays;

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
    private int armed;

    TimerWheel(int slots, int buckets, long tickMillis, long nowMillis) {
        if (Integer.bitCount(buckets) != 1) throw new IllegalArgumentException("buckets must be a power of 2");
        this.tickMillis = tickMillis;
        heads = new int[buckets];
        Arrays.fill(heads, NIL);
        bucketMask = buckets - 1;
        next = new int[slots];
        prev = new int[slots];
        bucketOf = new int[slots];
        deadline = new long[slots];
        Arrays.fill(bucketOf, NIL);
        Arrays.fill(deadline, NONE);
        cursorTick = nowMillis / tickMillis;
    }

    /** Arms (or re-arms) slot {@code s} to fire at {@code atMillis}. */
    void schedule(int s, long atMillis) {
        cancel(s);
        armed++;
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
        armed--;
    }

    long deadline(int s) {
        return deadline[s];
    }

    /**
     * A time at or before the earliest deadline armed ({@link #NONE} if none is), for a caller that
     * sleeps until then: the earliest deadline of the first bucket ahead that holds any, or the
     * start of that bucket's next tick if its deadlines are all of later turns (then it is woken
     * early, never late). The earliest itself when all deadlines lie within one turn. Walks at
     * most one turn's buckets.
     */
    long earliestBound() {
        if (armed == 0) return NONE;
        for (long t = cursorTick; t <= cursorTick + bucketMask; t++) {
            int s = heads[(int) (t & bucketMask)];
            if (s == NIL) continue;
            long earliest = NONE;
            for (; s != NIL; s = next[s]) earliest = Math.min(earliest, deadline[s]);
            // Every bucket before this one is empty, and a later one holds only later ticks; this
            // one may hold deadlines of later turns only: then its next tick is still a bound.
            return Math.min(earliest, (t + 1) * tickMillis);
        }
        return NONE; // not reached: armed > 0 means some bucket holds a deadline
    }

    /** Callback for expired slots; it may arm or cancel any slot, the expired one included. */
    interface Expiry {
        void expired(int slot, long nowMillis);
    }

    /** Fires every slot whose deadline is at or before {@code nowMillis}; returns how many fired. */
    int advance(long nowMillis, Expiry expiry) {
        long target = nowMillis / tickMillis;
        int fired = 0;
        // Never walk more than one turn: later ticks map onto the same buckets.
        long from = Math.max(cursorTick, target - bucketMask);
        // Move the cursor first: a deadline already past that a callback arms lands in target's
        // bucket (walked last, and first by the next advance), not in one this walk has passed.
        cursorTick = target;
        for (long t = from; t <= target; t++) {
            int b = (int) (t & bucketMask);
            int s = heads[b];
            while (s != NIL) {
                int n = next[s];
                if (deadline[s] <= nowMillis) {
                    cancel(s);
                    expiry.expired(s, nowMillis);
                    fired++;
                    // The callback may have moved the slot we were about to visit to another bucket,
                    // leaving its links there: start this bucket over rather than skip its rest.
                    if (n != NIL && bucketOf[n] != b) n = heads[b];
                }
                s = n;
            }
        }
        return fired;
    }
}
