package dev.baton.btcp;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.management.ThreadMXBean;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.management.ManagementFactory;
import org.junit.jupiter.api.Test;

/**
 * The non-timed guard of the JMH target (issue 4): the per-packet translations of a handed-off
 * connection allocate nothing. It drives the paths the benchmarks in src/jmh/java time, through the
 * same {@link HandedOffConnection}, and counts the bytes this thread allocated meanwhile.
 */
class RewritePathAllocationTest {
    static final int WARM_UP_ROUNDS = 50_000;
    static final int MEASURED_ROUNDS = 100_000;
    static final int PACKETS_PER_ROUND = 4;

    /** Takes emitted packets and keeps nothing, so the output side allocates nothing either. */
    static final Btcp.Output DISCARD = new Btcp.Output() {
        @Override
        public void toKernel(MemorySegment p, int len) {}

        @Override
        public void toWire(MemorySegment p, int len) {}
    };

    final HandedOffConnection conn = new HandedOffConnection();
    final MemorySegment buf = conn.entry.buf;

    @Test
    void rewritesEveryPacketOfAHandedOffConnectionWithoutAllocating() {
        conn.entry.sink = DISCARD;
        conn.chosen.sink = DISCARD;
        var threads = (ThreadMXBean) ManagementFactory.getThreadMXBean();
        long self = Thread.currentThread().threadId();
        threads.getThreadAllocatedBytes(self); // its own first-call costs, outside the measurement

        rounds(WARM_UP_ROUNDS); // class loading, profiling and JIT (escape analysis) settle here
        long emittedBefore = conn.entry.emitted + conn.chosen.emitted;
        long forwardedBefore = conn.entry.btcp.counters().get(Counter.PACKETS_FORWARDED);
        long servedBefore = conn.chosen.btcp.counters().get(Counter.PACKETS_SENT_FOR_OTHERS);
        long before = threads.getThreadAllocatedBytes(self);
        rounds(MEASURED_ROUNDS);
        long allocated = threads.getThreadAllocatedBytes(self) - before;
        long packets = conn.entry.emitted + conn.chosen.emitted - emittedBefore;

        assertThat(packets).as("every packet emitted").isEqualTo((long) MEASURED_ROUNDS * PACKETS_PER_ROUND);
        assertThat(conn.entry.btcp.counters().get(Counter.PACKETS_FORWARDED) - forwardedBefore)
                .as("client packets translated by the entry")
                .isEqualTo(2L * MEASURED_ROUNDS);
        assertThat(conn.chosen.btcp.counters().get(Counter.PACKETS_SENT_FOR_OTHERS) - servedBefore)
                .as("response packets translated by the chosen node")
                .isEqualTo((long) MEASURED_ROUNDS);
        for (Drop d : Drop.values()) {
            assertThat(conn.entry.btcp.counters().get(d)).as("entry drops " + d).isZero();
            assertThat(conn.chosen.btcp.counters().get(d))
                    .as("chosen drops " + d)
                    .isZero();
        }
        // Any object costs at least 16 bytes, so allocating on even one packet in 16 fails this.
        // What stays under the bound are fixed, one-off costs that do not grow with the packet count
        // (the counter query itself, a late deoptimization or class load): hence an average.
        assertThat((double) allocated / packets)
                .as("bytes allocated per packet (%d in all)", allocated)
                .isLessThan(1.0);
    }

    /** Each round: the entry forwards a client ACK, and one with SACK blocks; the chosen node
     *  takes the forwarded ACK and sends a segment of response data to the client. */
    private void rounds(int n) {
        HandedOffConnection.Node entry = conn.entry;
        HandedOffConnection.Node chosen = conn.chosen;
        for (int i = 0; i < n; i++) {
            load(conn.clientAck);
            entry.btcp.fromWire(buf, conn.clientAck.length);
            load(conn.clientAckWithSack);
            entry.btcp.fromWire(buf, conn.clientAckWithSack.length);
            load(conn.forwardedAck);
            chosen.btcp.fromWire(buf, conn.forwardedAck.length);
            load(conn.response);
            chosen.btcp.fromKernel(buf, conn.response.length);
        }
    }

    private void load(byte[] packet) {
        MemorySegment.copy(packet, 0, buf, ValueLayout.JAVA_BYTE, 0, packet.length);
    }
}
