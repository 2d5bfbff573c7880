package dev.baton.log;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.turbo.TurboFilter;
import ch.qos.logback.core.spi.FilterReply;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Marker;

/**
 * Lets at most {@link #setBurst burst} warnings (and errors) of one kind through per
 * {@link #setWindowMillis window}, one kind being one logger and message pattern: a peer that
 * misbehaves in a loop, or a bug hit on every packet, cannot flood the log. The first one let
 * through after a window of silence says how many were held back. Bounded: at most
 * {@link #MAX_KINDS} kinds are tracked; beyond that, warnings pass unlimited rather than be lost.
 */
public final class RateLimit extends TurboFilter {
    static final int MAX_KINDS = 1024;
    private final ConcurrentHashMap<String, Window> windows = new ConcurrentHashMap<>();
    private int burst = 5;
    private long windowMillis = 10_000;

    /** One kind's current window. */
    private static final class Window {
        long start;
        int passed;
        long heldBack;
    }

    public void setBurst(int burst) {
        this.burst = burst;
    }

    public void setWindowMillis(long windowMillis) {
        this.windowMillis = windowMillis;
    }

    @Override
    public FilterReply decide(Marker marker, Logger logger, Level level, String format, Object[] params, Throwable t) {
        if (level == null || !level.isGreaterOrEqual(Level.WARN) || format == null) return FilterReply.NEUTRAL;
        String kind = logger.getName() + '|' + format;
        Window w = windows.get(kind);
        if (w == null) {
            if (windows.size() >= MAX_KINDS) return FilterReply.NEUTRAL;
            w = windows.computeIfAbsent(kind, k -> new Window());
        }
        long now = System.currentTimeMillis();
        long held;
        synchronized (w) {
            if (now - w.start >= windowMillis) {
                w.start = now;
                w.passed = 0;
            }
            if (w.passed >= burst) {
                w.heldBack++;
                return FilterReply.DENY;
            }
            w.passed++;
            held = w.heldBack;
            w.heldBack = 0;
        }
        if (held > 0) {
            // Logged through the logger itself with no parameters: another kind, never held back by this one.
            logger.warn("{} more like the next were held back (at most {} per {} ms)", held, burst, windowMillis);
        }
        return FilterReply.NEUTRAL;
    }
}
