package dev.baton.datapath;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * What the programs saw of one flow ({@code struct progress}, 32 bytes), written by them only.
 *
 * @param slowIn packets from the network they sent to user space while the flow was in the map
 * @param slowOut packets from the kernel they sent to user space while it was
 * @param ack the highest acknowledgment number they saw, before translation
 * @param next the highest sequence number + payload they saw, before translation
 * @param lastNanos {@code bpf_ktime_get_ns()} (CLOCK_MONOTONIC) at the last packet they carried
 * @param isn the client's initial sequence number, for a connection to the service: the SYN that
 *     started this progress (another starts it afresh)
 */
public record Progress(int slowIn, int slowOut, int ack, int next, long lastNanos, int isn) {
    public static final int SIZE = 32;

    public static Progress read(MemorySegment s) {
        return new Progress(
                s.get(ValueLayout.JAVA_INT_UNALIGNED, 0),
                s.get(ValueLayout.JAVA_INT_UNALIGNED, 4),
                s.get(ValueLayout.JAVA_INT_UNALIGNED, 8),
                s.get(ValueLayout.JAVA_INT_UNALIGNED, 12),
                s.get(ValueLayout.JAVA_LONG_UNALIGNED, 16),
                s.get(ValueLayout.JAVA_INT_UNALIGNED, 24));
    }

    /** For tests: a progress as the programs would have left it. */
    public void write(MemorySegment s) {
        s.set(ValueLayout.JAVA_INT_UNALIGNED, 0, slowIn);
        s.set(ValueLayout.JAVA_INT_UNALIGNED, 4, slowOut);
        s.set(ValueLayout.JAVA_INT_UNALIGNED, 8, ack);
        s.set(ValueLayout.JAVA_INT_UNALIGNED, 12, next);
        s.set(ValueLayout.JAVA_LONG_UNALIGNED, 16, lastNanos);
        s.set(ValueLayout.JAVA_INT_UNALIGNED, 24, isn);
        s.set(ValueLayout.JAVA_INT_UNALIGNED, 28, 0);
    }
}
