package dev.baton.btcp;

/**
 * The config's timers in the loop's milliseconds, converted once: the packet path adds them to its
 * clock and never touches a {@link java.time.Duration}.
 */
record TimerMillis(long request, long handoff, long syn, long idle, long linger, long timeWait, long peerGrace) {
    static TimerMillis of(Btcp.Config cfg) {
        Btcp.Timers t = cfg.timers();
        Btcp.Closing c = cfg.closing();
        return new TimerMillis(
                t.request().toMillis(),
                t.handoff().toMillis(),
                t.syn().toMillis(),
                t.idle().toMillis(),
                c.linger().toMillis(),
                c.timeWait().toMillis(),
                c.peerGrace().toMillis());
    }
}
