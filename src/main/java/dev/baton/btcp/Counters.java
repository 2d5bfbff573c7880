package dev.baton.btcp;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.Objects;
import java.util.function.ToLongFunction;

/**
 * Counters written by the packet loop only and read by anyone: plain increments on the hot path,
 * opaque reads elsewhere (a reader may see a slightly old value, never a torn one).
 */
public final class Counters {
    private static final VarHandle ARRAY = MethodHandles.arrayElementVarHandle(long[].class);
    private final long[] counters = new long[Counter.values().length];
    private final long[] drops = new long[Drop.values().length];
    /** Refusals this node received as entry node, by reason. */
    private final long[] refusals = new long[Refusal.values().length];

    void inc(Counter c) {
        ARRAY.setOpaque(counters, c.ordinal(), (long) ARRAY.getOpaque(counters, c.ordinal()) + 1);
    }

    void add(Counter c, long n) {
        ARRAY.setOpaque(counters, c.ordinal(), (long) ARRAY.getOpaque(counters, c.ordinal()) + n);
    }

    void drop(Drop d) {
        ARRAY.setOpaque(drops, d.ordinal(), (long) ARRAY.getOpaque(drops, d.ordinal()) + 1);
    }

    void refused(Refusal r) {
        ARRAY.setOpaque(refusals, r.ordinal(), (long) ARRAY.getOpaque(refusals, r.ordinal()) + 1);
    }

    public long get(Refusal r) {
        return (long) ARRAY.getOpaque(refusals, r.ordinal());
    }

    /** What the kernel's data path counted of the same things (it carries their packets too). */
    private volatile ToLongFunction<Counter> below = c -> 0;

    /** Adds to each counter what {@code source} says the kernel's data path counted for it (any thread). */
    public void alsoCountedBelow(ToLongFunction<Counter> source) {
        below = Objects.requireNonNull(source);
    }

    public long get(Counter c) {
        return (long) ARRAY.getOpaque(counters, c.ordinal()) + below.applyAsLong(c);
    }

    public long get(Drop d) {
        return (long) ARRAY.getOpaque(drops, d.ordinal());
    }
}
