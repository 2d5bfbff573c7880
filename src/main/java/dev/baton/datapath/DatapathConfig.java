package dev.baton.datapath;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The programs' settings ({@code struct datapath_config}, 36 bytes).
 *
 * @param localAddress this node's (service) address
 * @param shadowNetwork the shadow addresses' /24 (169.254.77.0): a packet from one is a handed-in
 *     connection's, or must not leave
 * @param servicePort the web service's port
 * @param forwardBase forward ports are {@code forwardBase + 1 .. forwardBase + forwardCount}
 * @param forwardCount how many
 * @param uplinkIfindex the network side
 * @param wireIfindex the slow path's TUN for packets from the network
 * @param kernelIfindex the slow path's TUN for packets from the kernel
 * @param mark the mark of what user space sends out (never 0)
 * @param allSlow every TCP packet of this node through user space (the fault module must see them all)
 * @param localDecision new connections' handshakes pass in the kernel, and a request for a path in
 *     the local paths map is served here without user space ({@code CONFIG_F_LOCAL_DECISION})
 */
public record DatapathConfig(
        int localAddress,
        int shadowNetwork,
        int servicePort,
        int forwardBase,
        int forwardCount,
        int uplinkIfindex,
        int wireIfindex,
        int kernelIfindex,
        int mark,
        boolean allSlow,
        boolean localDecision) {
    public static final int SIZE = 36;
    /** The mark baton's own packets to the network carry (0xba70: "baton"). */
    public static final int DEFAULT_MARK = 0xba70;

    private static final int F_ALL_SLOW = 0x01;
    private static final int F_LOCAL_DECISION = 0x02;

    public DatapathConfig {
        if (mark == 0) throw new IllegalArgumentException("the mark must not be 0: every packet has that");
    }

    public DatapathConfig withAllSlow(boolean slow) {
        return new DatapathConfig(
                localAddress,
                shadowNetwork,
                servicePort,
                forwardBase,
                forwardCount,
                uplinkIfindex,
                wireIfindex,
                kernelIfindex,
                mark,
                slow,
                localDecision);
    }

    public DatapathConfig withLocalDecision(boolean on) {
        return new DatapathConfig(
                localAddress,
                shadowNetwork,
                servicePort,
                forwardBase,
                forwardCount,
                uplinkIfindex,
                wireIfindex,
                kernelIfindex,
                mark,
                allSlow,
                on);
    }

    public void write(MemorySegment s) {
        s.set(FlowKey.BE32, 0, localAddress);
        s.set(FlowKey.BE32, 4, shadowNetwork);
        s.set(FlowKey.BE16, 8, (short) servicePort);
        s.set(ValueLayout.JAVA_SHORT_UNALIGNED, 10, (short) forwardBase);
        s.set(ValueLayout.JAVA_SHORT_UNALIGNED, 12, (short) forwardCount);
        s.set(ValueLayout.JAVA_SHORT_UNALIGNED, 14, (short) 0);
        s.set(ValueLayout.JAVA_INT_UNALIGNED, 16, uplinkIfindex);
        s.set(ValueLayout.JAVA_INT_UNALIGNED, 20, wireIfindex);
        s.set(ValueLayout.JAVA_INT_UNALIGNED, 24, kernelIfindex);
        s.set(ValueLayout.JAVA_INT_UNALIGNED, 28, mark);
        s.set(ValueLayout.JAVA_INT_UNALIGNED, 32, (allSlow ? F_ALL_SLOW : 0) | (localDecision ? F_LOCAL_DECISION : 0));
    }
}
