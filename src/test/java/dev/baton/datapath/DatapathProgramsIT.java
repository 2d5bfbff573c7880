package dev.baton.datapath;

import static dev.baton.datapath.Segment.ACK;
import static dev.baton.datapath.Segment.ETH;
import static dev.baton.datapath.Segment.FIN;
import static dev.baton.datapath.Segment.PSH;
import static dev.baton.datapath.Segment.RST;
import static dev.baton.datapath.Segment.SYN;
import static dev.baton.datapath.Segment.get16;
import static dev.baton.datapath.Segment.get32;
import static org.assertj.core.api.Assertions.assertThat;

import dev.baton.sys.BpfProgram;
import dev.baton.sys.Poller;
import dev.baton.sys.SysException;
import dev.baton.testbed.TestbedCommand;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The data path's programs run by the kernel on packets made here (BPF_PROG_TEST_RUN; root): every
 * field each translation must change, checked against the offsets the test wrote it at and
 * arithmetic of its own; every other byte unchanged; both checksums recomputed whole; what goes to
 * user space and what is not ours. The kernel's verifier accepting the object is the first test.
 */
class DatapathProgramsIT {
    static final int TC_ACT_OK = 0;
    static final int TC_ACT_SHOT = 2;
    static final int TC_ACT_REDIRECT = 7;
    static final int SK_BUFF_SIZE = 192;
    static final int SK_BUFF_MARK = 8;

    static final int NODE = 0x0a000101; // 10.0.1.1: this node
    static final int CHOSEN = 0x0a000102; // 10.0.1.2
    static final int CLIENT = 0x0a00c80a; // 10.0.200.10
    static final int SHADOW_NET = 0xa9fe4d00; // 169.254.77.0
    static final int SERVICE = 80;
    static final int FORWARD_BASE = 61000;

    static Datapath dp;
    static Arena arena;
    static MemorySegment in;
    static MemorySegment out;
    static MemorySegment ctx;

    @BeforeAll
    @SuppressWarnings("MustBeClosedChecker") // the arena lives for the class: @AfterAll closes it
    static void load() throws Exception {
        assertThat(TestbedCommand.isRoot())
                .as("BPF_PROG_TEST_RUN needs root (CAP_BPF, CAP_NET_ADMIN): run in the root phase")
                .isTrue();
        dp = Datapath.load(1024, Optional.empty());
        arena = Arena.ofShared();
        in = arena.allocate(70_000, 8);
        out = arena.allocate(70_000, 8);
        ctx = arena.allocate(SK_BUFF_SIZE, 8);
    }

    @AfterAll
    static void unload() {
        if (dp != null) dp.close();
        if (arena != null) arena.close();
    }

    @BeforeEach
    void configure() throws SysException {
        faults(false);
        dp.clear();
    }

    /** The programs' settings of these tests, with every packet of ours to user space or not. */
    static void faults(boolean on) throws SysException {
        settings(on, false);
    }

    static void settings(boolean faults, boolean localDecision) throws SysException {
        dp.configure(new DatapathConfig(
                NODE,
                SHADOW_NET,
                SERVICE,
                FORWARD_BASE,
                255,
                2,
                3,
                4,
                DatapathConfig.DEFAULT_MARK,
                faults,
                localDecision));
    }

    record Run(int retval, byte[] packet, int mark) {}

    static Run run(String program, byte[] packet) throws SysException {
        return run(program, packet, 0);
    }

    static Run run(String program, byte[] packet, int mark) throws SysException {
        MemorySegment.copy(packet, 0, in, ValueLayout.JAVA_BYTE, 0, packet.length);
        ctx.fill((byte) 0);
        ctx.set(ValueLayout.JAVA_INT, SK_BUFF_MARK, mark);
        BpfProgram.TestRun r = dp.program(program).testRun(in, packet.length, out, ctx, 1);
        byte[] o = new byte[r.outLength()];
        MemorySegment.copy(out, ValueLayout.JAVA_BYTE, 0, o, 0, o.length);
        return new Run(r.retval(), o, ctx.get(ValueLayout.JAVA_INT, SK_BUFF_MARK));
    }

    static long counter(DatapathCounter c) {
        return dp.counters().get(c);
    }

    // ---- verifier -----------------------------------------------------------------------------

    @Test
    void theKernelVerifiesAndLoadsEveryProgram() throws SysException {
        for (String p : new String[] {Datapath.UPLINK_INGRESS, Datapath.UPLINK_EGRESS, Datapath.WIRE_INGRESS}) {
            BpfProgram.Stats s = dp.program(p).stats();
            assertThat(s.id()).as(p + " has a kernel id").isPositive();
            assertThat(s.verifiedInstructions()).as(p + " was verified").isPositive();
        }
        assertThat(dp.maxFlows()).isEqualTo(Datapath.flowsFor(1024));
        assertThat(dp.recordSlots()).isEqualTo(1024);
    }

    // ---- entry: client to chosen (claims 7, 17) ------------------------------------------------

    static final int SEQ_DELTA = 0x9e3779b9;
    static final int TS_DELTA = 0x7f4a7c15;
    static final int FORWARD_PORT = FORWARD_BASE + 3;

    static Flow toChosen(boolean timestamps) {
        return new Flow(FlowAction.TO_CHOSEN, timestamps, 0, 0, CHOSEN, FORWARD_PORT, SEQ_DELTA, TS_DELTA, 0, 0);
    }

    @Test
    void translatesAClientAckWithTimestampsAndSackToTheChosenNode() throws SysException {
        FlowKey key = new FlowKey(CLIENT, NODE, 40000, SERVICE);
        dp.put(key, toChosen(true));
        dp.putProgress(key, new Progress(0, 0, 0xffffff00, 0, 1, 0)); // seen before: raised from here
        Segment s = Segment.tcp(CLIENT, 40000, NODE, SERVICE)
                .seq(1000)
                .ack(0xfffffff0)
                .flags(ACK)
                .linuxOptions(111, 222, 0xfffffff0, 0x00000010, 5000, 6000);
        long before = counter(DatapathCounter.TO_CHOSEN);
        Run r = run(Datapath.UPLINK_INGRESS, s.build());
        assertThat(r.retval()).isEqualTo(TC_ACT_REDIRECT);
        assertThat(counter(DatapathCounter.TO_CHOSEN)).isEqualTo(before + 1);
        int t = s.tcpOffset();
        assertThat(get32(r.packet(), ETH + 16)).as("destination").isEqualTo(CHOSEN);
        assertThat(get16(r.packet(), t + 2)).as("destination port").isEqualTo(FORWARD_PORT);
        assertThat(get32(r.packet(), t + 8)).as("ack, across the wrap").isEqualTo(0xfffffff0 + SEQ_DELTA);
        assertThat(get32(r.packet(), t + s.sackAt)).isEqualTo(0xfffffff0 + SEQ_DELTA);
        assertThat(get32(r.packet(), t + s.sackAt + 4)).isEqualTo(0x10 + SEQ_DELTA);
        assertThat(get32(r.packet(), t + s.sackAt + 8)).isEqualTo(5000 + SEQ_DELTA);
        assertThat(get32(r.packet(), t + s.sackAt + 12)).isEqualTo(6000 + SEQ_DELTA);
        assertThat(get32(r.packet(), t + s.tsAt)).as("TSval is the client's").isEqualTo(111);
        assertThat(get32(r.packet(), t + s.tsAt + 4)).as("TSecr").isEqualTo(222 + TS_DELTA);
        assertChecksumsCarried(s, r.packet());
        Progress p = dp.progress(key).orElseThrow();
        assertThat(p.ack())
                .as("the client's ack, as it sent it, raised across the wrap")
                .isEqualTo(0xfffffff0);
        assertThat(p.lastNanos()).isGreaterThan(1);
        assertThat(p.slowIn()).as("nothing sent up").isZero();
    }

    @Test
    void leavesTimestampsAloneOnAFlowWithout() throws SysException {
        dp.put(new FlowKey(CLIENT, NODE, 40001, SERVICE), toChosen(false));
        Segment s = Segment.tcp(CLIENT, 40001, NODE, SERVICE)
                .seq(7)
                .ack(9)
                .flags(ACK)
                .linuxOptions(111, 222);
        Run r = run(Datapath.UPLINK_INGRESS, s.build());
        assertThat(r.retval()).isEqualTo(TC_ACT_REDIRECT);
        assertThat(get32(r.packet(), s.tcpOffset() + s.tsAt + 4)).isEqualTo(222);
        assertChecksumsCarried(s, r.packet());
    }

    @Test
    void withoutTheAckFlagOnlyTheDestinationChanges() throws SysException {
        dp.put(new FlowKey(CLIENT, NODE, 40002, SERVICE), toChosen(true));
        Segment s = Segment.tcp(CLIENT, 40002, NODE, SERVICE)
                .seq(7)
                .ack(9)
                .flags(PSH)
                .linuxOptions(1, 2, 3, 4);
        Run r = run(Datapath.UPLINK_INGRESS, s.build());
        int t = s.tcpOffset();
        assertThat(get32(r.packet(), t + 8)).isEqualTo(9);
        assertThat(get32(r.packet(), t + s.sackAt)).isEqualTo(3);
        assertThat(get32(r.packet(), t + s.tsAt + 4)).isEqualTo(2);
        assertThat(get32(r.packet(), ETH + 16)).isEqualTo(CHOSEN);
        assertChecksumsCarried(s, r.packet());
    }

    /**
     * Random segments of handed-off connections: any legal option layout (NOPs anywhere, so fields at
     * odd offsets; MSS, window scale, SACK-permitted and unknown options; 0-4 SACK blocks; EOL
     * padding), any payload size, any numbers; some with a wrong checksum, which must stay exactly as
     * wrong. Each checked field by field against the offsets the generator wrote.
     */
    @Test
    void translatesRandomSegmentsToTheChosenNode() throws SysException {
        Random rnd = new Random(12);
        for (int i = 0; i < 4000; i++) {
            int port = 1024 + rnd.nextInt(60000);
            boolean ts = rnd.nextInt(5) > 0;
            Flow flow = new Flow(
                    FlowAction.TO_CHOSEN,
                    ts,
                    0,
                    0,
                    rnd.nextInt(),
                    FORWARD_BASE + 1 + rnd.nextInt(255),
                    rnd.nextInt(),
                    rnd.nextInt(),
                    0,
                    0);
            dp.put(new FlowKey(CLIENT, NODE, port, SERVICE), flow);
            Segment s = randomSegment(rnd, Segment.tcp(CLIENT, port, NODE, SERVICE));
            s.flags = rnd.nextInt(4) > 0 ? ACK | (rnd.nextBoolean() ? PSH : 0) : PSH;
            byte[] p = s.build();
            Run r = run(Datapath.UPLINK_INGRESS, p);
            String what = "segment " + i + ": " + s.options.length + " option bytes, TS at " + s.tsAt + ", SACK at "
                    + s.sackAt + " x" + s.sackBlocks + ", flags " + s.flags;
            assertThat(r.retval()).as(what).isEqualTo(TC_ACT_REDIRECT);
            byte[] o = r.packet();
            int t = s.tcpOffset();
            byte[] expect = p.clone();
            Segment.put32(expect, ETH + 16, flow.address());
            Segment.put16(expect, t + 2, flow.port());
            if ((s.flags & ACK) != 0) {
                Segment.put32(expect, t + 8, s.ack + flow.seqDelta());
                for (int b = 0; b < 2 * s.sackBlocks; b++) {
                    Segment.put32(expect, t + s.sackAt + 4 * b, get32(p, t + s.sackAt + 4 * b) + flow.seqDelta());
                }
                if (ts && s.tsAt >= 0) Segment.put32(expect, t + s.tsAt + 4, get32(p, t + s.tsAt + 4) + flow.tsDelta());
            }
            assertSameBut(expect, o, what, ETH + 10, t + 16);
            assertChecksumsCarried(s, p, o, what);
            dp.remove(new FlowKey(CLIENT, NODE, port, SERVICE));
        }
    }

    // ---- what goes to user space, and what is not ours ----------------------------------------

    @Test
    void handshakeSegmentsGoToUserSpaceUntouched() throws SysException {
        dp.put(new FlowKey(CLIENT, NODE, 40003, SERVICE), toChosen(true));
        for (int flags : new int[] {SYN, SYN | ACK}) {
            Segment s = Segment.tcp(CLIENT, 40003, NODE, SERVICE)
                    .seq(5)
                    .ack(6)
                    .flags(flags)
                    .linuxOptions(1, 2);
            byte[] p = s.build();
            long before = counter(DatapathCounter.SLOW_FROM_WIRE);
            Run r = run(Datapath.UPLINK_INGRESS, p);
            assertThat(r.retval()).isEqualTo(TC_ACT_REDIRECT);
            assertThat(r.packet()).as("flags " + flags).isEqualTo(p);
            assertThat(counter(DatapathCounter.SLOW_FROM_WIRE)).isEqualTo(before + 1);
        }
    }

    /** The client's FIN and RST on a handed-off flow go on to the chosen node, told to user space. */
    @Test
    void aHandedOffFlowsClosesGoOnTranslatedAndAreToldToUserSpace() throws SysException {
        drainCloses();
        dp.put(
                new FlowKey(CLIENT, NODE, 40006, SERVICE),
                new Flow(
                        FlowAction.TO_CHOSEN,
                        true,
                        0,
                        0,
                        CHOSEN,
                        FORWARD_PORT,
                        SEQ_DELTA,
                        TS_DELTA,
                        0,
                        0,
                        0x4321,
                        false));
        long slow = counter(DatapathCounter.SLOW_FROM_WIRE);
        for (int flags : new int[] {FIN | ACK, RST, RST | ACK}) {
            Segment s = Segment.tcp(CLIENT, 40006, NODE, SERVICE)
                    .seq(5)
                    .ack(6)
                    .flags(flags)
                    .linuxOptions(1, 2);
            Run r = run(Datapath.UPLINK_INGRESS, s.build());
            assertThat(r.retval()).as("flags " + flags).isEqualTo(TC_ACT_REDIRECT); // bpf_redirect_neigh
            assertThat(get32(r.packet(), ETH + 16)).as("to the chosen node").isEqualTo(CHOSEN);
            if ((flags & ACK) != 0)
                assertThat(get32(r.packet(), s.tcpOffset() + 8)).isEqualTo(6 + SEQ_DELTA);
        }
        assertThat(drainCloses())
                .containsExactly(
                        new Closed(CLIENT, 40006, 0x4321, FIN | ACK, false),
                        new Closed(CLIENT, 40006, 0x4321, RST, false),
                        new Closed(CLIENT, 40006, 0x4321, RST | ACK, false));
        assertThat(counter(DatapathCounter.SLOW_FROM_WIRE)).as("none went up").isEqualTo(slow);
    }

    @Test
    void aServiceSegmentOfNoFlowGoesToUserSpace() throws SysException {
        byte[] p = Segment.tcp(CLIENT, 40004, NODE, SERVICE)
                .seq(5)
                .ack(6)
                .linuxOptions(1, 2)
                .build();
        long before = counter(DatapathCounter.SLOW_FROM_WIRE);
        Run r = run(Datapath.UPLINK_INGRESS, p);
        assertThat(r.retval()).isEqualTo(TC_ACT_REDIRECT);
        assertThat(r.packet()).isEqualTo(p);
        assertThat(counter(DatapathCounter.SLOW_FROM_WIRE)).isEqualTo(before + 1);
        // a forward port with no flow: user space drops what the entry forwarded too early
        p = Segment.tcp(CLIENT, 40004, NODE, FORWARD_BASE + 7).seq(5).ack(6).build();
        assertThat(run(Datapath.UPLINK_INGRESS, p).retval()).isEqualTo(TC_ACT_REDIRECT);
        assertThat(counter(DatapathCounter.SLOW_FROM_WIRE)).isEqualTo(before + 2);
    }

    @Test
    void malformedOptionsAndIpOptionsGoToUserSpace() throws SysException {
        dp.put(new FlowKey(CLIENT, NODE, 40005, SERVICE), toChosen(true));
        int[][] bad = {
            {1, 1, 8, 9, 0, 0, 0, 0, 0, 0, 0, 0}, // TS of length 9
            {5, 11, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, // SACK of a length no block count gives
            {1, 1, 2, 2}, // MSS of length 2
            {254, 1, 0, 0}, // length 1
            {1, 1, 254, 9, 0, 0, 0, 0}, // runs past the options
            {3, 4, 7, 0}, // window scale of length 4
        };
        for (int[] opts : bad) {
            // each with a fresh flow: once one went up, the flow's next ones follow it until user space read it
            dp.remove(new FlowKey(CLIENT, NODE, 40005, SERVICE));
            dp.forgetProgress(new FlowKey(CLIENT, NODE, 40005, SERVICE));
            dp.put(new FlowKey(CLIENT, NODE, 40005, SERVICE), toChosen(true));
            Segment s = Segment.tcp(CLIENT, 40005, NODE, SERVICE).seq(5).ack(6);
            s.options(new Segment.OptionWriter().raw(opts));
            byte[] p = s.build();
            long before = counter(DatapathCounter.BAD_OPTIONS);
            Run r = run(Datapath.UPLINK_INGRESS, p);
            assertThat(r.retval()).as(Arrays.toString(opts)).isEqualTo(TC_ACT_REDIRECT);
            assertThat(r.packet()).as(Arrays.toString(opts)).isEqualTo(p);
            assertThat(counter(DatapathCounter.BAD_OPTIONS))
                    .as(Arrays.toString(opts))
                    .isEqualTo(before + 1);
        }
        Segment s = Segment.tcp(CLIENT, 40005, NODE, SERVICE).seq(5).ack(6).linuxOptions(1, 2);
        s.ipOptionWords = 1;
        byte[] p = s.build();
        long before = counter(DatapathCounter.IP_OPTIONS);
        assertThat(run(Datapath.UPLINK_INGRESS, p).packet()).isEqualTo(p);
        assertThat(counter(DatapathCounter.IP_OPTIONS)).isEqualTo(before + 1);
        s.ipOptionWords = 0;
        s.ipFlags = 0x2000; // more fragments
        p = s.build();
        assertThat(run(Datapath.UPLINK_INGRESS, p).packet()).isEqualTo(p);
        assertThat(counter(DatapathCounter.IP_OPTIONS)).isEqualTo(before + 2);
    }

    @Test
    void passesWhatIsNotOursWithoutCountingIt() throws SysException {
        Map<DatapathCounter, Long> before = dp.counters();
        byte[][] packets = {
            Segment.tcp(CLIENT, 40006, CHOSEN, SERVICE).build(), // another address
            Segment.tcp(CLIENT, 40006, NODE, 7070).build(), // the control channel
            Segment.tcp(CHOSEN, SERVICE, NODE, 45000).build(), // the answer to our own fetch
            udp(),
            arp(),
        };
        for (byte[] p : packets) {
            Run r = run(Datapath.UPLINK_INGRESS, p);
            assertThat(r.retval()).isEqualTo(TC_ACT_OK);
            assertThat(r.packet()).isEqualTo(p);
        }
        assertThat(dp.counters()).isEqualTo(before);
    }

    @Test
    void everythingOfOursGoesToUserSpaceWhileFaultsAreOn() throws SysException {
        faults(true);
        dp.put(new FlowKey(CLIENT, NODE, 40007, SERVICE), Flow.local(0, 0, 0));
        byte[] p = Segment.tcp(CLIENT, 40007, NODE, SERVICE).seq(5).ack(6).build();
        long before = counter(DatapathCounter.SLOW_FROM_WIRE);
        Run r = run(Datapath.UPLINK_INGRESS, p);
        assertThat(r.retval()).isEqualTo(TC_ACT_REDIRECT);
        assertThat(counter(DatapathCounter.SLOW_FROM_WIRE)).isEqualTo(before + 1);
    }

    // ---- local flows ------------------------------------------------------------------------

    @Test
    void localFlowsPassBothWaysUntouched() throws SysException {
        dp.put(new FlowKey(CLIENT, NODE, 40008, SERVICE), Flow.local(0, 0, 0));
        byte[] in = Segment.tcp(CLIENT, 40008, NODE, SERVICE)
                .seq(5)
                .ack(6)
                .linuxOptions(1, 2)
                .build();
        byte[] outbound = Segment.tcp(NODE, SERVICE, CLIENT, 40008)
                .seq(6)
                .ack(5)
                .linuxOptions(3, 1)
                .payload(1448, new Random(1))
                .build();
        long localIn = counter(DatapathCounter.LOCAL_IN);
        long localOut = counter(DatapathCounter.LOCAL_OUT);
        Run r = run(Datapath.UPLINK_INGRESS, in);
        assertThat(r.retval()).isEqualTo(TC_ACT_OK);
        assertThat(r.packet()).isEqualTo(in);
        r = run(Datapath.UPLINK_EGRESS, outbound);
        assertThat(r.retval()).isEqualTo(TC_ACT_OK);
        assertThat(r.packet()).isEqualTo(outbound);
        assertThat(counter(DatapathCounter.LOCAL_IN)).isEqualTo(localIn + 1);
        assertThat(counter(DatapathCounter.LOCAL_OUT)).isEqualTo(localOut + 1);
    }

    record Closed(int client, int port, int entry, int cookie, int flags, boolean fromKernel) {
        /** A local flow's. */
        Closed(int client, int port, int cookie, int flags, boolean fromKernel) {
            this(client, port, 0, cookie, flags, fromKernel);
        }
    }

    static List<Closed> drainCloses() throws SysException {
        List<Closed> all = new ArrayList<>();
        new KernelFastPath(dp, NODE, SERVICE)
                .drainCloses((c, port, entry, cookie, flags, fromKernel) ->
                        all.add(new Closed(c, port, entry, cookie, flags, fromKernel)));
        return all;
    }

    @Test
    void aLocalFlowsFinsAndResetsPassAndAreToldToUserSpace() throws SysException {
        drainCloses(); // what earlier tests left
        dp.put(new FlowKey(CLIENT, NODE, 40012, SERVICE), Flow.local(0, 0, 0xbeef));
        byte[] fin = Segment.tcp(CLIENT, 40012, NODE, SERVICE)
                .seq(5)
                .ack(6)
                .flags(FIN | ACK)
                .linuxOptions(1, 2)
                .build();
        byte[] serverFin = Segment.tcp(NODE, SERVICE, CLIENT, 40012)
                .seq(6)
                .ack(6)
                .flags(FIN | ACK)
                .linuxOptions(2, 1)
                .build();
        byte[] rst = Segment.tcp(CLIENT, 40012, NODE, SERVICE).seq(6).flags(RST).build();
        long slow = counter(DatapathCounter.SLOW_FROM_WIRE) + counter(DatapathCounter.SLOW_FROM_KERNEL);
        long passed = counter(DatapathCounter.CLOSES_PASSED);
        Run r = run(Datapath.UPLINK_INGRESS, fin);
        assertThat(r.retval()).isEqualTo(TC_ACT_OK);
        assertThat(r.packet()).isEqualTo(fin);
        r = run(Datapath.UPLINK_EGRESS, serverFin);
        assertThat(r.retval()).isEqualTo(TC_ACT_OK);
        assertThat(r.packet()).isEqualTo(serverFin);
        assertThat(run(Datapath.UPLINK_INGRESS, rst).retval()).isEqualTo(TC_ACT_OK);
        assertThat(drainCloses())
                .containsExactly(
                        new Closed(CLIENT, 40012, 0xbeef, FIN | ACK, false),
                        new Closed(CLIENT, 40012, 0xbeef, FIN | ACK, true),
                        new Closed(CLIENT, 40012, 0xbeef, RST, false));
        assertThat(drainCloses()).as("each told once").isEmpty();
        assertThat(counter(DatapathCounter.CLOSES_PASSED)).isEqualTo(passed + 3);
        assertThat(counter(DatapathCounter.SLOW_FROM_WIRE) + counter(DatapathCounter.SLOW_FROM_KERNEL))
                .as("none crossed user space")
                .isEqualTo(slow);
    }

    /**
     * The loop sleeping in poll(2) on the closes ring is woken by a close told meanwhile (an empty
     * record, skipped by the reader, with a wake-up); while it turns, no wake-up is asked for, and
     * a poll already waiting sleeps on: so the flag is what wakes it.
     */
    @Test
    void aCloseToldWhileTheEngineSleepsWakesItsPoll() throws Exception {
        drainCloses();
        KernelFastPath fast = new KernelFastPath(dp, NODE, SERVICE);
        try {
            for (boolean asleep : new boolean[] {false, true}) {
                int port = asleep ? 40032 : 40031;
                dp.put(new FlowKey(CLIENT, NODE, port, SERVICE), Flow.local(0, 0, 0x5ee));
                fast.asleep(asleep);
                long woken = counter(DatapathCounter.ENGINE_WOKEN);
                CompletableFuture<Long> waited = CompletableFuture.supplyAsync(() -> {
                    try {
                        Poller p = new Poller(1);
                        p.watch(0, fast.closesFd(), false);
                        long t0 = System.nanoTime();
                        p.await(1, 1_500); // at its timeout poll looks once more: then it is ready
                        return (System.nanoTime() - t0) / 1_000_000;
                    } catch (SysException e) {
                        throw new IllegalStateException(e);
                    }
                });
                Thread.sleep(300); // the poll waits by now, on an empty ring
                byte[] fin = Segment.tcp(CLIENT, port, NODE, SERVICE)
                        .seq(5)
                        .ack(6)
                        .flags(FIN | ACK)
                        .linuxOptions(1, 2)
                        .build();
                assertThat(run(Datapath.UPLINK_INGRESS, fin).retval()).isEqualTo(TC_ACT_OK);
                long ms = waited.get(5, TimeUnit.SECONDS);
                if (asleep) {
                    assertThat(ms).as("woken by the close").isBetween(250L, 1_000L);
                    assertThat(counter(DatapathCounter.ENGINE_WOKEN)).isEqualTo(woken + 1);
                } else {
                    assertThat(ms)
                            .as("no wake-up asked for while the engine turns: it slept on")
                            .isGreaterThanOrEqualTo(1_400L);
                    assertThat(counter(DatapathCounter.ENGINE_WOKEN)).isEqualTo(woken);
                }
                assertThat(drainCloses())
                        .as("the empty record is skipped")
                        .containsExactly(new Closed(CLIENT, port, 0x5ee, FIN | ACK, false));
            }
        } finally {
            fast.asleep(false);
        }
    }

    @Test
    void aLocalFlowsFinGoesUpWhileFaultsAreOnOrBeforeUserSpaceCaughtUp() throws SysException {
        drainCloses();
        FlowKey k = new FlowKey(CLIENT, NODE, 40013, SERVICE);
        dp.put(k, Flow.local(1, 0, 3)); // user space read one packet; the programs sent up two
        dp.putProgress(k, new Progress(2, 0, 0, 0, 0, 0));
        byte[] fin = Segment.tcp(CLIENT, 40013, NODE, SERVICE)
                .seq(5)
                .ack(6)
                .flags(FIN | ACK)
                .build();
        assertThat(run(Datapath.UPLINK_INGRESS, fin).retval())
                .as("not caught up")
                .isEqualTo(TC_ACT_REDIRECT);
        faults(true);
        dp.put(k, Flow.local(3, 0, 3)); // caught up now (the FIN above counted), but faults are on
        assertThat(run(Datapath.UPLINK_INGRESS, fin).retval()).isEqualTo(TC_ACT_REDIRECT);
        assertThat(drainCloses()).isEmpty();
    }

    // ---- chosen: forwarded client packets, and the kernel's answers (claims 9, 18) -------------

    static final int SHADOW = SHADOW_NET | 3;

    @Test
    void takesAForwardedSegmentToTheEntrysShadowAddress() throws SysException {
        FlowKey k = new FlowKey(CLIENT, NODE, 40009, FORWARD_PORT);
        dp.put(k, new Flow(FlowAction.FROM_ENTRY, true, 0, 0, SHADOW, SERVICE, SEQ_DELTA, TS_DELTA, 0, 0));
        dp.putProgress(k, new Progress(0, 0, 100, 200, 1, 0));
        Random rnd = new Random(3);
        Segment s = Segment.tcp(CLIENT, 40009, NODE, FORWARD_PORT)
                .seq(0xfffffff0)
                .ack(150)
                .flags(ACK | PSH)
                .linuxOptions(5, 6, 1, 2)
                .payload(300, rnd);
        byte[] p = s.build();
        Run r = run(Datapath.UPLINK_INGRESS, p);
        assertThat(r.retval()).isEqualTo(TC_ACT_OK);
        byte[] expect = p.clone();
        Segment.put32(expect, ETH + 16, SHADOW);
        Segment.put16(expect, s.tcpOffset() + 2, SERVICE);
        assertSameBut(expect, r.packet(), "forwarded", ETH + 10, s.tcpOffset() + 16);
        assertChecksumsCarried(s, p, r.packet(), "forwarded");
        Progress seen = dp.progress(k).orElseThrow();
        assertThat(seen.ack()).isEqualTo(150);
        assertThat(seen.next()).as("seq + payload, across the wrap").isEqualTo(0xfffffff0 + 300);
    }

    @Test
    void translatesTheChosenKernelsSegmentsToTheClient() throws SysException {
        Random rnd = new Random(21);
        for (int i = 0; i < 3000; i++) {
            int port = 1024 + rnd.nextInt(60000);
            boolean ts = rnd.nextInt(5) > 0;
            int from = rnd.nextInt(15), to = rnd.nextInt(4) == 0 ? rnd.nextInt(15) : from;
            int entry = rnd.nextInt();
            Flow flow = new Flow(FlowAction.TO_CLIENT, ts, from, to, entry, 0, rnd.nextInt(), rnd.nextInt(), 0, 0);
            int shadow = SHADOW_NET | (1 + rnd.nextInt(254));
            FlowKey k = new FlowKey(CLIENT, shadow, port, SERVICE);
            Segment s = randomSegment(rnd, Segment.tcp(shadow, SERVICE, CLIENT, port));
            s.flags = ACK | (rnd.nextBoolean() ? PSH : 0);
            s.window = rnd.nextInt(0x10000);
            dp.put(k, flow);
            byte[] p = s.build();
            Run r = run(Datapath.UPLINK_EGRESS, p);
            String what = "segment " + i + ": TS at " + s.tsAt + ", scales " + from + "->" + to;
            assertThat(r.retval()).as(what).isEqualTo(TC_ACT_OK);
            int t = s.tcpOffset();
            byte[] expect = p.clone();
            Segment.put32(expect, ETH + 12, entry);
            Segment.put32(expect, t + 4, s.seq - flow.seqDelta());
            if (from != to) {
                long bytes = (long) s.window << from;
                Segment.put16(expect, t + 14, (int) Math.min(0xffff, bytes >>> to));
            }
            if (ts && s.tsAt >= 0) Segment.put32(expect, t + s.tsAt, get32(p, t + s.tsAt) - flow.tsDelta());
            assertSameBut(expect, r.packet(), what, ETH + 10, t + 16);
            assertChecksumsCarried(s, p, r.packet(), what);
            Progress after = dp.progress(k).orElseThrow();
            assertThat(after.next()).as(what + ": the first segment sets it").isEqualTo(s.seq + s.payload.length);
            dp.remove(k);
        }
    }

    /**
     * A handed-in connection's FINs and RSTs are translated and pass, told to user space with the
     * entry's index and the flows' cookie; its FIN counts in the progress (the engine's owesClient).
     * While user space has not caught up, or faults are on, they go up as before.
     */
    @Test
    void aHandedInFlowsClosesPassTranslatedAndAreToldToUserSpace() throws SysException {
        drainCloses();
        int port = 40500;
        FlowKey in = new FlowKey(CLIENT, NODE, port, FORWARD_PORT);
        FlowKey out = new FlowKey(CLIENT, SHADOW, port, SERVICE);
        dp.put(
                in,
                new Flow(FlowAction.FROM_ENTRY, true, 0, 0, SHADOW, SERVICE, SEQ_DELTA, TS_DELTA, 0, 0, 0x1234, false));
        dp.put(out, new Flow(FlowAction.TO_CLIENT, true, 7, 7, NODE, 0, SEQ_DELTA, TS_DELTA, 0, 0, 0x1234, false));
        long slow = counter(DatapathCounter.SLOW_FROM_WIRE) + counter(DatapathCounter.SLOW_FROM_KERNEL);
        Segment serverFin = Segment.tcp(SHADOW, SERVICE, CLIENT, port)
                .seq(9000)
                .ack(700)
                .flags(FIN | ACK)
                .linuxOptions(11, 22);
        byte[] p = serverFin.build();
        Run r = run(Datapath.UPLINK_EGRESS, p);
        assertThat(r.retval()).isEqualTo(TC_ACT_OK);
        byte[] expect = p.clone();
        Segment.put32(expect, ETH + 12, NODE);
        Segment.put32(expect, serverFin.tcpOffset() + 4, 9000 - SEQ_DELTA);
        Segment.put32(expect, serverFin.tcpOffset() + serverFin.tsAt, 11 - TS_DELTA);
        assertSameBut(expect, r.packet(), "server FIN", ETH + 10, serverFin.tcpOffset() + 16);
        assertChecksumsCarried(serverFin, p, r.packet(), "server FIN");
        assertThat(dp.progress(out).orElseThrow().next()).as("a FIN takes one").isEqualTo(9001);
        Segment clientFin = Segment.tcp(CLIENT, port, NODE, FORWARD_PORT)
                .seq(700)
                .ack(9001)
                .flags(FIN | ACK)
                .linuxOptions(23, 12);
        r = run(Datapath.UPLINK_INGRESS, clientFin.build());
        assertThat(r.retval()).isEqualTo(TC_ACT_OK);
        assertThat(get32(r.packet(), ETH + 16)).as("to the shadow address").isEqualTo(SHADOW);
        assertThat(dp.progress(in).orElseThrow().next()).isEqualTo(701);
        byte[] lastAck = Segment.tcp(SHADOW, SERVICE, CLIENT, port)
                .seq(9001)
                .ack(701)
                .linuxOptions(12, 23)
                .build();
        assertThat(run(Datapath.UPLINK_EGRESS, lastAck).retval())
                .as("and on through TIME-WAIT")
                .isEqualTo(TC_ACT_OK);
        byte[] rst = Segment.tcp(CLIENT, port, NODE, FORWARD_PORT)
                .seq(701)
                .flags(RST)
                .build();
        assertThat(run(Datapath.UPLINK_INGRESS, rst).retval()).isEqualTo(TC_ACT_OK);
        int entry = FORWARD_PORT - FORWARD_BASE;
        assertThat(drainCloses())
                .containsExactly(
                        new Closed(CLIENT, port, SHADOW & 0xff, 0x1234, FIN | ACK, true),
                        new Closed(CLIENT, port, entry, 0x1234, FIN | ACK, false),
                        new Closed(CLIENT, port, entry, 0x1234, RST, false));
        assertThat(counter(DatapathCounter.SLOW_FROM_WIRE) + counter(DatapathCounter.SLOW_FROM_KERNEL))
                .as("none crossed user space")
                .isEqualTo(slow);
        // not caught up, or faults on: up, untold
        dp.putProgress(out, new Progress(0, 2, 0, 0, 0, 0));
        assertThat(run(Datapath.UPLINK_EGRESS, p).retval()).isEqualTo(TC_ACT_REDIRECT);
        faults(true);
        assertThat(run(Datapath.UPLINK_INGRESS, clientFin.build()).retval()).isEqualTo(TC_ACT_REDIRECT);
        assertThat(drainCloses()).isEmpty();
    }

    @Test
    void aShadowSegmentOfNoFlowGoesToUserSpaceAndNotOut() throws SysException {
        byte[] p = Segment.tcp(SHADOW, SERVICE, CLIENT, 40010).seq(1).ack(2).build();
        long before = counter(DatapathCounter.SLOW_FROM_KERNEL);
        Run r = run(Datapath.UPLINK_EGRESS, p);
        assertThat(r.retval()).isEqualTo(TC_ACT_REDIRECT);
        assertThat(r.packet()).isEqualTo(p);
        assertThat(counter(DatapathCounter.SLOW_FROM_KERNEL)).isEqualTo(before + 1);
        // from a shadow address on any port: never out as it is
        p = Segment.tcp(SHADOW, 45000, CLIENT, 40010).build();
        assertThat(run(Datapath.UPLINK_EGRESS, p).retval()).isEqualTo(TC_ACT_REDIRECT);
        assertThat(counter(DatapathCounter.SLOW_FROM_KERNEL)).isEqualTo(before + 2);
    }

    @Test
    void theKernelsHandshakeGoesToUserSpace() throws SysException {
        dp.put(new FlowKey(CLIENT, NODE, 40011, SERVICE), Flow.local(0, 0, 0));
        byte[] synAck =
                Segment.tcp(NODE, SERVICE, CLIENT, 40011).flags(SYN | ACK).build();
        long before = counter(DatapathCounter.SLOW_FROM_KERNEL);
        assertThat(run(Datapath.UPLINK_EGRESS, synAck).retval()).isEqualTo(TC_ACT_REDIRECT);
        byte[] fin = Segment.tcp(NODE, SERVICE, CLIENT, 40011).flags(FIN | ACK).build();
        assertThat(run(Datapath.UPLINK_EGRESS, fin).retval()).isEqualTo(TC_ACT_REDIRECT);
        assertThat(counter(DatapathCounter.SLOW_FROM_KERNEL)).isEqualTo(before + 2);
    }

    @Test
    void whatUserSpaceSendsIsMarkedAndLeavesAsItIs() throws SysException {
        // written into the wire TUN: no Ethernet header; marked and sent out of the uplink
        byte[] frame =
                Segment.tcp(NODE, SERVICE, CLIENT, 40012).flags(SYN | ACK).build();
        long before = counter(DatapathCounter.WIRE_OUT);
        Run r = run(Datapath.WIRE_INGRESS, frame);
        assertThat(r.retval()).isEqualTo(TC_ACT_REDIRECT);
        assertThat(r.mark()).isEqualTo(DatapathConfig.DEFAULT_MARK);
        assertThat(counter(DatapathCounter.WIRE_OUT)).isEqualTo(before + 1);
        // ... which the uplink's egress then lets by, SYN/ACK or not
        before = counter(DatapathCounter.SLOW_FROM_KERNEL);
        r = run(Datapath.UPLINK_EGRESS, frame, DatapathConfig.DEFAULT_MARK);
        assertThat(r.retval()).isEqualTo(TC_ACT_OK);
        assertThat(r.packet()).isEqualTo(frame);
        assertThat(counter(DatapathCounter.SLOW_FROM_KERNEL)).isEqualTo(before);
    }

    /**
     * The takeover records live in the takeover map's mapped pages: a process that loads the pinned
     * maps again (a restart) reads what the one before wrote, with no system call on either side.
     */
    @Test
    void recordsWrittenToTheMappedPagesOutliveTheProcessThatWroteThem() throws Exception {
        Path pins = Path.of(
                "/sys/fs/bpf", "baton-test-records-" + ProcessHandle.current().pid());
        MemorySegment r = arena.allocate(Datapath.RECORD_SIZE, 8);
        MemorySegment back = arena.allocate(Datapath.RECORD_SIZE, 8);
        for (int i = 0; i < Datapath.RECORD_SIZE; i++) r.set(ValueLayout.JAVA_BYTE, i, (byte) (i * 7 + 3));
        try {
            try (Datapath first = Datapath.load(64, Optional.of(pins))) {
                assertThat(first.recordSlots()).isEqualTo(64);
                assertThat(first.putRecord(63, r)).isTrue();
                assertThat(first.putRecord(64, r))
                        .as("no slot 64 in a table of 64")
                        .isFalse();
                assertThat(first.putRecord(5, r)).isTrue();
                first.removeRecord(5);
            }
            try (Datapath second = Datapath.load(64, Optional.of(pins))) {
                assertThat(second.record(63, back)).isTrue();
                assertThat(back.asByteBuffer()).isEqualTo(r.asByteBuffer());
                assertThat(second.record(5, back)).as("removed").isFalse();
                assertThat(second.record(0, back)).isFalse();
                second.unpin();
            }
        } finally {
            Files.deleteIfExists(pins);
        }
    }

    @Test
    void withoutConfigEverythingPasses() throws Exception {
        try (Datapath fresh = Datapath.load(16, Optional.empty())) {
            byte[] p = Segment.tcp(CLIENT, 40013, NODE, SERVICE).build();
            MemorySegment.copy(p, 0, in, ValueLayout.JAVA_BYTE, 0, p.length);
            // an all-zero config matches no address: the programs pass
            BpfProgram.TestRun r = fresh.program(Datapath.UPLINK_INGRESS).testRun(in, p.length, out, null, 1);
            assertThat(r.retval()).isEqualTo(TC_ACT_OK);
        }
    }

    // ---- holding, counting and catching up ------------------------------------------------------

    @Test
    void aHeldFlowGoesUpCountedBothWays() throws SysException {
        FlowKey k = new FlowKey(CLIENT, NODE, 40014, SERVICE);
        dp.put(k, Flow.hold());
        byte[] in = Segment.tcp(CLIENT, 40014, NODE, SERVICE).seq(5).ack(6).build();
        byte[] out = Segment.tcp(NODE, SERVICE, CLIENT, 40014).seq(6).ack(5).build();
        for (int i = 0; i < 3; i++)
            assertThat(run(Datapath.UPLINK_INGRESS, in).packet()).isEqualTo(in);
        assertThat(run(Datapath.UPLINK_EGRESS, out).retval()).isEqualTo(TC_ACT_REDIRECT);
        Progress p = dp.progress(k).orElseThrow();
        assertThat(p.slowIn()).isEqualTo(3);
        assertThat(p.slowOut()).isEqualTo(1);
        dp.put(k, Flow.local(3, 1, 0));
        assertThat(run(Datapath.UPLINK_INGRESS, in).retval())
                .as("caught up: passed")
                .isEqualTo(TC_ACT_OK);
        // a FIN of a handed-down flow passes too, told, not counted
        dp.put(k, toChosen(true).withConsumed(3, 1));
        drainCloses();
        byte[] fin = Segment.tcp(CLIENT, 40014, NODE, SERVICE)
                .seq(5)
                .ack(6)
                .flags(FIN | ACK)
                .build();
        assertThat(run(Datapath.UPLINK_INGRESS, fin).retval())
                .as("to the chosen node")
                .isEqualTo(TC_ACT_REDIRECT);
        assertThat(dp.progress(k).orElseThrow().slowIn()).isEqualTo(3);
        assertThat(drainCloses()).hasSize(1);
    }

    /**
     * A flow handed down before user space read everything sent up: its packets keep going up
     * (counted) until user space says it has read them all, so none is overtaken.
     */
    @Test
    void aHandedDownFlowCatchesUpBeforeItsPacketsSkipUserSpace() throws SysException {
        FlowKey k = new FlowKey(CLIENT, NODE, 40015, SERVICE);
        dp.put(k, Flow.hold());
        byte[] in = Segment.tcp(CLIENT, 40015, NODE, SERVICE)
                .seq(5)
                .ack(6)
                .linuxOptions(1, 2)
                .build();
        run(Datapath.UPLINK_INGRESS, in);
        run(Datapath.UPLINK_INGRESS, in); // two up; user space has read one when it hands the flow down
        dp.put(k, toChosen(true).withConsumed(1, 0));
        long catching = counter(DatapathCounter.CATCHING_UP);
        Run r = run(Datapath.UPLINK_INGRESS, in);
        assertThat(r.retval()).isEqualTo(TC_ACT_REDIRECT);
        assertThat(r.packet()).as("untouched: it goes up").isEqualTo(in);
        assertThat(counter(DatapathCounter.CATCHING_UP)).isEqualTo(catching + 1);
        assertThat(dp.progress(k).orElseThrow().slowIn()).isEqualTo(3);
        dp.put(k, toChosen(true).withConsumed(3, 0)); // it read all three
        long toChosen = counter(DatapathCounter.TO_CHOSEN);
        r = run(Datapath.UPLINK_INGRESS, in);
        assertThat(get32(r.packet(), ETH + 16)).as("translated now").isEqualTo(CHOSEN);
        assertThat(counter(DatapathCounter.TO_CHOSEN)).isEqualTo(toChosen + 1);
        assertThat(dp.progress(k).orElseThrow().slowIn()).isEqualTo(3);
    }

    @Test
    void theCountsWrapAround() throws SysException {
        FlowKey k = new FlowKey(CLIENT, NODE, 40016, SERVICE);
        dp.put(k, Flow.local(0xffffffff, 0, 0));
        dp.putProgress(k, new Progress(0xfffffffe, 0, 0, 0, 0, 0));
        byte[] in = Segment.tcp(CLIENT, 40016, NODE, SERVICE).seq(5).ack(6).build();
        assertThat(run(Datapath.UPLINK_INGRESS, in).retval())
                .as("user space is ahead: caught up")
                .isEqualTo(TC_ACT_OK);
        dp.putProgress(k, new Progress(1, 0, 0, 0, 0, 0)); // sent up past the wrap, not all read
        assertThat(run(Datapath.UPLINK_INGRESS, in).retval()).isEqualTo(TC_ACT_REDIRECT);
        assertThat(dp.progress(k).orElseThrow().slowIn()).isEqualTo(2);
    }

    @Test
    void aServiceConnectionIsCountedFromItsSynWithoutAFlow() throws SysException {
        FlowKey k = new FlowKey(CLIENT, NODE, 40017, SERVICE);
        byte[] syn =
                Segment.tcp(CLIENT, 40017, NODE, SERVICE).seq(1000).flags(SYN).build();
        assertThat(run(Datapath.UPLINK_INGRESS, syn).retval()).isEqualTo(TC_ACT_REDIRECT);
        assertThat(dp.get(k)).as("user space wrote nothing").isEmpty();
        assertThat(dp.progress(k).orElseThrow().slowIn()).isEqualTo(1);
        run(Datapath.UPLINK_INGRESS, syn); // retransmitted: the same connection
        byte[] synAck = Segment.tcp(NODE, SERVICE, CLIENT, 40017)
                .seq(7)
                .ack(1001)
                .flags(SYN | ACK)
                .build();
        run(Datapath.UPLINK_EGRESS, synAck);
        run(
                Datapath.UPLINK_INGRESS,
                Segment.tcp(CLIENT, 40017, NODE, SERVICE).seq(1001).ack(8).build());
        Progress p = dp.progress(k).orElseThrow();
        assertThat(p.slowIn()).isEqualTo(3);
        assertThat(p.slowOut()).isEqualTo(1);
        // a new connection on the same ports (another initial sequence number) starts afresh
        run(
                Datapath.UPLINK_INGRESS,
                Segment.tcp(CLIENT, 40017, NODE, SERVICE).seq(5000).flags(SYN).build());
        p = dp.progress(k).orElseThrow();
        assertThat(p.slowIn()).isEqualTo(1);
        assertThat(p.slowOut()).isZero();
        // a packet of no connection the programs know of goes up uncounted
        FlowKey other = new FlowKey(CLIENT, NODE, 40018, SERVICE);
        run(
                Datapath.UPLINK_INGRESS,
                Segment.tcp(CLIENT, 40018, NODE, SERVICE).seq(1).ack(2).build());
        assertThat(dp.progress(other)).isEmpty();
    }

    // ---- new connections decided in the kernel (CONFIG_F_LOCAL_DECISION) ----------------------

    /** {@code HELD_ACK_TIMEOUT_MS} in datapath.h: Btcp.Config's default request timeout. */
    static final long HELD_ACK_TIMEOUT_MILLIS = 5_000;

    /** Client port {@code port}'s handshake through the programs, up to the held ACK; returns SYN, SYN/ACK. */
    static byte[][] handshake(int port) throws SysException {
        byte[] syn = Segment.tcp(CLIENT, port, NODE, SERVICE)
                .seq(1000)
                .flags(SYN)
                .options(new Segment.OptionWriter()
                        .mss(1460)
                        .sackPermitted()
                        .timestamps(77, 0)
                        .nop()
                        .windowScale(7))
                .build();
        long handshakes = counter(DatapathCounter.HANDSHAKES);
        assertThat(run(Datapath.UPLINK_INGRESS, syn).retval())
                .as("the SYN passes")
                .isEqualTo(TC_ACT_OK);
        assertThat(counter(DatapathCounter.HANDSHAKES)).isEqualTo(handshakes + 1);
        byte[] synAck = Segment.tcp(NODE, SERVICE, CLIENT, port)
                .seq(5000)
                .ack(1001)
                .flags(SYN | ACK)
                .options(new Segment.OptionWriter()
                        .mss(1460)
                        .sackPermitted()
                        .timestamps(9, 77)
                        .nop()
                        .windowScale(9))
                .build();
        assertThat(run(Datapath.UPLINK_EGRESS, synAck).retval())
                .as("the SYN/ACK passes")
                .isEqualTo(TC_ACT_OK);
        long acks = counter(DatapathCounter.HANDSHAKE_ACKS);
        byte[] ack = Segment.tcp(CLIENT, port, NODE, SERVICE)
                .seq(1001)
                .ack(5001)
                .linuxOptions(78, 9)
                .build();
        assertThat(run(Datapath.UPLINK_INGRESS, ack).retval())
                .as("the bare ACK is held")
                .isEqualTo(TC_ACT_SHOT);
        assertThat(counter(DatapathCounter.HANDSHAKE_ACKS)).isEqualTo(acks + 1);
        return new byte[][] {syn, synAck};
    }

    static byte[] request(int port, String head) {
        return Segment.tcp(CLIENT, port, NODE, SERVICE)
                .seq(1001)
                .ack(5001)
                .flags(ACK | PSH)
                .linuxOptions(79, 9)
                .payload(head)
                .build();
    }

    @Test
    void aClientSilentPastTheRequestTimeoutGetsItsConnectionFromTheKernel() throws Exception {
        settings(false, true);
        handshake(40110); // its first ACK held
        byte[] ack = Segment.tcp(CLIENT, 40110, NODE, SERVICE)
                .seq(1001)
                .ack(5001)
                .linuxOptions(80, 9)
                .build();
        assertThat(run(Datapath.UPLINK_INGRESS, ack).retval())
                .as("an ACK again, at once")
                .isEqualTo(TC_ACT_SHOT);
        long decided = counter(DatapathCounter.DECIDED_LOCAL);
        long silent = counter(DatapathCounter.SILENT_RELEASED);
        Thread.sleep(HELD_ACK_TIMEOUT_MILLIS + 200); // the engine's request timeout, in the programs' clock
        // the client's ACK of the kernel's retransmitted SYN/ACK: the kernel's half-open entry lives
        assertThat(run(Datapath.UPLINK_INGRESS, ack).retval())
                .as("an ACK after the timeout")
                .isEqualTo(TC_ACT_OK);
        assertThat(counter(DatapathCounter.SILENT_RELEASED)).isEqualTo(silent + 1);
        assertThat(counter(DatapathCounter.DECIDED_LOCAL)).isEqualTo(decided + 1);
        // and its request, when it comes, passes as on a local connection, whatever its path
        assertThat(run(Datapath.UPLINK_INGRESS, request(40110, "GET /elsewhere HTTP/1.1\r\n"))
                        .retval())
                .isEqualTo(TC_ACT_OK);
    }

    @Test
    void aRequestForALocalPathIsServedInTheKernelToItsEnd() throws SysException {
        settings(false, true);
        dp.removeLocalPath("/n1/a.bin"); // its count starts at 0
        assertThat(dp.putLocalPath("/n1/a.bin")).isZero();
        handshake(40100);
        long decided = counter(DatapathCounter.DECIDED_LOCAL);
        byte[] req = request(40100, "GET /n1/a.bin HTTP/1.1\r\nHost: n1\r\n\r\n");
        Run r = run(Datapath.UPLINK_INGRESS, req);
        assertThat(r.retval()).isEqualTo(TC_ACT_OK);
        assertThat(r.packet()).as("untouched").isEqualTo(req);
        assertThat(counter(DatapathCounter.DECIDED_LOCAL)).isEqualTo(decided + 1);
        assertThat(dp.localPathHits("/n1/a.bin")).isEqualTo(1);
        assertThat(dp.progress(new FlowKey(CLIENT, NODE, 40100, SERVICE))
                        .orElseThrow()
                        .slowIn())
                .as("nothing went up")
                .isZero();
        // the rest of the connection passes both ways; its first FIN is counted as its end, once
        byte[] data = Segment.tcp(NODE, SERVICE, CLIENT, 40100)
                .seq(5001)
                .ack(1040)
                .linuxOptions(10, 79)
                .build();
        assertThat(run(Datapath.UPLINK_EGRESS, data).retval()).isEqualTo(TC_ACT_OK);
        long ended = counter(DatapathCounter.DECIDED_LOCAL_ENDED);
        byte[] fin = Segment.tcp(CLIENT, 40100, NODE, SERVICE)
                .seq(1040)
                .ack(6000)
                .flags(FIN | ACK)
                .build();
        assertThat(run(Datapath.UPLINK_INGRESS, fin).retval()).isEqualTo(TC_ACT_OK);
        byte[] finBack = Segment.tcp(NODE, SERVICE, CLIENT, 40100)
                .seq(6000)
                .ack(1041)
                .flags(FIN | ACK)
                .build();
        assertThat(run(Datapath.UPLINK_EGRESS, finBack).retval()).isEqualTo(TC_ACT_OK);
        assertThat(counter(DatapathCounter.DECIDED_LOCAL_ENDED)).isEqualTo(ended + 1);
        // a query does not change the path; another method neither
        handshake(40101);
        assertThat(run(Datapath.UPLINK_INGRESS, request(40101, "HEAD /n1/a.bin?x=1 HTTP/1.1\r\n"))
                        .retval())
                .isEqualTo(TC_ACT_OK);
        assertThat(dp.localPathHits("/n1/a.bin")).isEqualTo(2);
    }

    @Test
    void anyOtherRequestGoesUpAndItsHandshakeWithIt() throws SysException {
        settings(false, true);
        dp.removeLocalPath("/n1/a.bin"); // its count starts at 0
        assertThat(dp.putLocalPath("/n1/a.bin")).isZero();
        String[] others = {
            "GET /n2/b.bin HTTP/1.1\r\n", // not served here
            "GET /n1/%61.bin HTTP/1.1\r\n", // the parser decodes it: the programs do not
            "GET /n1//a.bin HTTP/1.1\r\n",
            "GET /n1/./a.bin HTTP/1.1\r\n",
            "GET http://n1/n1/a.bin HTTP/1.1\r\n",
            "get /n1/a.bin HTTP/1.1\r\n",
            "GET /n1/a.bin", // the line goes on in the next segment
            "GET /n1/a.bi",
            " GET /n1/a.bin HTTP/1.1\r\n",
            "\u0000\u0001\u0002garbage",
        };
        int port = 40200;
        for (String head : others) {
            byte[][] hs = handshake(port);
            long up = counter(DatapathCounter.REQUESTS_UP);
            assertThat(run(Datapath.UPLINK_INGRESS, request(port, head)).retval())
                    .as(head)
                    .isEqualTo(TC_ACT_REDIRECT);
            assertThat(counter(DatapathCounter.REQUESTS_UP)).isEqualTo(up + 1);
            FlowKey k = new FlowKey(CLIENT, NODE, port, SERVICE);
            assertThat(dp.progress(k).orElseThrow().slowIn())
                    .as("counted for the hand-down")
                    .isEqualTo(1);
            byte[] syn = new byte[Datapath.HANDSHAKE_PACKET_MAX];
            byte[] synAck = new byte[Datapath.HANDSHAKE_PACKET_MAX];
            int lengths = dp.handshake(k, syn, synAck);
            assertThat(lengths).isPositive();
            assertThat(Arrays.copyOf(syn, lengths >>> 8)).isEqualTo(Arrays.copyOfRange(hs[0], ETH, hs[0].length));
            assertThat(Arrays.copyOf(synAck, lengths & 0xff)).isEqualTo(Arrays.copyOfRange(hs[1], ETH, hs[1].length));
            // from now on user space has it: everything goes up, the kernel's packets too
            byte[] more =
                    Segment.tcp(CLIENT, port, NODE, SERVICE).seq(1001).ack(5001).build();
            assertThat(run(Datapath.UPLINK_INGRESS, more).retval()).isEqualTo(TC_ACT_REDIRECT);
            byte[] back = Segment.tcp(NODE, SERVICE, CLIENT, port)
                    .seq(5000)
                    .ack(1001)
                    .flags(SYN | ACK)
                    .build();
            assertThat(run(Datapath.UPLINK_EGRESS, back).retval()).isEqualTo(TC_ACT_REDIRECT);
            port++;
        }
        assertThat(dp.localPathHits("/n1/a.bin")).isZero();
    }

    @Test
    void aHandshakeGoesUpWithoutTheLocalDecisionOrWhileFaultsAreOn() throws SysException {
        byte[] syn =
                Segment.tcp(CLIENT, 40300, NODE, SERVICE).seq(1000).flags(SYN).build();
        assertThat(run(Datapath.UPLINK_INGRESS, syn).retval()).as("off").isEqualTo(TC_ACT_REDIRECT);
        settings(true, true);
        assertThat(run(Datapath.UPLINK_INGRESS, syn).retval()).as("faults on").isEqualTo(TC_ACT_REDIRECT);
        settings(false, true);
        byte[] fastOpen = Segment.tcp(CLIENT, 40301, NODE, SERVICE)
                .seq(1000)
                .flags(SYN)
                .payload("GET / HTTP/1.1\r\n")
                .build();
        assertThat(run(Datapath.UPLINK_INGRESS, fastOpen).retval())
                .as("a SYN with data")
                .isEqualTo(TC_ACT_REDIRECT);
        // what the engine drops and counts: options that do not parse, a wrong checksum
        Segment badOptions = Segment.tcp(CLIENT, 40303, NODE, SERVICE).seq(1000).flags(SYN);
        badOptions.options = new byte[] {8, 3, 0, 1}; // timestamps of length 3
        assertThat(run(Datapath.UPLINK_INGRESS, badOptions.build()).retval())
                .as("bad options")
                .isEqualTo(TC_ACT_REDIRECT);
        Segment badSum = Segment.tcp(CLIENT, 40304, NODE, SERVICE).seq(1000).flags(SYN);
        badSum.checksumError = 1;
        assertThat(run(Datapath.UPLINK_INGRESS, badSum.build()).retval())
                .as("bad checksum")
                .isEqualTo(TC_ACT_REDIRECT);
        // the SYN that went up with the decision off, again: user space has that handshake
        assertThat(run(Datapath.UPLINK_INGRESS, syn).retval())
                .as("user space's SYN again")
                .isEqualTo(TC_ACT_REDIRECT);
        byte[] another =
                Segment.tcp(CLIENT, 40300, NODE, SERVICE).seq(5000).flags(SYN).build();
        assertThat(run(Datapath.UPLINK_INGRESS, another).retval())
                .as("a new SYN on its ports")
                .isEqualTo(TC_ACT_OK);
        // a new SYN on the ports of a connection decided here starts afresh
        assertThat(dp.putLocalPath("/x")).isZero();
        handshake(40302);
        assertThat(run(Datapath.UPLINK_INGRESS, request(40302, "GET /x HTTP/1.0\r\n"))
                        .retval())
                .isEqualTo(TC_ACT_OK);
        handshake(40302);
    }

    /**
     * A client reuses its port while the entry lingers on a handoff over on it (FLOW_F_LINGER): the
     * new SYN's handshake is taken as on ports with no flow, and the lingering flow goes; a SYN
     * again with the old ISN, or on a flow still forwarding, is the engine's.
     */
    @Test
    void aNewSynOnALingeringHandoffsPortsIsTakenAndItsFlowDropped() throws SysException {
        settings(false, true);
        int port = 40400;
        FlowKey k = new FlowKey(CLIENT, NODE, port, SERVICE);
        byte[] oldSyn =
                Segment.tcp(CLIENT, port, NODE, SERVICE).seq(700).flags(SYN).build();
        dp.put(k, toChosen(true));
        assertThat(run(Datapath.UPLINK_INGRESS, oldSyn).retval())
                .as("the SYN of a flow's connection")
                .isEqualTo(TC_ACT_REDIRECT); // its progress starts with this ISN
        assertThat(run(
                                Datapath.UPLINK_INGRESS,
                                Segment.tcp(CLIENT, port, NODE, SERVICE)
                                        .seq(9000)
                                        .flags(SYN)
                                        .build())
                        .retval())
                .as("a new SYN while it still forwards")
                .isEqualTo(TC_ACT_REDIRECT);
        dp.put(k, toChosen(true).lingering());
        assertThat(run(
                                Datapath.UPLINK_INGRESS,
                                Segment.tcp(CLIENT, port, NODE, SERVICE)
                                        .seq(9000)
                                        .flags(SYN)
                                        .build())
                        .retval())
                .as("that SYN again")
                .isEqualTo(TC_ACT_REDIRECT);
        assertThat(dp.get(k)).isPresent();
        long after = counter(DatapathCounter.AFTER_LINGER);
        long handshakes = counter(DatapathCounter.HANDSHAKES);
        byte[] syn = Segment.tcp(CLIENT, port, NODE, SERVICE)
                .seq(1000)
                .flags(SYN)
                .options(new Segment.OptionWriter()
                        .mss(1460)
                        .sackPermitted()
                        .timestamps(77, 0)
                        .nop()
                        .windowScale(7))
                .build();
        assertThat(run(Datapath.UPLINK_INGRESS, syn).retval())
                .as("a new connection's SYN passes")
                .isEqualTo(TC_ACT_OK);
        assertThat(dp.get(k)).as("the lingering flow is gone").isEmpty();
        assertThat(counter(DatapathCounter.AFTER_LINGER)).isEqualTo(after + 1);
        assertThat(counter(DatapathCounter.HANDSHAKES)).isEqualTo(handshakes + 1);
        assertThat(dp.progress(k).orElseThrow().slowIn()).as("counted afresh").isZero();
        // from here on it is any handshake the programs took: SYN/ACK kept, bare ACK held, request up
        byte[] synAck = Segment.tcp(NODE, SERVICE, CLIENT, port)
                .seq(5000)
                .ack(1001)
                .flags(SYN | ACK)
                .options(new Segment.OptionWriter()
                        .mss(1460)
                        .sackPermitted()
                        .timestamps(9, 77)
                        .nop()
                        .windowScale(9))
                .build();
        assertThat(run(Datapath.UPLINK_EGRESS, synAck).retval()).isEqualTo(TC_ACT_OK);
        byte[] ack = Segment.tcp(CLIENT, port, NODE, SERVICE)
                .seq(1001)
                .ack(5001)
                .linuxOptions(78, 9)
                .build();
        assertThat(run(Datapath.UPLINK_INGRESS, ack).retval()).isEqualTo(TC_ACT_SHOT);
        assertThat(run(Datapath.UPLINK_INGRESS, request(port, "GET /elsewhere HTTP/1.1\r\n"))
                        .retval())
                .isEqualTo(TC_ACT_REDIRECT);
        byte[] kept = new byte[Datapath.HANDSHAKE_PACKET_MAX];
        int lengths = dp.handshake(k, kept, new byte[Datapath.HANDSHAKE_PACKET_MAX]);
        assertThat(Arrays.copyOf(kept, lengths >>> 8)).isEqualTo(Arrays.copyOfRange(syn, ETH, syn.length));
        // without the local decision (or with faults on) nothing of this happens
        settings(true, true);
        FlowKey k2 = new FlowKey(CLIENT, NODE, port + 1, SERVICE);
        dp.put(k2, toChosen(true).lingering());
        run(
                Datapath.UPLINK_INGRESS,
                Segment.tcp(CLIENT, port + 1, NODE, SERVICE).seq(700).flags(SYN).build());
        assertThat(run(
                                Datapath.UPLINK_INGRESS,
                                Segment.tcp(CLIENT, port + 1, NODE, SERVICE)
                                        .seq(800)
                                        .flags(SYN)
                                        .build())
                        .retval())
                .isEqualTo(TC_ACT_REDIRECT);
        assertThat(dp.get(k2)).isPresent();
    }

    // ---- helpers ------------------------------------------------------------------------------

    /** A segment with random numbers, payload and a random legal option layout. */
    static Segment randomSegment(Random rnd, Segment s) {
        s.seq = rnd.nextInt();
        s.ack = rnd.nextInt();
        int payload = switch (rnd.nextInt(4)) {
            case 0 -> 0;
            case 1 -> 1 + rnd.nextInt(7);
            case 2 -> rnd.nextInt(1460);
            default -> rnd.nextInt(3000); // a test run takes at most a page
        };
        s.payload(payload, rnd);
        if (rnd.nextInt(3) == 0) {
            int blocks = rnd.nextInt(4);
            int[] edges = new int[2 * blocks];
            for (int i = 0; i < edges.length; i++) edges[i] = rnd.nextInt();
            return s.linuxOptions(rnd.nextInt(), rnd.nextInt(), edges);
        }
        Segment.OptionWriter w = new Segment.OptionWriter();
        boolean ts = rnd.nextInt(4) > 0;
        int blocks = rnd.nextInt(5);
        boolean tsFirst = rnd.nextBoolean();
        for (int step = 0; step < 4; step++) {
            int nops = rnd.nextInt(3);
            for (int n = 0; n < nops && w.size() < 36; n++) w.nop();
            switch (step) {
                case 0 -> {
                    if (rnd.nextInt(4) == 0 && w.size() + 4 <= 40) w.mss(1 + rnd.nextInt(9000));
                    else if (rnd.nextInt(4) == 0 && w.size() + 3 <= 40) w.windowScale(rnd.nextInt(15));
                    else if (rnd.nextInt(4) == 0 && w.size() + 2 <= 40) w.sackPermitted();
                }
                case 1, 2 -> {
                    boolean tsNow = (step == 1) == tsFirst;
                    if (tsNow && ts && w.size() + 10 <= 40) {
                        w.timestamps(rnd.nextInt(), rnd.nextInt());
                    } else if (!tsNow) {
                        while (blocks > 0 && w.size() + 2 + 8 * blocks > 40) blocks--;
                        if (blocks > 0) {
                            int[] edges = new int[2 * blocks];
                            for (int i = 0; i < edges.length; i++) edges[i] = rnd.nextInt();
                            w.sack(edges);
                        }
                    }
                }
                default -> {
                    if (rnd.nextInt(4) == 0 && w.size() + 4 <= 40) w.unknown(2 + rnd.nextInt(3));
                }
            }
        }
        if (rnd.nextInt(3) == 0 && w.size() < 40) w.eol();
        return s.options(w);
    }

    /** {@code actual} equals {@code expect} everywhere but at the two checksum fields. */
    static void assertSameBut(byte[] expect, byte[] actual, String what, int ipChecksum, int tcpChecksum) {
        assertThat(actual.length).as(what + ": length").isEqualTo(expect.length);
        for (int i = 0; i < expect.length; i++) {
            if (i == ipChecksum || i == ipChecksum + 1 || i == tcpChecksum || i == tcpChecksum + 1) continue;
            if (expect[i] != actual[i]) {
                throw new AssertionError(
                        what + ": byte " + i + " is " + (actual[i] & 0xff) + ", expected " + (expect[i] & 0xff));
            }
        }
    }

    static void assertChecksumsCarried(Segment s, byte[] after) {
        assertChecksumsCarried(s, s.build(), after, "segment");
    }

    /**
     * The IPv4 header checksum is right, and the TCP checksum is exactly as right (or as wrong) after
     * as before: its residue (the sum over pseudo-header and segment, RFC 1071) is unchanged.
     */
    static void assertChecksumsCarried(Segment s, byte[] before, byte[] after, String what) {
        int ipHl = 20 + s.ipOptionWords * 4;
        assertThat(get16(after, ETH + 10))
                .as(what + ": IPv4 header checksum")
                .isEqualTo(Segment.Checksums.ipv4(after, ETH, ipHl));
        assertThat(residue(after, ipHl)).as(what + ": TCP checksum residue").isEqualTo(residue(before, ipHl));
    }

    /** One's complement sum of the pseudo-header and the whole segment, checksum included; 0xffff if right. */
    static int residue(byte[] b, int ipHl) {
        int t = ETH + ipHl;
        int len = b.length - t;
        int computed = Segment.Checksums.tcp(b, t, len, get32(b, ETH + 12), get32(b, ETH + 16));
        long sum = (long) (~computed & 0xffff) + get16(b, t + 16);
        while ((sum >>> 16) != 0) sum = (sum & 0xffff) + (sum >>> 16);
        return (int) sum;
    }

    static byte[] udp() {
        Segment s = Segment.tcp(CLIENT, 53, NODE, SERVICE);
        s.protocol = 17;
        return s.build();
    }

    static byte[] arp() {
        byte[] b = new byte[42];
        Segment.put16(b, 12, 0x0806);
        return b;
    }
}
