package dev.baton.btcp;

import dev.baton.wire.Bytes;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.infra.Blackhole;

/**
 * The per-packet translations of a handed-off connection through the real {@link Btcp} engines
 * (issue 4: at least 5 million headers per second per core, 0 bytes allocated per packet). One
 * operation is one packet: its template copied into a native buffer, as a TUN read would leave it,
 * then rewritten in place and emitted. The {@code copy...} benchmarks time the copies alone, to
 * subtract. Only header bytes are copied: a translation never touches the payload.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@State(Scope.Thread)
public class BtcpRewriteBenchmark {
    /** Counts the packets an engine emits, each way, and hands them to the Blackhole. */
    static final class Consumed implements Btcp.Output {
        final Blackhole bh;
        long toKernel, toWire;

        Consumed(Blackhole bh) {
            this.bh = bh;
        }

        @Override
        public void toKernel(MemorySegment p, int len) {
            toKernel++;
            bh.consume(p);
        }

        @Override
        public void toWire(MemorySegment p, int len) {
            toWire++;
            bh.consume(p);
        }
    }

    HandedOffConnection conn;
    Consumed entryOut, chosenOut;
    Packet clientAck, clientAckWithSack, forwardedAck, response;
    long forwardedBefore, sentBefore;

    /** A template and the buffer it is rewritten in; {@code copied} bytes restore it. */
    static final class Packet {
        final MemorySegment template, buf;
        final int length, copied;

        Packet(byte[] bytes) {
            length = bytes.length;
            copied = HandedOffConnection.headerLength(bytes);
            template = Arena.ofAuto().allocate(length);
            buf = Arena.ofAuto().allocate(65536, 64);
            MemorySegment.copy(bytes, 0, template, ValueLayout.JAVA_BYTE, 0, length);
            MemorySegment.copy(template, 0, buf, 0, length);
        }

        MemorySegment restored() {
            MemorySegment.copy(template, 0, buf, 0, copied);
            return buf;
        }
    }

    @Setup(Level.Trial)
    public void setUp(Blackhole bh) {
        conn = new HandedOffConnection();
        entryOut = new Consumed(bh);
        chosenOut = new Consumed(bh);
        conn.entry.sink = entryOut;
        conn.chosen.sink = chosenOut;
        clientAck = new Packet(conn.clientAck);
        clientAckWithSack = new Packet(conn.clientAckWithSack);
        forwardedAck = new Packet(conn.forwardedAck);
        response = new Packet(conn.response);
        forwardedBefore = conn.entry.btcp.counters().get(Counter.PACKETS_FORWARDED);
        sentBefore = conn.chosen.btcp.counters().get(Counter.PACKETS_SENT_FOR_OTHERS);
    }

    /** Fails the run if any packet took another path than its translation (a drop, a pass-through). */
    @TearDown(Level.Trial)
    public void checkEveryPacketWasTranslated() {
        Counters entry = conn.entry.btcp.counters();
        Counters chosen = conn.chosen.btcp.counters();
        for (Drop d : Drop.values()) {
            check(entry.get(d) == 0, "the entry dropped packets: " + d);
            check(chosen.get(d) == 0, "the chosen node dropped packets: " + d);
        }
        check(
                entryOut.toKernel == 0 && entryOut.toWire == entry.get(Counter.PACKETS_FORWARDED) - forwardedBefore,
                "the entry emitted packets it did not forward");
        check(
                chosenOut.toWire == chosen.get(Counter.PACKETS_SENT_FOR_OTHERS) - sentBefore,
                "the chosen node sent packets it did not translate");
        check(
                chosenOut.toKernel == 0 || Bytes.u32(forwardedAck.buf, 16) == HandedOffConnection.SHADOW_A,
                "the chosen node passed forwarded packets up untranslated");
        for (Packet p : new Packet[] {clientAck, clientAckWithSack, forwardedAck, response}) {
            check(
                    p.restored().asSlice(0, p.length).mismatch(p.template) == -1,
                    "a translation changed bytes past the headers, which restoring does not copy back");
        }
    }

    private static void check(boolean ok, String what) {
        if (!ok) throw new IllegalStateException(what);
    }

    /** Entry, client to chosen: destination, port, ack, TSecr. */
    @Benchmark
    public void entryForwardsClientAck() {
        conn.entry.btcp.fromWire(clientAck.restored(), clientAck.length);
    }

    /** Entry, client to chosen: as above, and four SACK edges. */
    @Benchmark
    public void entryForwardsClientAckWithSack() {
        conn.entry.btcp.fromWire(clientAckWithSack.restored(), clientAckWithSack.length);
    }

    /** Chosen, a forwarded client packet: destination to the entry's shadow address, port to the service port. */
    @Benchmark
    public void chosenTakesForwardedAck() {
        conn.chosen.btcp.fromWire(forwardedAck.restored(), forwardedAck.length);
    }

    /** Chosen, server to client (1400 bytes of data): source, sequence number, TSval. */
    @Benchmark
    public void chosenSendsResponse() {
        conn.chosen.btcp.fromKernel(response.restored(), response.length);
    }

    /** The restoring copy alone (the 88 header bytes of the SACK variant), to subtract. */
    @Benchmark
    public MemorySegment copyClientAckWithSack() {
        return clientAckWithSack.restored();
    }

    /** The restoring copy alone (52 header bytes: the same for the other three packets), to subtract. */
    @Benchmark
    public MemorySegment copyResponse() {
        return response.restored();
    }
}
