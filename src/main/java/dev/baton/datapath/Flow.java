package dev.baton.datapath;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * How the data path translates one flow's packets ({@code struct flow}, 28 bytes), written by user
 * space only; what the programs see of it is its {@link Progress}.
 *
 * @param action what its packets get
 * @param timestamps whether TSval/TSecr are translated (the connection negotiated timestamps)
 * @param windowScaleFrom TO_CLIENT: the chosen kernel's window scale ...
 * @param windowScaleTo ... and the entry's, which the client knows (equal: no rescaling)
 * @param address the new address: the chosen node's (TO_CHOSEN), the entry's shadow (FROM_ENTRY),
 *     the entry's (TO_CLIENT); unused for LOCAL and HOLD
 * @param port the new port: the forward port (TO_CHOSEN), the service port (FROM_ENTRY)
 * @param seqDelta ISN(chosen) - ISN(entry)
 * @param tsDelta TSval(chosen SYN/ACK) - TSval(entry SYN/ACK)
 * @param consumedIn how many of the packets from the network the programs sent up user space has
 *     read ({@link Progress#slowIn}): until it has read them all, they keep going up
 * @param consumedOut the same for packets from the kernel ({@link Progress#slowOut})
 * @param cookie LOCAL: user space's 16-bit name for the connection, which the programs echo in its
 *     close events (so that an event of an earlier connection on the same ports is told apart)
 * @param lingers TO_CHOSEN: the connection is over and the entry lingers; a SYN with another ISN on
 *     its ports is a new connection, whose handshake the programs take after dropping this flow
 */
public record Flow(
        FlowAction action,
        boolean timestamps,
        int windowScaleFrom,
        int windowScaleTo,
        int address,
        int port,
        int seqDelta,
        int tsDelta,
        int consumedIn,
        int consumedOut,
        int cookie,
        boolean lingers) {
    public static final int SIZE = 28;
    private static final int F_TIMESTAMPS = 0x01;
    private static final int F_LINGER = 0x02;

    public Flow {
        if (windowScaleFrom < 0 || windowScaleFrom > 14 || windowScaleTo < 0 || windowScaleTo > 14) {
            throw new IllegalArgumentException(
                    "window scales are 0-14 (RFC 7323 section 2.3): " + windowScaleFrom + ", " + windowScaleTo);
        }
        if ((port & ~0xffff) != 0) throw new IllegalArgumentException("ports are 16 bits: " + port);
        if ((cookie & ~0xffff) != 0) throw new IllegalArgumentException("cookies are 16 bits: " + cookie);
    }

    /** A flow with no cookie (every action but LOCAL). */
    public Flow(
            FlowAction action,
            boolean timestamps,
            int windowScaleFrom,
            int windowScaleTo,
            int address,
            int port,
            int seqDelta,
            int tsDelta,
            int consumedIn,
            int consumedOut) {
        this(
                action,
                timestamps,
                windowScaleFrom,
                windowScaleTo,
                address,
                port,
                seqDelta,
                tsDelta,
                consumedIn,
                consumedOut,
                0,
                false);
    }

    /** A flow the engine holds: everything to user space, counted. */
    public static Flow hold() {
        return new Flow(FlowAction.HOLD, false, 0, 0, 0, 0, 0, 0, 0, 0);
    }

    /**
     * A flow served here, once user space has read {@code consumedIn} and {@code consumedOut} of its
     * packets; its close events carry {@code cookie}.
     */
    public static Flow local(int consumedIn, int consumedOut, int cookie) {
        return new Flow(FlowAction.LOCAL, false, 0, 0, 0, 0, 0, 0, consumedIn, consumedOut, cookie, false);
    }

    /** The same flow, user space having read these many of its packets. */
    public Flow withConsumed(int in, int out) {
        return new Flow(
                action,
                timestamps,
                windowScaleFrom,
                windowScaleTo,
                address,
                port,
                seqDelta,
                tsDelta,
                in,
                out,
                cookie,
                lingers);
    }

    /** The same flow of a connection that is over, lingering ({@link #lingers}). */
    public Flow lingering() {
        return new Flow(
                action,
                timestamps,
                windowScaleFrom,
                windowScaleTo,
                address,
                port,
                seqDelta,
                tsDelta,
                consumedIn,
                consumedOut,
                cookie,
                true);
    }

    public void write(MemorySegment s) {
        s.set(ValueLayout.JAVA_BYTE, 0, (byte) action.code());
        s.set(ValueLayout.JAVA_BYTE, 1, (byte) ((timestamps ? F_TIMESTAMPS : 0) | (lingers ? F_LINGER : 0)));
        s.set(ValueLayout.JAVA_BYTE, 2, (byte) windowScaleFrom);
        s.set(ValueLayout.JAVA_BYTE, 3, (byte) windowScaleTo);
        s.set(FlowKey.BE32, 4, address);
        s.set(FlowKey.BE16, 8, (short) port);
        s.set(ValueLayout.JAVA_SHORT_UNALIGNED, 10, (short) cookie);
        s.set(ValueLayout.JAVA_INT_UNALIGNED, 12, seqDelta);
        s.set(ValueLayout.JAVA_INT_UNALIGNED, 16, tsDelta);
        s.set(ValueLayout.JAVA_INT_UNALIGNED, 20, consumedIn);
        s.set(ValueLayout.JAVA_INT_UNALIGNED, 24, consumedOut);
    }

    public static Flow read(MemorySegment s) {
        return new Flow(
                FlowAction.of(s.get(ValueLayout.JAVA_BYTE, 0)),
                (s.get(ValueLayout.JAVA_BYTE, 1) & F_TIMESTAMPS) != 0,
                s.get(ValueLayout.JAVA_BYTE, 2),
                s.get(ValueLayout.JAVA_BYTE, 3),
                s.get(FlowKey.BE32, 4),
                Short.toUnsignedInt(s.get(FlowKey.BE16, 8)),
                s.get(ValueLayout.JAVA_INT_UNALIGNED, 12),
                s.get(ValueLayout.JAVA_INT_UNALIGNED, 16),
                s.get(ValueLayout.JAVA_INT_UNALIGNED, 20),
                s.get(ValueLayout.JAVA_INT_UNALIGNED, 24),
                Short.toUnsignedInt(s.get(ValueLayout.JAVA_SHORT_UNALIGNED, 10)),
                (s.get(ValueLayout.JAVA_BYTE, 1) & F_LINGER) != 0);
    }
}
