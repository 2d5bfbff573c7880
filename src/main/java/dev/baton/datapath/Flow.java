package dev.baton.datapath;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * What the data path knows of one flow ({@code struct flow}, 40 bytes): how to translate its packets,
 * written by user space, and what the programs saw of it, written by them.
 *
 * @param action what its packets get
 * @param timestamps whether TSval/TSecr are translated (the connection negotiated timestamps)
 * @param windowScaleFrom TO_CLIENT: the chosen kernel's window scale ...
 * @param windowScaleTo ... and the entry's, which the client knows (equal: no rescaling)
 * @param address the new address: the chosen node's (TO_CHOSEN), the entry's shadow (FROM_ENTRY),
 *     the entry's (TO_CLIENT); unused for LOCAL
 * @param port the new port: the forward port (TO_CHOSEN), the service port (FROM_ENTRY)
 * @param seqDelta ISN(chosen) - ISN(entry)
 * @param tsDelta TSval(chosen SYN/ACK) - TSval(entry SYN/ACK)
 * @param ack the highest acknowledgment number the programs saw, before translation
 * @param next the highest sequence number + payload they saw, before translation
 * @param lastNanos {@code bpf_ktime_get_ns()} (CLOCK_MONOTONIC) at the last packet they saw
 */
public record Flow(FlowAction action, boolean timestamps, int windowScaleFrom, int windowScaleTo, int address, int port,
        int seqDelta, int tsDelta, int ack, int next, long lastNanos) {
    public static final int SIZE = 40;
    private static final int F_TIMESTAMPS = 0x01;

    public Flow {
        if (windowScaleFrom < 0 || windowScaleFrom > 14 || windowScaleTo < 0 || windowScaleTo > 14) {
            throw new IllegalArgumentException("window scales are 0-14 (RFC 7323 section 2.3): " + windowScaleFrom
                    + ", " + windowScaleTo);
        }
        if ((port & ~0xffff) != 0) throw new IllegalArgumentException("ports are 16 bits: " + port);
    }

    public static Flow local() {
        return new Flow(FlowAction.LOCAL, false, 0, 0, 0, 0, 0, 0, 0, 0, 0);
    }

    /** The flow with what the programs track set to where user space knows it stands. */
    public Flow withProgress(int ack, int next) {
        return new Flow(action, timestamps, windowScaleFrom, windowScaleTo, address, port, seqDelta, tsDelta, ack, next,
                lastNanos);
    }

    public void write(MemorySegment s) {
        s.set(ValueLayout.JAVA_BYTE, 0, (byte) action.code());
        s.set(ValueLayout.JAVA_BYTE, 1, (byte) (timestamps ? F_TIMESTAMPS : 0));
        s.set(ValueLayout.JAVA_BYTE, 2, (byte) windowScaleFrom);
        s.set(ValueLayout.JAVA_BYTE, 3, (byte) windowScaleTo);
        s.set(FlowKey.BE32, 4, address);
        s.set(FlowKey.BE16, 8, (short) port);
        s.set(ValueLayout.JAVA_SHORT_UNALIGNED, 10, (short) 0);
        s.set(ValueLayout.JAVA_INT_UNALIGNED, 12, seqDelta);
        s.set(ValueLayout.JAVA_INT_UNALIGNED, 16, tsDelta);
        s.set(ValueLayout.JAVA_INT_UNALIGNED, 20, ack);
        s.set(ValueLayout.JAVA_INT_UNALIGNED, 24, next);
        s.set(ValueLayout.JAVA_INT_UNALIGNED, 28, 0);
        s.set(ValueLayout.JAVA_LONG_UNALIGNED, 32, lastNanos);
    }

    public static Flow read(MemorySegment s) {
        return new Flow(FlowAction.of(s.get(ValueLayout.JAVA_BYTE, 0)),
                (s.get(ValueLayout.JAVA_BYTE, 1) & F_TIMESTAMPS) != 0,
                s.get(ValueLayout.JAVA_BYTE, 2), s.get(ValueLayout.JAVA_BYTE, 3),
                s.get(FlowKey.BE32, 4), Short.toUnsignedInt(s.get(FlowKey.BE16, 8)),
                s.get(ValueLayout.JAVA_INT_UNALIGNED, 12), s.get(ValueLayout.JAVA_INT_UNALIGNED, 16),
                s.get(ValueLayout.JAVA_INT_UNALIGNED, 20), s.get(ValueLayout.JAVA_INT_UNALIGNED, 24),
                s.get(ValueLayout.JAVA_LONG_UNALIGNED, 32));
    }
}
