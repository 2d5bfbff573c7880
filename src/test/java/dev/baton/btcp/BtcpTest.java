package dev.baton.btcp;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import com.sun.management.ThreadMXBean;
import dev.baton.wire.Bytes;
import dev.baton.wire.TcpHeader;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Drives the BTCP state machine of an entry node and a chosen node in memory with hand-made packets
 * standing in for the client and both kernels, and checks every packet each side emits.
 */
class BtcpTest {
    static final int CLIENT = Bytes.parseIpv4("10.200.0.2");
    static final int A = Bytes.parseIpv4("10.200.1.1");
    static final int B = Bytes.parseIpv4("10.200.1.2");
    static final int CPORT = 40000;
    static final int CLIENT_ISN = 42;
    static final int ISN_A = 1000;
    static final int ISN_B = 0x9000_0000;
    static final int TS_A = 5000;
    static final int TS_B = 777_777;
    /** n1 (the entry, index 1) as n2's kernel sees it, and the port n2 takes its forwarded packets on. */
    static final int SHADOW_A = Bytes.parseIpv4("169.254.77.1");

    static final int FORWARD_PORT = 61001;
    static final Peer N1 = new Peer("n1", A, 1);
    static final Peer N2 = new Peer("n2", B, 2);
    static final String REMOTE_REQUEST = "GET /video/big.bin HTTP/1.1\r\nHost: x\r\n\r\n";
    static final String LOCAL_REQUEST = "GET /index.html HTTP/1.1\r\nHost: x\r\n\r\n";

    /** One node's BTCP with everything it emits captured. */
    static final class Side implements Btcp.Output, Btcp.Control {
        final List<byte[]> kernel = new ArrayList<>();
        final List<byte[]> wire = new ArrayList<>();
        final List<Object[]> control = new ArrayList<>();
        final Btcp btcp;
        final MemorySegment buf = Arena.ofAuto().allocate(65536);
        long now = 1_000_000;

        Side(int address, Peer target) {
            this(address, target, false);
        }

        /** With {@code eager}, the entry commits with its handoff request (the nodes' default). */
        Side(int address, Peer target, boolean eager) {
            var cfg = config(address, new Btcp.Limits(1024, 16, 32 * 1024, 8192), eager);
            btcp = new Btcp(cfg, this, this, head -> head.path().startsWith("/video/") ? target : null, now);
        }

        /** Off while measuring allocation: then the outputs keep nothing. */
        boolean capture = true;

        long emitted;

        @Override
        public void toKernel(MemorySegment p, int len) {
            emitted++;
            if (capture) kernel.add(p.asSlice(0, len).toArray(ValueLayout.JAVA_BYTE));
        }

        @Override
        public void toWire(MemorySegment p, int len) {
            emitted++;
            if (capture) wire.add(p.asSlice(0, len).toArray(ValueLayout.JAVA_BYTE));
        }

        boolean linkUp = true;

        @Override
        public boolean handoffRequest(String peer, long id, HandshakeInit e, byte[] syn, byte[] ack) {
            control.add(new Object[] {"request", peer, id, e, syn, ack});
            return linkUp;
        }

        @Override
        public boolean commit(String peer, long id, byte[] request) {
            control.add(new Object[] {"commit", peer, id, request});
            return linkUp;
        }

        @Override
        public void handoffAck(String peer, long id, HandshakeInit c, int port) {
            control.add(new Object[] {"ack", peer, id, c, port});
        }

        @Override
        public void handoffRefuse(String peer, long id, Refusal reason) {
            control.add(new Object[] {"refuse", peer, id, reason});
        }

        @Override
        public void terminate(String peer, long id) {
            control.add(new Object[] {"terminate", peer, id});
        }

        @Override
        public void abort(String peer, long id) {
            control.add(new Object[] {"abort", peer, id});
        }

        void fromWire(byte[] p) {
            MemorySegment.copy(p, 0, buf, ValueLayout.JAVA_BYTE, 0, p.length);
            btcp.fromWire(buf, p.length);
        }

        void fromKernel(byte[] p) {
            MemorySegment.copy(p, 0, buf, ValueLayout.JAVA_BYTE, 0, p.length);
            btcp.fromKernel(buf, p.length);
        }

        void advance(long millis) {
            now += millis;
            btcp.tick(now);
        }

        TestPackets.View lastKernel() {
            return TestPackets.View.of(kernel.getLast());
        }

        TestPackets.View lastWire() {
            return TestPackets.View.of(wire.getLast());
        }
    }

    Side entry;
    Side chosen;

    @BeforeEach
    void setUp() {
        entry = new Side(A, N2);
        chosen = new Side(B, null);
    }

    static TestPackets fromClient(int dst) {
        return TestPackets.tcp(CLIENT, CPORT, dst, 80);
    }

    static TestPackets fromServer(int src) {
        return TestPackets.tcp(src, 80, CLIENT, CPORT);
    }

    byte[] clientSyn() {
        return fromClient(A)
                .flags(TcpHeader.SYN)
                .seq(CLIENT_ISN)
                .mss(1460)
                .sackOk()
                .ts(100, 0)
                .wscale(7)
                .build();
    }

    /** Client SYN, entry kernel SYN/ACK, client ACK: the ACK must be held. */
    void handshakeAtEntry() {
        entry.fromWire(clientSyn());
        assertThat(entry.kernel).hasSize(1);
        entry.fromKernel(fromServer(A)
                .flags(TcpHeader.SYN)
                .seq(ISN_A)
                .ack(CLIENT_ISN + 1)
                .mss(1460)
                .sackOk()
                .ts(TS_A, 100)
                .wscale(7)
                .build());
        assertThat(entry.wire).hasSize(1);
        entry.fromWire(
                fromClient(A).seq(CLIENT_ISN + 1).ack(ISN_A + 1).ts(101, TS_A).build());
        assertThat(entry.kernel).as("the handshake ACK is held").hasSize(1);
    }

    /** The handoff request the entry sent: {"request", peer, connId, init, syn, ack}. */
    Object[] handoffRequest() {
        Object[] req = entry.control.getFirst();
        assertThat(req[0]).isEqualTo("request");
        return req;
    }

    /** Delivers the entry's handoff request to the chosen node. */
    void deliverRequest(Object[] req) {
        chosen.btcp.onHandoffRequest(N1, (long) req[2], (HandshakeInit) req[3], (byte[]) req[4], (byte[]) req[5]);
    }

    /** Delivers the entry's commit (its last control message) to the chosen node. */
    void deliverCommit() {
        Object[] commit = entry.control.getLast();
        assertThat(commit[0]).isEqualTo("commit");
        chosen.btcp.onCommit(N1, (long) commit[2], (byte[]) commit[3]);
    }

    byte[] chosenSynAck() {
        return fromServer(SHADOW_A)
                .flags(TcpHeader.SYN)
                .seq(ISN_B)
                .ack(CLIENT_ISN + 1)
                .mss(1460)
                .sackOk()
                .ts(TS_B, 100)
                .wscale(7)
                .build();
    }

    /** The whole handoff up to the entry forwarding; returns the connection id. */
    long handOff() {
        handshakeAtEntry();
        sendRequest(REMOTE_REQUEST);
        Object[] req = handoffRequest();
        deliverRequest(req);
        chosen.fromKernel(chosenSynAck());
        entry.btcp.onHandoffAck(
                "n2", (long) req[2], (HandshakeInit) chosen.control.getFirst()[3], FORWARD_PORT);
        deliverCommit();
        return (long) req[2];
    }

    void sendRequest(String request) {
        entry.fromWire(fromClient(A)
                .flags(TcpHeader.PSH)
                .seq(CLIENT_ISN + 1)
                .ack(ISN_A + 1)
                .ts(102, TS_A)
                .payload(request)
                .build());
    }

    @Test
    void releasesHeldHandshakeToKernelWhenPathIsHeldLocally() {
        handshakeAtEntry();
        sendRequest(LOCAL_REQUEST);
        assertThat(entry.kernel).hasSize(3);
        assertThat(TestPackets.View.of(entry.kernel.get(1)).tcp().payloadLength())
                .isZero();
        assertThat(entry.lastKernel().payload()).isEqualTo(LOCAL_REQUEST);
        assertThat(entry.lastKernel().checksumsValid()).isTrue();
        assertThat(entry.control).isEmpty();
        assertThat(entry.btcp.counters().get(Counter.SERVED_LOCALLY)).isEqualTo(1);
        assertThat(entry.btcp.activeConnections()).isEqualTo(1);
    }

    @Test
    void handsOffAndTranslatesEveryFieldBothWays() {
        handshakeAtEntry();
        sendRequest(REMOTE_REQUEST);
        assertThat(entry.kernel).as("nothing released to the entry kernel").hasSize(1);
        assertThat(entry.control).hasSize(1);
        Object[] req = entry.control.getFirst();
        assertThat(req[0]).isEqualTo("request");
        assertThat(req[1]).isEqualTo("n2");
        long connId = (long) req[2];
        HandshakeInit entryInit = (HandshakeInit) req[3];
        assertThat(entryInit.isn()).isEqualTo(ISN_A);
        assertThat(entryInit.tsVal()).isEqualTo(TS_A);
        assertThat(entryInit.windowScale()).isEqualTo(7);

        // The chosen node injects the SYN with its own address as destination (claim 3).
        chosen.btcp.onHandoffRequest(N1, connId, entryInit, (byte[]) req[4], (byte[]) req[5]);
        var syn = chosen.lastKernel();
        assertThat(syn.ip().destinationAddress())
                .as("n1's shadow address at n2")
                .isEqualTo(SHADOW_A);
        assertThat(syn.tcp().syn()).isTrue();
        assertThat(syn.tcp().sequenceNumber()).isEqualTo(CLIENT_ISN);
        assertThat(syn.checksumsValid()).isTrue();

        // Its kernel's SYN/ACK never leaves; the ACK is injected in its sequence space.
        chosen.fromKernel(chosenSynAck());
        assertThat(chosen.wire).isEmpty();
        assertThat(chosen.kernel)
                .as("SYN and ACK; no request before the commit")
                .hasSize(2);
        var ack = TestPackets.View.of(chosen.kernel.get(1));
        assertThat(ack.ip().destinationAddress()).isEqualTo(SHADOW_A);
        assertThat(ack.tcp().acknowledgmentNumber()).isEqualTo(ISN_B + 1);
        assertThat(ack.tcp().tsEcr()).isEqualTo(TS_B);
        assertThat(ack.tcp().flags()).isEqualTo(TcpHeader.ACK);
        assertThat(ack.checksumsValid()).isTrue();
        assertThat(chosen.control.getFirst()[0]).isEqualTo("ack");
        HandshakeInit chosenInit = (HandshakeInit) chosen.control.getFirst()[3];

        // Before the commit our kernel's packets never reach the client: the entry may still fall back.
        chosen.fromKernel(fromServer(SHADOW_A)
                .seq(ISN_B + 1)
                .ack(CLIENT_ISN + 1)
                .ts(TS_B + 1, 101)
                .build());
        assertThat(chosen.wire).isEmpty();
        assertThat(chosen.btcp.counters().get(Drop.BEFORE_COMMIT)).isEqualTo(1);

        // The entry resets its SYN-RECV entry and commits, with the request (claims 7, 17) ...
        entry.btcp.onHandoffAck("n2", connId, chosenInit, FORWARD_PORT);
        assertThat(entry.control.getLast()[0]).isEqualTo("commit");
        assertThat(new String((byte[]) entry.control.getLast()[3], UTF_8)).isEqualTo(REMOTE_REQUEST);
        deliverCommit();
        // ... which the chosen node injects after the ACK, in its own sequence space.
        var injected = chosen.lastKernel();
        assertThat(injected.payload()).isEqualTo(REMOTE_REQUEST);
        assertThat(injected.tcp().sequenceNumber()).isEqualTo(CLIENT_ISN + 1);
        assertThat(injected.tcp().acknowledgmentNumber()).isEqualTo(ISN_B + 1);
        assertThat(injected.tcp().tsEcr()).isEqualTo(TS_B);
        assertThat(injected.ip().destinationAddress()).isEqualTo(SHADOW_A);
        assertThat(injected.checksumsValid()).isTrue();
        var rst = entry.kernel.getLast();
        assertThat(TestPackets.View.of(rst).tcp().rst()).isTrue();
        var rstView = TestPackets.View.of(rst);
        assertThat(rstView.tcp().sequenceNumber()).isEqualTo(CLIENT_ISN + 1);
        assertThat(rstView.ip().sourceAddress()).isEqualTo(CLIENT);
        assertThat(rstView.checksumsValid()).isTrue();
        assertThat(entry.wire).hasSize(1); // only the SYN/ACK to the client

        // A later client segment is forwarded with destination, ack and TSecr translated.
        int reqLen = REMOTE_REQUEST.length();
        entry.fromWire(fromClient(A)
                .flags(TcpHeader.PSH)
                .seq(CLIENT_ISN + 1 + reqLen)
                .ack(ISN_A + 1)
                .ts(102, TS_A)
                .payload("more")
                .build());
        var fwd = entry.lastWire();
        assertThat(fwd.ip().destinationAddress()).isEqualTo(B);
        assertThat(fwd.tcp().destinationPort()).isEqualTo(FORWARD_PORT);
        assertThat(fwd.tcp().acknowledgmentNumber()).isEqualTo(ISN_B + 1);
        assertThat(fwd.tcp().tsEcr()).isEqualTo(TS_B);
        assertThat(fwd.payload()).isEqualTo("more");
        assertThat(fwd.checksumsValid()).isTrue();
        chosen.fromWire(entry.wire.getLast());
        var up = chosen.lastKernel();
        assertThat(up.payload()).isEqualTo("more");
        assertThat(up.ip().destinationAddress()).isEqualTo(SHADOW_A);
        assertThat(up.tcp().destinationPort()).isEqualTo(80);
        assertThat(up.checksumsValid()).isTrue();
        reqLen += 4;

        // The chosen kernel's response leaves with the entry's address and sequence space (claim 9).
        chosen.fromWire(entry.wire.getLast());
        chosen.fromKernel(fromServer(SHADOW_A)
                .flags(TcpHeader.PSH)
                .seq(ISN_B + 1)
                .ack(CLIENT_ISN + 1 + reqLen)
                .ts(TS_B + 23, 102)
                .payload("HTTP/1.1 200 OK\r\n\r\n")
                .build());
        var resp = chosen.lastWire();
        assertThat(resp.ip().sourceAddress()).isEqualTo(A);
        assertThat(resp.ip().destinationAddress()).isEqualTo(CLIENT);
        assertThat(resp.tcp().sequenceNumber()).isEqualTo(ISN_A + 1);
        assertThat(resp.tcp().tsVal()).isEqualTo(TS_A + 23);
        assertThat(resp.checksumsValid()).isTrue();
        assertThat(chosen.btcp.counters().get(Counter.BYTES_SENT_FOR_OTHERS)).isEqualTo(19);

        // A later client ACK with a SACK block: ack, both SACK edges and TSecr move into B's space.
        entry.fromWire(fromClient(A)
                .seq(CLIENT_ISN + 1 + reqLen)
                .ack(ISN_A + 20)
                .ts(103, TS_A + 23)
                .sack(ISN_A + 100, ISN_A + 200)
                .build());
        var sack = entry.lastWire();
        assertThat(sack.tcp().acknowledgmentNumber()).isEqualTo(ISN_B + 20);
        assertThat(sack.tcp().sackLeft(0)).isEqualTo(ISN_B + 100);
        assertThat(sack.tcp().sackRight(0)).isEqualTo(ISN_B + 200);
        assertThat(sack.tcp().tsEcr()).isEqualTo(TS_B + 23);
        assertThat(sack.checksumsValid()).isTrue();

        // Close: FIN both ways at the chosen node -> termination -> the entry lingers, then frees.
        chosen.fromKernel(fromServer(SHADOW_A)
                .flags(TcpHeader.FIN)
                .seq(ISN_B + 20)
                .ack(CLIENT_ISN + 1 + reqLen)
                .ts(TS_B + 30, 103)
                .build());
        entry.fromWire(fromClient(A)
                .flags(TcpHeader.FIN)
                .seq(CLIENT_ISN + 1 + reqLen)
                .ack(ISN_A + 21)
                .ts(104, TS_A + 30)
                .build());
        chosen.fromWire(entry.wire.getLast());
        assertThat(chosen.control.getLast()[0]).isEqualTo("terminate");
        entry.btcp.onTerminate("n2", connId);
        assertThat(entry.btcp.trackedConnections()).isEqualTo(1);
        entry.advance(11_000);
        assertThat(entry.btcp.trackedConnections()).isZero();
        assertThat(chosen.btcp.trackedConnections()).isEqualTo(1);
        chosen.advance(61_000);
        assertThat(chosen.btcp.trackedConnections()).isZero();
    }

    @Test
    void readsARequestSplitIntoOneByteSegmentsInAnyOrder() {
        handshakeAtEntry();
        byte[] r = REMOTE_REQUEST.getBytes(UTF_8);
        // Send bytes 1..n-1 first, then byte 0: nothing can be decided until the gap is filled.
        for (int i = r.length - 1; i >= 0; i--) {
            entry.fromWire(fromClient(A)
                    .seq(CLIENT_ISN + 1 + i)
                    .ack(ISN_A + 1)
                    .ts(102, TS_A)
                    .payload(new byte[] {r[i]})
                    .build());
            if (i > 0) assertThat(entry.control).isEmpty();
        }
        assertThat(entry.control).hasSize(1);
        assertThat(entry.control.getFirst()[0]).isEqualTo("request");
    }

    @Test
    void acknowledgesAHeadWrittenByteByByteAndHandsItOverWhole() {
        handshakeAtEntry();
        String head = "GET /video/big.bin HTTP/1.1\r\nHost: x\r\nUser-Agent: " + "u".repeat(200) + "\r\n\r\n";
        byte[] r = head.getBytes(UTF_8);
        for (int i = 0; i < r.length; i++) {
            entry.fromWire(fromClient(A)
                    .flags(TcpHeader.PSH)
                    .seq(CLIENT_ISN + 1 + i)
                    .ack(ISN_A + 1)
                    .ts(200 + i, TS_A)
                    .payload(new byte[] {r[i]})
                    .build());
            if (i < r.length - 1) {
                // Each byte is acknowledged at once, so the client's congestion window never fills.
                var ack = entry.lastWire();
                assertThat(ack.ip().sourceAddress()).isEqualTo(A);
                assertThat(ack.tcp().sequenceNumber()).isEqualTo(ISN_A + 1);
                assertThat(ack.tcp().acknowledgmentNumber()).isEqualTo(CLIENT_ISN + 2 + i);
                assertThat(ack.tcp().tsVal()).isEqualTo(TS_A);
                assertThat(ack.tcp().tsEcr()).isEqualTo(200 + i);
                assertThat(ack.tcp().window()).isEqualTo(64240 >> 7);
                assertThat(ack.checksumsValid()).isTrue();
            }
        }
        assertThat(entry.wire).hasSize(1 + r.length - 1);
        assertThat(entry.control).hasSize(1);
        Object[] req = entry.control.getFirst();
        entry.btcp.onHandoffAck("n2", (long) req[2], new HandshakeInit(ISN_B, TS_B, 7, 1460, true, true), FORWARD_PORT);
        assertThat(new String((byte[]) entry.control.getLast()[3], UTF_8))
                .as("the whole head, in the commit")
                .isEqualTo(head);
        assertThat(entry.wire).as("nothing left to forward").hasSize(r.length);
    }

    @Test
    void fallsBackToLocalServiceWhenTheHandoffIsNotAnswered() {
        handshakeAtEntry();
        sendRequest(REMOTE_REQUEST);
        long connId = (long) entry.control.getFirst()[2];
        entry.advance(1_500);
        assertThat(entry.control.getLast()[0]).isEqualTo("abort");
        assertThat(entry.kernel).hasSize(3);
        assertThat(entry.lastKernel().payload()).isEqualTo(REMOTE_REQUEST);
        assertThat(entry.btcp.counters().get(Counter.FALLBACKS)).isEqualTo(1);
        // A late ack is answered with an abort, never acted on.
        entry.btcp.onHandoffAck("n2", connId, new HandshakeInit(ISN_B, TS_B, 7, 1460, true, true), FORWARD_PORT);
        assertThat(entry.control.getLast()[0]).isEqualTo("abort");
        assertThat(entry.kernel).hasSize(3);
    }

    @Test
    void servesLocallyWhenTheChosenNodeRefuses() {
        handshakeAtEntry();
        sendRequest(REMOTE_REQUEST);
        long connId = (long) entry.control.getFirst()[2];
        entry.btcp.onHandoffRefuse("n2", connId, Refusal.TABLE_FULL);
        assertThat(entry.lastKernel().payload()).isEqualTo(REMOTE_REQUEST);
        assertThat(entry.btcp.counters().get(Counter.FALLBACKS)).isEqualTo(1);
    }

    @Test
    void servesUnparseableRequestsLocally() {
        handshakeAtEntry();
        sendRequest("BLAH\r\n\r\n");
        assertThat(entry.lastKernel().payload()).isEqualTo("BLAH\r\n\r\n");
        assertThat(entry.btcp.counters().get(Counter.REQUEST_INVALID)).isEqualTo(1);
    }

    @Test
    void servesSlowRequestsLocallyAfterTheTimeout() {
        handshakeAtEntry();
        sendRequest("GET /video/big.bin HTTP/1.1\r\n");
        entry.advance(4_000);
        assertThat(entry.kernel).hasSize(1);
        entry.advance(2_000);
        assertThat(entry.kernel).hasSize(3);
    }

    @Test
    void dropsAndCountsHeldPacketsWithBadChecksums() {
        handshakeAtEntry();
        byte[] p = fromClient(A)
                .seq(CLIENT_ISN + 1)
                .ack(ISN_A + 1)
                .ts(102, TS_A)
                .payload(REMOTE_REQUEST)
                .build();
        p[p.length - 1] ^= 1;
        entry.fromWire(p);
        assertThat(entry.control).isEmpty();
        assertThat(entry.btcp.counters().get(Drop.BAD_CHECKSUM)).isEqualTo(1);
    }

    /**
     * Found by fuzzing: a held packet whose IPv4 header checksum is wrong (TCP checksum right) was
     * acknowledged to the client, then released to a kernel that drops it: its bytes were lost.
     */
    @Test
    void dropsPacketsWithAWrongIpHeaderChecksumBeforeHoldingThem() {
        handshakeAtEntry();
        byte[] p = fromClient(A)
                .seq(CLIENT_ISN + 1)
                .ack(ISN_A + 1)
                .ts(102, TS_A)
                .payload("GET /vid")
                .build();
        p[8] ^= 1; // TTL: covered by the IPv4 header checksum only
        entry.fromWire(p);
        assertThat(entry.btcp.counters().get(Drop.BAD_CHECKSUM)).isEqualTo(1);
        assertThat(entry.btcp.counters().get(Counter.HELD_BYTES_ACKED))
                .as("nothing acknowledged")
                .isZero();
        entry.advance(6_000); // request timeout: what is held goes to the kernel
        assertThat(entry.kernel).hasSize(2).allMatch(b -> TestPackets.View.of(b).checksumsValid());
        byte[] syn = fromClient(A).flags(TcpHeader.SYN).seq(7).build();
        syn[8] ^= 1;
        Side other = new Side(A, N2);
        other.fromWire(syn);
        assertThat(other.btcp.trackedConnections())
                .as("no table entry for a bad SYN")
                .isZero();
    }

    @Test
    void dropsTruncatedAndMalformedPacketsWithoutDisturbingOthers() {
        handshakeAtEntry();
        byte[] good =
                fromClient(A).seq(CLIENT_ISN + 1).ack(ISN_A + 1).payload("x").build();
        entry.fromWire(Arrays.copyOf(good, 30)); // IPv4 total length beyond the packet
        byte[] badOpt =
                fromClient(A).seq(CLIENT_ISN + 1).ack(ISN_A + 1).ts(1, 2).build();
        badOpt[40 + 3] = 9; // timestamps option length 9: malformed
        entry.fromWire(badOpt);
        assertThat(entry.btcp.counters().get(Drop.BAD_IP_HEADER)).isEqualTo(1);
        assertThat(entry.btcp.counters().get(Drop.BAD_TCP_OPTIONS)).isEqualTo(1);
        sendRequest(LOCAL_REQUEST);
        assertThat(entry.lastKernel().payload()).isEqualTo(LOCAL_REQUEST);
    }

    @Test
    void reinjectsTheAckWhenTheChosenKernelRetransmitsItsSynAck() {
        handshakeAtEntry();
        sendRequest(REMOTE_REQUEST);
        Object[] req = handoffRequest();
        deliverRequest(req);
        byte[] synAck = fromServer(SHADOW_A)
                .flags(TcpHeader.SYN)
                .seq(ISN_B)
                .ack(CLIENT_ISN + 1)
                .mss(1460)
                .sackOk()
                .ts(TS_B, 100)
                .wscale(7)
                .build();
        chosen.fromKernel(synAck);
        chosen.fromKernel(synAck);
        assertThat(chosen.kernel).hasSize(3); // SYN, then the ACK twice
        assertThat(chosen.lastKernel().tcp().acknowledgmentNumber()).isEqualTo(ISN_B + 1);
        entry.btcp.onHandoffAck(
                "n2", (long) req[2], (HandshakeInit) chosen.control.getFirst()[3], FORWARD_PORT);
        deliverCommit();
        chosen.fromKernel(synAck); // after the commit: the request again, riding on the ACK
        assertThat(chosen.kernel).hasSize(5);
        assertThat(chosen.lastKernel().payload()).isEqualTo(REMOTE_REQUEST);
        assertThat(chosen.lastKernel().tcp().acknowledgmentNumber()).isEqualTo(ISN_B + 1);
        assertThat(chosen.wire).isEmpty();
    }

    @Test
    void refusesWhenTheChosenKernelNegotiatesDifferentOptions() {
        handshakeAtEntry();
        sendRequest(REMOTE_REQUEST);
        Object[] req = handoffRequest();
        deliverRequest(req);
        chosen.fromKernel(fromServer(SHADOW_A)
                .flags(TcpHeader.SYN)
                .seq(ISN_B)
                .ack(CLIENT_ISN + 1)
                .mss(1460)
                .wscale(7)
                .build()); // no timestamps, no SACK
        assertThat(chosen.control.getLast()[0]).isEqualTo("refuse");
        assertThat(chosen.control.getLast()[3]).isEqualTo(Refusal.OPTION_MISMATCH);
        assertThat(chosen.lastKernel().tcp().rst()).isTrue();
        assertThat(chosen.btcp.trackedConnections()).isZero();
    }

    @Test
    void rescalesTheWindowWhenWindowScalesDiffer() {
        handshakeAtEntry();
        sendRequest(REMOTE_REQUEST);
        Object[] req = handoffRequest();
        deliverRequest(req);
        chosen.fromKernel(fromServer(SHADOW_A)
                .flags(TcpHeader.SYN)
                .seq(ISN_B)
                .ack(CLIENT_ISN + 1)
                .mss(1460)
                .sackOk()
                .ts(TS_B, 100)
                .wscale(9)
                .build());
        entry.btcp.onHandoffAck(
                "n2", (long) req[2], (HandshakeInit) chosen.control.getFirst()[3], FORWARD_PORT);
        deliverCommit();
        chosen.fromKernel(fromServer(SHADOW_A)
                .seq(ISN_B + 1)
                .ack(CLIENT_ISN + 1)
                .ts(TS_B + 1, 102)
                .window(100)
                .build());
        var out = chosen.lastWire();
        assertThat(out.tcp().window()).isEqualTo(400); // 100 << 9 >> 7
        assertThat(out.checksumsValid()).isTrue();
    }

    @Test
    void passesOtherPortsAndProtocolsUntouched() {
        byte[] other = TestPackets.tcp(CLIENT, 5000, A, 7070)
                .flags(TcpHeader.SYN)
                .seq(1)
                .build();
        entry.fromWire(other);
        assertThat(entry.kernel.getLast()).isEqualTo(other);
        byte[] out = TestPackets.tcp(A, 7070, CLIENT, 5000)
                .flags(TcpHeader.SYN)
                .seq(1)
                .ack(2)
                .build();
        entry.fromKernel(out);
        assertThat(entry.wire.getLast()).isEqualTo(out);
        assertThat(entry.btcp.trackedConnections()).isZero();
    }

    @Test
    void neverLetsARetransmittedSynReachTheKernelWhileHeld() {
        handshakeAtEntry();
        entry.fromWire(clientSyn());
        assertThat(entry.kernel).hasSize(1);
        assertThat(entry.btcp.counters().get(Drop.DUPLICATE_SYN)).isEqualTo(1);
    }

    @Test
    void queuesClientPacketsWhileTheHandoffIsPendingAndForwardsThemAfter() {
        handshakeAtEntry();
        sendRequest(REMOTE_REQUEST);
        long connId = (long) entry.control.getFirst()[2];
        int reqLen = REMOTE_REQUEST.length();
        entry.fromWire(clientSyn()); // a stray retransmitted SYN: dropped, never to the kernel
        entry.fromWire(fromClient(A)
                .flags(TcpHeader.PSH)
                .seq(CLIENT_ISN + 1 + reqLen)
                .ack(ISN_A + 1)
                .ts(103, TS_A)
                .payload("body")
                .build());
        assertThat(entry.kernel).hasSize(1);
        assertThat(entry.wire).hasSize(1);
        entry.btcp.onHandoffAck("n2", connId, new HandshakeInit(ISN_B, TS_B, 7, 1460, true, true), FORWARD_PORT);
        var fwd = entry.lastWire();
        assertThat(fwd.payload()).isEqualTo("body");
        assertThat(fwd.ip().destinationAddress()).isEqualTo(B);
        assertThat(fwd.tcp().acknowledgmentNumber()).isEqualTo(ISN_B + 1);
        assertThat(entry.btcp.counters().get(Drop.DUPLICATE_SYN)).isEqualTo(1);
        assertThat(entry.btcp.openConnections()).as("forwarding").isEqualTo(1);
    }

    @Test
    void resetsTheChosenKernelWhenTheEntryAborts() {
        handshakeAtEntry();
        sendRequest(REMOTE_REQUEST);
        Object[] req = entry.control.getFirst();
        long connId = (long) req[2];
        chosen.btcp.onHandoffRequest(N1, connId, (HandshakeInit) req[3], (byte[]) req[4], (byte[]) req[5]);
        assertThat(chosen.btcp.openConnections())
                .as("a handoff being taken is open work")
                .isEqualTo(1);
        chosen.fromKernel(chosenSynAck());
        chosen.btcp.onAbort(N1, connId);
        assertThat(chosen.btcp.openConnections()).isZero();
        var rst = chosen.lastKernel();
        assertThat(rst.tcp().rst()).isTrue();
        assertThat(rst.tcp().sequenceNumber())
                .as("no request was injected before a commit")
                .isEqualTo(CLIENT_ISN + 1);
        assertThat(rst.ip().destinationAddress()).isEqualTo(SHADOW_A);
        assertThat(rst.checksumsValid()).isTrue();
        assertThat(chosen.btcp.trackedConnections()).isZero();
        assertThat(chosen.btcp.activeConnections()).isZero();
    }

    @Test
    void ignoresControlMessagesForConnectionsItDoesNotHave() {
        entry.btcp.onTerminate("n2", 12345L);
        entry.btcp.onHandoffRefuse("n2", 12345L, Refusal.BUSY);
        chosen.btcp.onAbort(N1, 12345L);
        assertThat(entry.btcp.counters().get(Drop.UNKNOWN_CONNECTION)).isEqualTo(2);
        assertThat(chosen.btcp.counters().get(Drop.UNKNOWN_CONNECTION)).isEqualTo(1);
        assertThat(entry.kernel).isEmpty();
        assertThat(chosen.kernel).isEmpty();
    }

    @Test
    void refusesAHandoffRequestWhosePacketsAreNotASynAndAnAck() {
        handshakeAtEntry();
        sendRequest(REMOTE_REQUEST);
        Object[] req = entry.control.getFirst();
        long connId = (long) req[2];
        byte[] garbage = new byte[60];
        chosen.btcp.onHandoffRequest(N1, connId, (HandshakeInit) req[3], garbage, (byte[]) req[5]);
        chosen.btcp.onHandoffRequest(N1, connId, (HandshakeInit) req[3], (byte[]) req[5], (byte[]) req[4]);
        assertThat(chosen.control).hasSize(2).allMatch(m -> m[0].equals("refuse") && m[3].equals(Refusal.MALFORMED));
        assertThat(chosen.kernel).isEmpty();
        assertThat(chosen.btcp.counters().get(Drop.BAD_HANDOFF)).isEqualTo(2);
    }

    @Test
    void refusesAHandoffRequestWithAWrongChecksumAtOnce() {
        handshakeAtEntry();
        sendRequest(REMOTE_REQUEST);
        Object[] req = handoffRequest();
        byte[] badTcp = ((byte[]) req[4]).clone();
        badTcp[24] ^= 1; // sequence number changed, checksum not
        byte[] badIp = ((byte[]) req[5]).clone();
        badIp[8] ^= 1; // TTL changed, header checksum not
        chosen.btcp.onHandoffRequest(N1, (long) req[2], (HandshakeInit) req[3], badTcp, (byte[]) req[5]);
        chosen.btcp.onHandoffRequest(N1, (long) req[2], (HandshakeInit) req[3], (byte[]) req[4], badIp);
        assertThat(chosen.control).hasSize(2).allMatch(m -> m[0].equals("refuse") && m[3].equals(Refusal.MALFORMED));
        assertThat(chosen.kernel).as("nothing injected").isEmpty();
        assertThat(chosen.btcp.trackedConnections()).isZero();
        deliverRequest(req);
        assertThat(chosen.lastKernel().checksumsValid()).isTrue();
    }

    @Test
    void refusesASecondHandoffForTheSameClientAddressAndPort() {
        handshakeAtEntry();
        sendRequest(REMOTE_REQUEST);
        Object[] req = handoffRequest();
        deliverRequest(req);
        int messages = chosen.control.size();
        // The same request again (a duplicate on the way): ignored, the first one stands.
        chosen.btcp.onHandoffRequest(N1, (long) req[2], (HandshakeInit) req[3], (byte[]) req[4], (byte[]) req[5]);
        assertThat(chosen.control).hasSize(messages);
        assertThat(chosen.btcp.counters().get(Drop.DUPLICATE_HANDOFF)).isEqualTo(1);
        // Another connection from the same client address and port while the first lives: refused.
        long other = ConnKeys.connId(ConnKeys.keyOf((long) req[2], ConnKeys.SERVICE), 999);
        chosen.btcp.onHandoffRequest(N1, other, (HandshakeInit) req[3], (byte[]) req[4], (byte[]) req[5]);
        assertThat(chosen.control.getLast()[0]).isEqualTo("refuse");
        assertThat(chosen.control.getLast()[3]).isEqualTo(Refusal.DUPLICATE);
        // Another node may not hand over a connection made to n1's address.
        chosen.btcp.onHandoffRequest(
                new Peer("n3", Bytes.parseIpv4("10.200.1.3"), 3),
                (long) req[2],
                (HandshakeInit) req[3],
                (byte[]) req[4],
                (byte[]) req[5]);
        assertThat(chosen.control.getLast()[3]).isEqualTo(Refusal.MALFORMED);
    }

    @Test
    void servesLocallyAtOnceWhenTheHandoffRequestCannotBeSent() {
        entry.linkUp = false;
        handshakeAtEntry();
        sendRequest(REMOTE_REQUEST);
        assertThat(entry.lastKernel().payload()).isEqualTo(REMOTE_REQUEST);
        assertThat(entry.btcp.counters().get(Counter.FALLBACKS)).isEqualTo(1);
    }

    @Test
    void fallsBackWhenTheControlChannelToTheChosenNodeGoesDown() {
        handshakeAtEntry();
        sendRequest(REMOTE_REQUEST);
        entry.btcp.onPeerDown("n2");
        assertThat(entry.lastKernel().payload()).isEqualTo(REMOTE_REQUEST);
        assertThat(entry.btcp.counters().get(Counter.FALLBACKS)).isEqualTo(1);
    }

    @Test
    void forgetsALocalConnectionOnceBothSidesClosed() {
        handshakeAtEntry();
        sendRequest(LOCAL_REQUEST);
        int end = CLIENT_ISN + 1 + LOCAL_REQUEST.length();
        assertThat(entry.btcp.openConnections()).isEqualTo(1);
        entry.fromKernel(fromServer(A)
                .flags(TcpHeader.FIN)
                .seq(ISN_A + 1)
                .ack(end)
                .ts(TS_A + 5, 102)
                .build());
        assertThat(entry.btcp.trackedConnections()).isEqualTo(1);
        entry.fromWire(fromClient(A)
                .flags(TcpHeader.FIN)
                .seq(end)
                .ack(ISN_A + 2)
                .ts(104, TS_A + 5)
                .build());
        assertThat(entry.btcp.trackedConnections()).isZero();
        assertThat(entry.btcp.activeConnections()).isZero();
        assertThat(entry.btcp.openConnections()).isZero();
        assertThat(entry.kernel).hasSize(4);
        assertThat(entry.wire).hasSize(2);
    }

    /** A BTCP with a table of {@code size} entries, emitting into {@code side}'s lists; routes /video/ to n2. */
    static Btcp tinyTable(Side side, int size) {
        var cfg = config(A, new Btcp.Limits(size, 16, 32 * 1024, 8192), false);
        return new Btcp(cfg, side, side, head -> head.path().startsWith("/video/") ? N2 : null, 0);
    }

    /** The nodes' timers, but a peer grace of 3 s; port 80; {@code limits} as given. */
    static Btcp.Config config(int address, Btcp.Limits limits, boolean eager) {
        return new Btcp.Config(
                address,
                80,
                Btcp.Shadows.DEFAULT,
                limits,
                Btcp.Timers.DEFAULT,
                new Btcp.Closing(Duration.ofSeconds(10), Duration.ofMinutes(1), Duration.ofSeconds(3)),
                eager);
    }

    static void feed(Side side, Btcp b, byte[] p, boolean fromWire) {
        MemorySegment.copy(p, 0, side.buf, ValueLayout.JAVA_BYTE, 0, p.length);
        if (fromWire) b.fromWire(side.buf, p.length);
        else b.fromKernel(side.buf, p.length);
    }

    /** SYN from client port {@code port}, the kernel's SYN/ACK (ISN = port * 1000), and the client's ACK. */
    static void handshake(Side side, Btcp b, int port, boolean ack) {
        feed(
                side,
                b,
                TestPackets.tcp(CLIENT, port, A, 80)
                        .flags(TcpHeader.SYN)
                        .seq(7)
                        .mss(1460)
                        .build(),
                true);
        feed(
                side,
                b,
                TestPackets.tcp(A, 80, CLIENT, port)
                        .flags(TcpHeader.SYN)
                        .seq(port * 1000)
                        .ack(8)
                        .mss(1460)
                        .build(),
                false);
        if (ack)
            feed(
                    side,
                    b,
                    TestPackets.tcp(CLIENT, port, A, 80)
                            .seq(8)
                            .ack(port * 1000 + 1)
                            .build(),
                    true);
    }

    @Test
    void servesNewConnectionsUntrackedWhenTheTableIsFull() {
        Side small = new Side(A, N2);
        Btcp tiny = tinyTable(small, 2);
        handshake(small, tiny, 1, true); // both past the handshake: held, not half-open
        handshake(small, tiny, 2, true);
        assertThat(tiny.halfOpenConnections()).isZero();
        feed(
                small,
                tiny,
                TestPackets.tcp(CLIENT, 3, A, 80).flags(TcpHeader.SYN).seq(7).build(),
                true);
        assertThat(small.kernel).as("every SYN still reaches the kernel").hasSize(3);
        assertThat(tiny.trackedConnections()).isEqualTo(2);
        assertThat(tiny.counters().get(Drop.TABLE_FULL)).isEqualTo(1);
        assertThat(tiny.counters().get(Counter.HALF_OPEN_EVICTED)).isZero();
    }

    @Test
    void aSynFloodEvictsTheOldestHalfOpenEntryAndARealClientStillHandsOff() {
        Side side = new Side(A, N2);
        Btcp b = tinyTable(side, 8); // at most 4 half-open
        handshake(side, b, 1, true); // a real client past its handshake, holding its request
        for (int port = 100; port < 110; port++) { // a flood: SYNs answered, never acknowledged
            handshake(side, b, port, false);
            assertThat(b.halfOpenConnections()).isLessThanOrEqualTo(4);
            assertThat(b.trackedConnections()).isLessThanOrEqualTo(5);
        }
        assertThat(b.counters().get(Counter.HALF_OPEN_EVICTED)).isEqualTo(6);
        assertThat(b.counters().get(Drop.TABLE_FULL))
                .as("the flood never fills the table")
                .isZero();
        assertThat(b.counters().get(Counter.CONNECTIONS_SEEN)).isEqualTo(11);
        int kernelBefore = side.kernel.size();
        // The held connection was never evicted: its request completes and is handed off.
        feed(
                side,
                b,
                TestPackets.tcp(CLIENT, 1, A, 80)
                        .flags(TcpHeader.PSH)
                        .seq(8)
                        .ack(1001)
                        .payload(REMOTE_REQUEST)
                        .build(),
                true);
        assertThat(side.control).hasSize(1);
        assertThat(side.control.getFirst()[0]).isEqualTo("request");
        // A real client arriving mid-flood completes its handshake in one round trip and hands off too.
        handshake(side, b, 2, true);
        assertThat(b.counters().get(Counter.HALF_OPEN_EVICTED)).isEqualTo(7);
        feed(
                side,
                b,
                TestPackets.tcp(CLIENT, 2, A, 80)
                        .flags(TcpHeader.PSH)
                        .seq(8)
                        .ack(2001)
                        .payload(REMOTE_REQUEST)
                        .build(),
                true);
        assertThat(side.control).hasSize(2);
        assertThat(side.control.getLast()[0]).isEqualTo("request");
        assertThat(side.kernel).as("SYN only; the ACK and request are held").hasSize(kernelBefore + 1);
        // An evicted handshake's late ACK goes to the kernel untracked (served there), not dropped.
        int tracked = b.trackedConnections();
        feed(side, b, TestPackets.tcp(CLIENT, 100, A, 80).seq(8).ack(100_001).build(), true);
        assertThat(side.kernel).hasSize(kernelBefore + 2);
        assertThat(b.trackedConnections()).isEqualTo(tracked);
    }

    @Test
    void forgetsHalfOpenEntriesAfterTheSynTimeout() {
        Side side = new Side(A, N2);
        Btcp b = tinyTable(side, 8);
        for (int port = 100; port < 104; port++) handshake(side, b, port, false);
        assertThat(b.halfOpenConnections()).isEqualTo(4);
        b.tick(29_000);
        assertThat(b.trackedConnections()).isEqualTo(4);
        b.tick(30_100);
        assertThat(b.trackedConnections()).isZero();
        assertThat(b.halfOpenConnections()).isZero();
        // The list is consistent after the timeouts: new half-open entries are counted and evicted in order.
        for (int port = 200; port < 206; port++) handshake(side, b, port, false);
        assertThat(b.halfOpenConnections()).isEqualTo(4);
        assertThat(b.counters().get(Counter.HALF_OPEN_EVICTED)).isEqualTo(2);
        handshake(side, b, 206, true);
        assertThat(b.halfOpenConnections()).isEqualTo(3);
        assertThat(b.trackedConnections()).isEqualTo(4);
    }

    @Test
    void keepsAHandedInConnectionApartFromOneTheSameClientPortOpensDirectly() {
        handOff();
        // The same client port connects straight to n2: a new connection, to n2's own address.
        chosen.fromWire(fromClient(B).flags(TcpHeader.SYN).seq(777).mss(1460).build());
        var direct = chosen.lastKernel();
        assertThat(direct.tcp().syn()).isTrue();
        assertThat(direct.ip().destinationAddress()).isEqualTo(B);
        assertThat(chosen.btcp.counters().get(Counter.CONNECTIONS_SEEN)).isEqualTo(1);
        // ... and the handed-in one goes on, on n1's shadow address.
        int reqLen = REMOTE_REQUEST.length();
        entry.fromWire(fromClient(A)
                .seq(CLIENT_ISN + 1 + reqLen)
                .ack(ISN_A + 1)
                .ts(103, TS_A)
                .payload("more")
                .build());
        chosen.fromWire(entry.wire.getLast());
        assertThat(chosen.lastKernel().ip().destinationAddress()).isEqualTo(SHADOW_A);
        assertThat(chosen.lastKernel().payload()).isEqualTo("more");
        assertThat(chosen.btcp.trackedConnections()).isEqualTo(2);
    }

    @Test
    void neverLetsAShadowAddressOntoTheWire() {
        chosen.fromKernel(fromServer(SHADOW_A).flags(TcpHeader.RST).seq(5).build());
        assertThat(chosen.wire).isEmpty();
        assertThat(chosen.btcp.counters().get(Drop.STRAY_KERNEL_PACKET)).isEqualTo(1);
    }

    /** Found by fuzzing: what the BTCP cannot translate (a fragment, not TCP, too short) is no exception. */
    @Test
    void neverLetsAShadowAddressOntoTheWireInAnythingButTcp() {
        byte[] fragment =
                fromServer(SHADOW_A).flags(TcpHeader.ACK).seq(5).payload("data").build();
        fragment[6] = 0x20; // more fragments
        byte[] udp = fromServer(SHADOW_A).seq(5).build();
        udp[9] = 17;
        byte[] shortTcp = Arrays.copyOf(fromServer(SHADOW_A).seq(5).build(), 30);
        shortTcp[3] = 30; // total length 30: 10 bytes of TCP
        byte[] truncated = Arrays.copyOf(fromServer(SHADOW_A).seq(5).build(), 24); // total length beyond it
        // 169.254.77.0 is nobody's shadow, and its index 0 is that of the service address.
        byte[] shadowZero = TestPackets.tcp(Btcp.Shadows.DEFAULT.address(0), 80, CLIENT, CPORT)
                .seq(5)
                .build();
        for (byte[] p : List.of(fragment, udp, shortTcp, truncated, shadowZero)) chosen.fromKernel(p);
        assertThat(chosen.wire).isEmpty();
        assertThat(chosen.btcp.counters().get(Drop.STRAY_KERNEL_PACKET)).isEqualTo(5);
        // The same fragment from the node's own address still goes out (checksums do not matter here).
        Bytes.u32(MemorySegment.ofArray(fragment), 12, B);
        chosen.fromKernel(fragment);
        assertThat(chosen.wire).hasSize(1);
    }

    @Test
    void allocatesNothingPerForwardedOrRewrittenPacket() {
        handOff();
        int reqLen = REMOTE_REQUEST.length();
        byte[] clientAck = fromClient(A)
                .seq(CLIENT_ISN + 1 + reqLen)
                .ack(ISN_A + 1)
                .ts(103, TS_A)
                .sack(ISN_A + 100, ISN_A + 200)
                .build();
        entry.fromWire(clientAck);
        byte[] forwarded = entry.lastWire().bytes(); // the client's ACK as the entry forwards it
        assertThat(TestPackets.View.of(forwarded).tcp().destinationPort()).isEqualTo(FORWARD_PORT);
        byte[] response = fromServer(SHADOW_A)
                .seq(ISN_B + 1)
                .ack(CLIENT_ISN + 1 + reqLen)
                .ts(TS_B + 1, 103)
                .payload(new byte[1400])
                .build();
        MemorySegment in = Arena.ofAuto().allocate(65536);
        entry.capture = false;
        chosen.capture = false;
        var threads = (ThreadMXBean) ManagementFactory.getThreadMXBean();
        long self = Thread.currentThread().threadId();
        for (int round = 0; round < 2; round++) { // the first round warms up (class loading, JIT)
            long emittedBefore = entry.emitted + chosen.emitted;
            long before = threads.getThreadAllocatedBytes(self);
            for (int i = 0; i < 10_000; i++) {
                MemorySegment.copy(clientAck, 0, in, ValueLayout.JAVA_BYTE, 0, clientAck.length);
                entry.btcp.fromWire(in, clientAck.length);
                MemorySegment.copy(forwarded, 0, in, ValueLayout.JAVA_BYTE, 0, forwarded.length);
                chosen.btcp.fromWire(in, forwarded.length);
                MemorySegment.copy(response, 0, in, ValueLayout.JAVA_BYTE, 0, response.length);
                chosen.btcp.fromKernel(in, response.length);
            }
            long allocated = threads.getThreadAllocatedBytes(self) - before;
            assertThat(entry.emitted + chosen.emitted - emittedBefore).isEqualTo(30_000);
            if (round == 1) {
                // Zero per packet; the allowance covers the allocation counter's own noise.
                assertThat(allocated)
                        .as("bytes allocated by the BTCP for 30,000 packets")
                        .isLessThan(2_048);
            }
        }
    }

    @Test
    void keepsForwardedClientPacketsFromItsKernelUntilTheCommitArrives() {
        handshakeAtEntry();
        sendRequest(REMOTE_REQUEST);
        Object[] req = handoffRequest();
        deliverRequest(req);
        chosen.fromKernel(chosenSynAck());
        entry.btcp.onHandoffAck(
                "n2", (long) req[2], (HandshakeInit) chosen.control.getFirst()[3], FORWARD_PORT);
        // The client retransmits its request (newer TSval); the entry forwards it at once, and it
        // overtakes the commit, which travels on the control channel.
        entry.fromWire(fromClient(A)
                .flags(TcpHeader.PSH)
                .seq(CLIENT_ISN + 1)
                .ack(ISN_A + 1)
                .ts(400, TS_A)
                .payload(REMOTE_REQUEST)
                .build());
        chosen.fromWire(entry.wire.getLast());
        assertThat(chosen.kernel)
                .as("SYN and ACK only: our server gets nothing before the commit")
                .hasSize(2);
        assertThat(chosen.btcp.counters().get(Drop.EARLY_FORWARD)).isEqualTo(1);
        deliverCommit();
        var request = chosen.lastKernel();
        assertThat(request.payload()).isEqualTo(REMOTE_REQUEST);
        assertThat(request.tcp().tsVal())
                .as("the request reaches the kernel first, with the held TSval")
                .isEqualTo(101);
        // Once committed, client packets pass again.
        entry.fromWire(fromClient(A)
                .seq(CLIENT_ISN + 1 + REMOTE_REQUEST.length())
                .ack(ISN_A + 1)
                .ts(401, TS_A)
                .build());
        chosen.fromWire(entry.wire.getLast());
        assertThat(chosen.kernel).hasSize(4);
    }

    @Test
    void resetsAHandedInConnectionTheEntryNeverCommits() {
        handshakeAtEntry();
        sendRequest(REMOTE_REQUEST);
        deliverRequest(handoffRequest());
        chosen.fromKernel(chosenSynAck());
        chosen.advance(3_100);
        var rst = chosen.lastKernel();
        assertThat(rst.tcp().rst()).isTrue();
        assertThat(rst.ip().destinationAddress()).isEqualTo(SHADOW_A);
        assertThat(chosen.btcp.trackedConnections()).isZero();
        assertThat(chosen.btcp.counters().get(Drop.NEVER_COMMITTED)).isEqualTo(1);
        assertThat(chosen.wire)
                .as("the client never heard from the chosen node")
                .isEmpty();
    }

    @Test
    void fallsBackWhenTheCommitCannotBeSent() {
        handshakeAtEntry();
        sendRequest(REMOTE_REQUEST);
        Object[] req = handoffRequest();
        entry.linkUp = false;
        entry.btcp.onHandoffAck("n2", (long) req[2], new HandshakeInit(ISN_B, TS_B, 7, 1460, true, true), FORWARD_PORT);
        assertThat(entry.lastKernel().payload()).isEqualTo(REMOTE_REQUEST);
        assertThat(entry.control.getLast()[0]).isEqualTo("abort");
        assertThat(entry.btcp.counters().get(Counter.FALLBACKS)).isEqualTo(1);
    }

    /**
     * A handed-off connection closes, the server first (as with "Connection: close"), so it sits in
     * TIME-WAIT at n2; then the client reuses its port at once, with a new ISN, and sends its
     * request again. Returns the first connection's id; the entry's handoff request is the first of
     * its control messages.
     */
    long closeInTimeWaitThenReuseThePort() {
        long first = handOff();
        int reqLen = REMOTE_REQUEST.length();
        chosen.fromKernel(fromServer(SHADOW_A)
                .flags(TcpHeader.FIN)
                .seq(ISN_B + 1)
                .ack(CLIENT_ISN + 1 + reqLen)
                .ts(TS_B + 5, 102)
                .build());
        entry.fromWire(fromClient(A)
                .flags(TcpHeader.FIN)
                .seq(CLIENT_ISN + 1 + reqLen)
                .ack(ISN_A + 2)
                .ts(104, TS_A + 5)
                .build());
        chosen.fromWire(entry.wire.getLast());
        assertThat(chosen.control.getLast()[0]).isEqualTo("terminate");
        entry.btcp.onTerminate("n2", first);
        entry.control.clear();
        chosen.control.clear();
        entry.fromWire(fromClient(A)
                .flags(TcpHeader.SYN)
                .seq(CLIENT_ISN + 100_000)
                .mss(1460)
                .sackOk()
                .ts(200, 0)
                .wscale(7)
                .build());
        entry.fromKernel(fromServer(A)
                .flags(TcpHeader.SYN)
                .seq(ISN_A + 7)
                .ack(CLIENT_ISN + 100_001)
                .mss(1460)
                .sackOk()
                .ts(TS_A + 50, 200)
                .wscale(7)
                .build());
        entry.fromWire(fromClient(A)
                .seq(CLIENT_ISN + 100_001)
                .ack(ISN_A + 8)
                .ts(201, TS_A + 50)
                .build());
        entry.fromWire(fromClient(A)
                .flags(TcpHeader.PSH)
                .seq(CLIENT_ISN + 100_001)
                .ack(ISN_A + 8)
                .ts(202, TS_A + 50)
                .payload(REMOTE_REQUEST)
                .build());
        return first;
    }

    @Test
    void acceptsAHandoffForAClientPortWhoseEarlierConnectionIsInTimeWait() {
        closeInTimeWaitThenReuseThePort();
        deliverRequest(handoffRequest());
        assertThat(chosen.control).isEmpty(); // no refusal; waiting for the kernel's SYN/ACK
        assertThat(chosen.lastKernel().tcp().syn()).isTrue();
        assertThat(chosen.lastKernel().tcp().sequenceNumber()).isEqualTo(CLIENT_ISN + 100_000);
    }

    @Test
    void aNewConnectionWhoseIdRepeatsOneInTimeWaitIsHandedOffNotIgnored() {
        // The client wraps its ports and comes back on this one; the entry's slot generation happens
        // to repeat too, so the handoff request carries the id of the connection in TIME-WAIT.
        long first = closeInTimeWaitThenReuseThePort();
        Object[] req = handoffRequest();
        chosen.btcp.onHandoffRequest(N1, first, (HandshakeInit) req[3], (byte[]) req[4], (byte[]) req[5]);
        assertThat(chosen.btcp.counters().get(Drop.DUPLICATE_HANDOFF)).isZero();
        assertThat(chosen.lastKernel().tcp().syn()).isTrue();
        assertThat(chosen.lastKernel().tcp().sequenceNumber()).isEqualTo(CLIENT_ISN + 100_000);
        // The very same request again is still a duplicate.
        chosen.btcp.onHandoffRequest(N1, first, (HandshakeInit) req[3], (byte[]) req[4], (byte[]) req[5]);
        assertThat(chosen.btcp.counters().get(Drop.DUPLICATE_HANDOFF)).isEqualTo(1);
    }

    @Test
    void aClosingConnectionIsKeptWhileTheClientLacksWhatTheServerSent() {
        handOff();
        int reqLen = REMOTE_REQUEST.length();
        // The server sends its last 100 bytes and its FIN; the client has acknowledged none of it,
        // and our kernel's retransmissions back off past a TIME-WAIT of silence.
        chosen.fromKernel(fromServer(SHADOW_A)
                .flags(TcpHeader.FIN | TcpHeader.PSH)
                .seq(ISN_B + 1)
                .ack(CLIENT_ISN + 1 + reqLen)
                .ts(TS_B + 5, 102)
                .payload("x".repeat(100))
                .build());
        chosen.advance(61_000);
        assertThat(chosen.btcp.trackedConnections())
                .as("kept: the client still lacks data and the FIN")
                .isEqualTo(1);
        chosen.fromKernel(fromServer(SHADOW_A)
                .flags(TcpHeader.FIN | TcpHeader.PSH)
                .seq(ISN_B + 1)
                .ack(CLIENT_ISN + 1 + reqLen)
                .ts(TS_B + 9, 102)
                .payload("x".repeat(100))
                .build());
        assertThat(chosen.lastWire().tcp().sequenceNumber())
                .as("the retransmission still translated")
                .isEqualTo(ISN_A + 1);
        // Now the client has it all (its ACK forwarded by the entry, in our space): a TIME-WAIT of
        // silence ends it.
        entry.fromWire(fromClient(A)
                .seq(CLIENT_ISN + 1 + reqLen)
                .ack(ISN_A + 102)
                .ts(105, TS_A + 9)
                .build());
        chosen.fromWire(entry.wire.getLast());
        chosen.advance(59_000);
        assertThat(chosen.btcp.trackedConnections()).isEqualTo(1);
        chosen.advance(2_000);
        assertThat(chosen.btcp.trackedConnections()).isZero();
    }

    // ---------------------------------------------------------------- eager commit (the nodes' default)

    /** Entry and chosen node with the entry committing along with its handoff request. */
    void eager() {
        entry = new Side(A, N2, true);
        chosen = new Side(B, null, true);
    }

    /** The chosen node's kernel answers the replayed SYN. */
    void chosenKernelAnswers() {
        chosen.fromKernel(chosenSynAck());
    }

    @Test
    void anEagerEntryCommitsWithItsHandoffRequest() {
        eager();
        handshakeAtEntry();
        sendRequest(REMOTE_REQUEST);
        assertThat(entry.control).hasSize(2);
        assertThat(entry.control.get(0)[0]).isEqualTo("request");
        assertThat(entry.control.get(1)[0]).isEqualTo("commit");
        assertThat(entry.control.get(1)[2]).isEqualTo(entry.control.get(0)[2]);
        assertThat(new String((byte[]) entry.control.get(1)[3], StandardCharsets.US_ASCII))
                .isEqualTo(REMOTE_REQUEST);
        assertThat(entry.kernel).as("nothing released to the entry's kernel").hasSize(1);

        long id = (long) handoffRequest()[2];
        entry.btcp.onHandoffAck("n2", id, new HandshakeInit(ISN_B, TS_B, 7, 1460, true, true), FORWARD_PORT);
        assertThat(entry.control).as("no second commit").hasSize(2);
        assertThat(entry.lastKernel().tcp().rst())
                .as("the entry's half-open entry is reset")
                .isTrue();
        assertThat(entry.btcp.counters().get(Counter.HANDOFFS_COMPLETED)).isEqualTo(1);
    }

    @Test
    void theChosenNodeInjectsAnEagerRequestOnTheHandshakesAck() {
        eager();
        handshakeAtEntry();
        sendRequest(REMOTE_REQUEST);
        Object[] req = handoffRequest();
        deliverRequest(req);
        deliverCommit(); // arrives before our kernel's SYN/ACK: kept until the ACK is in
        assertThat(chosen.kernel).as("only the SYN so far").hasSize(1);
        chosenKernelAnswers();
        assertThat(chosen.kernel)
                .as("the SYN, then one segment: the ACK carrying the request")
                .hasSize(2);
        var ackWithRequest = chosen.lastKernel();
        assertThat(ackWithRequest.payload()).isEqualTo(REMOTE_REQUEST);
        assertThat(ackWithRequest.tcp().ack()).isTrue();
        assertThat(ackWithRequest.tcp().syn()).isFalse();
        assertThat(ackWithRequest.tcp().sequenceNumber()).isEqualTo(CLIENT_ISN + 1);
        assertThat(ackWithRequest.tcp().acknowledgmentNumber())
                .as("acknowledges our kernel's SYN/ACK")
                .isEqualTo(ISN_B + 1);
        assertThat(ackWithRequest.checksumsValid()).isTrue();
        assertThat(chosen.control.getLast()[0]).isEqualTo("ack");
        // The response reaches the client before the entry has even seen the ack.
        int reqLen = REMOTE_REQUEST.length();
        chosen.fromKernel(fromServer(SHADOW_A)
                .flags(TcpHeader.PSH)
                .seq(ISN_B + 1)
                .ack(CLIENT_ISN + 1 + reqLen)
                .ts(TS_B + 3, 102)
                .payload("HTTP/1.1 200 OK\r\n\r\n")
                .build());
        var out = chosen.lastWire();
        assertThat(out.ip().sourceAddress()).isEqualTo(A);
        assertThat(out.tcp().sequenceNumber()).isEqualTo(ISN_A + 1);
        assertThat(out.checksumsValid()).isTrue();
        assertThat(chosen.btcp.counters().get(Drop.BEFORE_COMMIT)).isZero();
    }

    @Test
    void anEagerEntryForwardsTheClientsAcksOfAResponseThatOvertookTheAck() {
        eager();
        RecordingFastPath fast = new RecordingFastPath();
        entry.btcp.fastPath(fast);
        handshakeAtEntry();
        sendRequest(REMOTE_REQUEST);
        int reqLen = REMOTE_REQUEST.length();
        // The client got 100 bytes from n2 and acknowledges them before n2's ack reaches the entry.
        entry.fromWire(fromClient(A)
                .seq(CLIENT_ISN + 1 + reqLen)
                .ack(ISN_A + 101)
                .ts(103, TS_A + 1)
                .build());
        int wireBefore = entry.wire.size();
        long id = (long) handoffRequest()[2];
        entry.btcp.onHandoffAck("n2", id, new HandshakeInit(ISN_B, TS_B, 7, 1460, true, true), FORWARD_PORT);
        assertThat(entry.wire).hasSize(wireBefore + 1);
        var fwd = entry.lastWire();
        assertThat(fwd.ip().destinationAddress()).isEqualTo(B);
        assertThat(fwd.tcp().acknowledgmentNumber()).isEqualTo(ISN_B + 101);
        assertThat(fwd.checksumsValid()).isTrue();
        // what we forwarded could be overtaken on the kernel's path: handed down a while later
        assertThat(fast.of(RecordingFastPath.ToChosen.class)).isEmpty();
        entry.advance(KernelPath.HAND_DOWN_DELAY_MILLIS);
        assertThat(fast.of(RecordingFastPath.ToChosen.class)).hasSize(1);
    }

    @Test
    void anEagerEntryNeverFallsBackOnATimeoutAndResetsTheClientWhenNoAnswerComes() {
        eager();
        handshakeAtEntry();
        sendRequest(REMOTE_REQUEST);
        int kernelBefore = entry.kernel.size();
        entry.advance(1_000);
        assertThat(entry.kernel)
                .as("not served here: the chosen node may be serving")
                .hasSize(kernelBefore);
        assertThat(entry.btcp.counters().get(Counter.FALLBACKS)).isZero();
        assertThat(entry.control.getLast()[0])
                .as("the question: do you serve it?")
                .isEqualTo("abort");
        int asked = entry.control.size();
        entry.advance(2_000);
        assertThat(entry.control).as("given up: a second abort").hasSize(asked + 1);
        assertThat(entry.btcp.counters().get(Counter.HANDOFFS_ABANDONED)).isEqualTo(1);
        assertThat(entry.control.getLast()[0]).isEqualTo("abort");
        assertThat(entry.lastKernel().tcp().rst())
                .as("the kernel's half-open entry")
                .isTrue();
        var rst = entry.lastWire();
        assertThat(rst.tcp().rst()).isTrue();
        assertThat(rst.ip().destinationAddress()).isEqualTo(CLIENT);
        assertThat(rst.tcp().sequenceNumber()).isEqualTo(ISN_A + 1);
        assertThat(rst.checksumsValid()).isTrue();
        assertThat(entry.btcp.freeHoldBuffers()).isEqualTo(16);
    }

    @Test
    void ourKernelsPacketsForAResetConnectionNeverReachTheClientNorComeBack() {
        eager();
        handshakeAtEntry();
        sendRequest(REMOTE_REQUEST);
        entry.advance(1_000);
        entry.advance(2_000); // abandoned: the client reset, the connection RESET
        assertThat(entry.btcp.connections(10))
                .extracting(Btcp.ConnectionView::state)
                .containsExactly("RESET");
        int kernelBefore = entry.kernel.size();
        int wireBefore = entry.wire.size();
        // A SYN/ACK retransmission our kernel had queued before the reset, then a stray ACK. Before the
        // states were an enum, RESET fell into the chosen role's default branch, which took the SYN/ACK
        // as its own kernel's and injected the held ACK back into the kernel.
        entry.fromKernel(fromServer(A)
                .flags(TcpHeader.SYN)
                .seq(ISN_A)
                .ack(CLIENT_ISN + 1)
                .mss(1460)
                .sackOk()
                .ts(TS_A + 5, 100)
                .wscale(7)
                .build());
        entry.fromKernel(fromServer(A)
                .seq(ISN_A + 1)
                .ack(CLIENT_ISN + 1)
                .ts(TS_A + 6, 101)
                .build());
        assertThat(entry.kernel).as("nothing injected").hasSize(kernelBefore);
        assertThat(entry.wire).as("nothing of our kernel's reaches the client").hasSize(wireBefore);
        assertThat(entry.btcp.counters().get(Drop.STRAY_KERNEL_PACKET)).isEqualTo(2);
    }

    @Test
    void aLostEagerHandoffRequestIsAskedAboutThenServedLocally() {
        eager();
        handshakeAtEntry();
        sendRequest(REMOTE_REQUEST);
        Object[] req = handoffRequest();
        deliverCommit(); // the request itself never arrived: the commit is for nothing n2 knows
        entry.advance(1_000);
        Object[] question = entry.control.getLast();
        assertThat(question[0]).isEqualTo("abort");
        chosen.btcp.onAbort(N1, (long) question[2]);
        Object[] answer = chosen.control.getLast();
        assertThat(answer[0]).isEqualTo("refuse");
        assertThat(answer[3]).isEqualTo(Refusal.ABORTED);
        entry.btcp.onHandoffRefuse("n2", (long) req[2], (Refusal) answer[3]);
        assertThat(entry.lastKernel().payload()).as("served here after all").isEqualTo(REMOTE_REQUEST);
        assertThat(entry.btcp.counters().get(Counter.FALLBACKS)).isEqualTo(1);
    }

    @Test
    void aLostEagerAckIsSentAgainWhenTheEntryAsks() {
        eager();
        handshakeAtEntry();
        sendRequest(REMOTE_REQUEST);
        Object[] req = handoffRequest();
        deliverRequest(req);
        deliverCommit();
        chosenKernelAnswers(); // the request is in n2's server now; its ack is lost on the way
        chosen.control.clear();
        entry.advance(1_000);
        chosen.btcp.onAbort(N1, (long) entry.control.getLast()[2]);
        Object[] again = chosen.control.getLast();
        assertThat(again[0]).as("n2 serves it: it says so again").isEqualTo("ack");
        assertThat(chosen.btcp.trackedConnections()).isEqualTo(1);
        entry.btcp.onHandoffAck("n2", (long) again[2], (HandshakeInit) again[3], (int) again[4]);
        assertThat(entry.btcp.counters().get(Counter.HANDOFFS_COMPLETED)).isEqualTo(1);
        assertThat(entry.btcp.counters().get(Counter.FALLBACKS)).isZero();
        // A second answer (the first one, late) changes nothing: no abort for a connection we forward.
        int sent = entry.control.size();
        entry.btcp.onHandoffAck("n2", (long) again[2], (HandshakeInit) again[3], (int) again[4]);
        assertThat(entry.btcp.counters().get(Drop.DUPLICATE_HANDOFF)).isEqualTo(1);
        assertThat(entry.control).hasSize(sent);
    }

    @Test
    void aSecondAbortResetsAnEagerConnectionTheChosenNodeServes() {
        eager();
        handshakeAtEntry();
        sendRequest(REMOTE_REQUEST);
        deliverRequest(handoffRequest());
        deliverCommit();
        chosenKernelAnswers();
        long id = (long) handoffRequest()[2];
        chosen.btcp.onAbort(N1, id);
        int wireBefore = chosen.wire.size();
        chosen.btcp.onAbort(N1, id);
        assertThat(chosen.btcp.trackedConnections()).isZero();
        assertThat(chosen.lastKernel().tcp().rst()).isTrue();
        assertThat(chosen.wire).as("the client is reset too").hasSizeGreaterThan(wireBefore);
        assertThat(chosen.lastWire().tcp().rst()).isTrue();
        assertThat(chosen.lastWire().ip().sourceAddress()).isEqualTo(A);
    }

    @Test
    void anEagerEntryServesLocallyWhenRefused() {
        eager();
        handshakeAtEntry();
        sendRequest(REMOTE_REQUEST);
        entry.btcp.onHandoffRefuse("n2", (long) handoffRequest()[2], Refusal.OPTION_MISMATCH);
        assertThat(entry.lastKernel().payload()).isEqualTo(REMOTE_REQUEST);
        assertThat(entry.btcp.counters().get(Counter.FALLBACKS)).isEqualTo(1);
    }

    @Test
    void anEagerRequestIsNeverInjectedWhenTheChosenNodeRefuses() {
        eager();
        handshakeAtEntry();
        sendRequest(REMOTE_REQUEST);
        deliverRequest(handoffRequest());
        deliverCommit();
        // Our kernel answers without timestamps: the client could not live with that; refuse.
        chosen.fromKernel(fromServer(SHADOW_A)
                .flags(TcpHeader.SYN)
                .seq(ISN_B)
                .ack(CLIENT_ISN + 1)
                .mss(1460)
                .sackOk()
                .wscale(7)
                .build());
        assertThat(chosen.control.getLast()[0]).isEqualTo("refuse");
        assertThat(chosen.kernel).noneMatch(k -> TestPackets.View.of(k).tcp().payloadLength() > 0);
    }

    @Test
    void anEagerEntryResetsTheClientWhenThePeerGoesDownMidHandoff() {
        eager();
        handshakeAtEntry();
        sendRequest(REMOTE_REQUEST);
        int kernelBefore = entry.kernel.size();
        entry.btcp.onPeerDown("n2");
        assertThat(entry.btcp.counters().get(Counter.HANDOFFS_ABANDONED)).isEqualTo(1);
        assertThat(entry.lastWire().tcp().rst()).isTrue();
        assertThat(entry.kernel).hasSize(kernelBefore + 1); // the RST for its half-open entry, no request
        assertThat(entry.lastKernel().tcp().rst()).isTrue();
    }

    // ---------------------------------------------------------------- lost peers and lost messages

    @Test
    void resetsTheClientWhenTheChosenNodeStaysLostPastTheGrace() {
        entry.btcp.onPeerUp("n2", 7);
        handOff();
        // The client has received 500 bytes from n2 (in the entry's space).
        entry.fromWire(fromClient(A)
                .seq(CLIENT_ISN + 1 + REMOTE_REQUEST.length())
                .ack(ISN_A + 501)
                .ts(103, TS_A)
                .build());
        int sent = entry.wire.size();
        entry.btcp.onPeerDown("n2");
        entry.advance(2_900);
        assertThat(entry.wire).as("nothing before the grace ends").hasSize(sent);
        entry.advance(200);
        var rst = entry.lastWire();
        assertThat(rst.tcp().rst()).isTrue();
        assertThat(rst.ip().sourceAddress()).isEqualTo(A);
        assertThat(rst.ip().destinationAddress()).isEqualTo(CLIENT);
        assertThat(rst.tcp().destinationPort()).isEqualTo(CPORT);
        assertThat(rst.tcp().sequenceNumber())
                .as("the client's RCV.NXT as its last ACK gave it")
                .isEqualTo(ISN_A + 501);
        assertThat(rst.checksumsValid()).isTrue();
        assertThat(entry.btcp.counters().get(Counter.ORPHANS_RESET)).isEqualTo(1);

        // The client had received more meanwhile: its next ACK draws a RST at exactly that point (RFC 5961).
        entry.fromWire(fromClient(A)
                .seq(CLIENT_ISN + 1 + REMOTE_REQUEST.length())
                .ack(ISN_A + 900)
                .ts(104, TS_A)
                .build());
        assertThat(entry.lastWire().tcp().rst()).isTrue();
        assertThat(entry.lastWire().tcp().sequenceNumber()).isEqualTo(ISN_A + 900);
        assertThat(entry.btcp.counters().get(Counter.CLIENT_RESETS_SENT)).isEqualTo(2);
        entry.advance(10_100);
        assertThat(entry.btcp.trackedConnections()).as("freed after the linger").isZero();
    }

    @Test
    void keepsAForwardedConnectionWhenTheSamePeerComesBack() {
        entry.btcp.onPeerUp("n2", 7);
        handOff();
        entry.fromWire(fromClient(A)
                .seq(CLIENT_ISN + 1 + REMOTE_REQUEST.length())
                .ack(ISN_A + 501)
                .ts(103, TS_A)
                .build());
        int sent = entry.wire.size();
        entry.btcp.onPeerDown("n2");
        entry.advance(1_000);
        entry.btcp.onPeerUp("n2", 7); // the link was cut, the node lived
        entry.advance(2_500);
        assertThat(entry.wire).as("no RST").hasSize(sent);
        assertThat(entry.btcp.counters().get(Counter.ORPHANS_KEPT)).isEqualTo(1);
        entry.fromWire(fromClient(A)
                .seq(CLIENT_ISN + 1 + REMOTE_REQUEST.length())
                .ack(ISN_A + 600)
                .ts(104, TS_A)
                .build());
        assertThat(entry.lastWire().ip().destinationAddress())
                .as("still forwarded")
                .isEqualTo(B);
    }

    @Test
    void resetsAtOnceWhenThePeerComesBackAsANewProcess() {
        entry.btcp.onPeerUp("n2", 7);
        handOff();
        entry.btcp.onPeerDown("n2");
        entry.btcp.onPeerUp("n2", 8); // restarted: its kernel lost the connection
        assertThat(entry.lastWire().tcp().rst()).isTrue();
        assertThat(entry.lastWire().tcp().sequenceNumber()).isEqualTo(ISN_A + 1);
        assertThat(entry.btcp.counters().get(Counter.ORPHANS_RESET)).isEqualTo(1);
    }

    @Test
    void resetsAConnectionWithoutProgressEvenIfThePeerComesBack() {
        // The link died just after the commit: it may never have arrived, and nobody would serve the client.
        entry.btcp.onPeerUp("n2", 7);
        handOff();
        entry.btcp.onPeerDown("n2");
        entry.btcp.onPeerUp("n2", 7);
        entry.advance(3_100);
        assertThat(entry.lastWire().tcp().rst()).isTrue();
    }

    @Test
    void theChosenNodeResetsBothWaysWhenTheEntryIsLost() {
        chosen.btcp.onPeerUp("n1", 3);
        handOff();
        chosen.fromKernel(fromServer(SHADOW_A)
                .flags(TcpHeader.PSH)
                .seq(ISN_B + 1)
                .ack(CLIENT_ISN + 1 + REMOTE_REQUEST.length())
                .ts(TS_B + 5, 102)
                .payload("HTTP/1.1 200 OK\r\n\r\n")
                .build());
        int kernelPackets = chosen.kernel.size();
        chosen.btcp.onPeerDown("n1");
        chosen.advance(3_100);
        var toKernel = TestPackets.View.of(chosen.kernel.get(kernelPackets));
        assertThat(toKernel.tcp().rst()).isTrue();
        assertThat(toKernel.ip().destinationAddress()).isEqualTo(SHADOW_A);
        assertThat(toKernel.tcp().sequenceNumber()).isEqualTo(CLIENT_ISN + 1 + REMOTE_REQUEST.length());
        var toClient = TestPackets.View.of(chosen.wire.get(chosen.wire.size() - 2));
        assertThat(toClient.tcp().rst()).isTrue();
        assertThat(toClient.ip().sourceAddress()).as("with the entry's address").isEqualTo(A);
        assertThat(toClient.tcp().sequenceNumber())
                .as("after the 19 bytes sent, in the entry's space")
                .isEqualTo(ISN_A + 20);
        assertThat(toClient.checksumsValid()).isTrue();
        var atAck = chosen.lastWire();
        assertThat(atAck.tcp().rst()).isTrue();
        assertThat(atAck.tcp().sequenceNumber())
                .as("at the client's last ACK we saw (none yet: the start)")
                .isEqualTo(ISN_A + 1);
        assertThat(atAck.checksumsValid()).isTrue();
        assertThat(chosen.btcp.trackedConnections()).isZero();
    }

    @Test
    void freesAForwardedConnectionWhoseTerminationWasLost() {
        handOff();
        int reqLen = REMOTE_REQUEST.length();
        entry.fromWire(fromClient(A)
                .flags(TcpHeader.FIN)
                .seq(CLIENT_ISN + 1 + reqLen)
                .ack(ISN_A + 21)
                .ts(104, TS_A)
                .build());
        entry.fromWire(fromClient(A)
                .seq(CLIENT_ISN + 2 + reqLen)
                .ack(ISN_A + 22)
                .ts(105, TS_A)
                .build());
        entry.advance(9_000);
        assertThat(entry.btcp.trackedConnections()).isEqualTo(1);
        entry.advance(1_100);
        assertThat(entry.btcp.trackedConnections())
                .as("quiet for the linger after the client's FIN")
                .isZero();
        assertThat(entry.btcp.counters().get(Counter.CLOSED_WITHOUT_TERMINATION))
                .isEqualTo(1);
    }

    @Test
    void classifiesPacketsByPhase() {
        assertThat(entry.btcp.phaseOfWirePacket(seg(clientSyn()), clientSyn().length))
                .isEqualTo(Phase.SYN);
        entry.fromWire(clientSyn());
        byte[] ack =
                fromClient(A).seq(CLIENT_ISN + 1).ack(ISN_A + 1).ts(101, TS_A).build();
        assertThat(entry.btcp.phaseOfWirePacket(seg(ack), ack.length)).isEqualTo(Phase.HANDSHAKE);
        byte[] other =
                TestPackets.tcp(CLIENT, CPORT, A, 7070).flags(TcpHeader.SYN).build();
        assertThat(entry.btcp.phaseOfWirePacket(seg(other), other.length)).isEqualTo(Phase.OTHER);
        byte[] fwd = TestPackets.tcp(CLIENT, CPORT, A, FORWARD_PORT).build();
        assertThat(entry.btcp.phaseOfWirePacket(seg(fwd), fwd.length)).isEqualTo(Phase.FORWARDED);
        assertThat(entry.btcp.phaseOfWirePacket(seg(new byte[] {1, 2, 3}), 3)).isEqualTo(Phase.OTHER);
    }

    private static MemorySegment seg(byte[] b) {
        return MemorySegment.ofArray(b.clone());
    }

    @Test
    void translatesTimestampsFromTheSynAckTheClientTook() {
        entry.fromWire(clientSyn());
        entry.fromKernel(fromServer(A)
                .flags(TcpHeader.SYN)
                .seq(ISN_A)
                .ack(CLIENT_ISN + 1)
                .mss(1460)
                .sackOk()
                .ts(TS_A, 100)
                .wscale(7)
                .build());
        // The client's ACK was lost; our kernel retransmits its SYN/ACK a second later, with a later TSval.
        entry.fromKernel(fromServer(A)
                .flags(TcpHeader.SYN)
                .seq(ISN_A)
                .ack(CLIENT_ISN + 1)
                .mss(1460)
                .sackOk()
                .ts(TS_A + 1000, 100)
                .wscale(7)
                .build());
        // The client took the first and echoes it (TS.Recent ignores the old duplicate).
        entry.fromWire(fromClient(A)
                .flags(TcpHeader.PSH)
                .seq(CLIENT_ISN + 1)
                .ack(ISN_A + 1)
                .ts(102, TS_A)
                .payload(REMOTE_REQUEST)
                .build());
        HandshakeInit sent = (HandshakeInit) handoffRequest()[3];
        assertThat(sent.tsVal()).as("the TSval the client echoes").isEqualTo(TS_A);
    }

    @Test
    void theChosenNodeResetsAtOnceWhenTheEntryComesBackAsANewProcess() {
        chosen.btcp.onPeerUp("n1", 3);
        handOff();
        int wire = chosen.wire.size();
        chosen.btcp.onPeerDown("n1");
        chosen.btcp.onPeerUp("n1", 4);
        assertThat(chosen.wire)
                .as("one RST: nothing sent, so the end and the last ACK agree")
                .hasSize(wire + 1);
        assertThat(chosen.lastWire().tcp().rst()).isTrue();
        assertThat(chosen.btcp.trackedConnections()).isZero();
    }

    @Test
    void forgetsAClosingConnectionWhoseLastPacketWasLost() {
        // Served here: our server closed, the client's answer (its RST) was lost and is never resent.
        handshakeAtEntry();
        sendRequest(LOCAL_REQUEST);
        entry.fromKernel(fromServer(A)
                .flags(TcpHeader.FIN)
                .seq(ISN_A + 1)
                .ack(CLIENT_ISN + 1 + LOCAL_REQUEST.length())
                .ts(TS_A + 5, 102)
                .build());
        entry.advance(9_900);
        assertThat(entry.btcp.trackedConnections()).isEqualTo(1);
        entry.advance(200);
        assertThat(entry.btcp.trackedConnections())
                .as("a linger of silence after a FIN, not 15 min")
                .isZero();
        assertThat(entry.btcp.activeConnections()).isZero();

        // Handed in: the client's FIN arrived, our server's never came (or its answer was lost).
        setUp();
        handOff();
        entry.fromWire(fromClient(A)
                .flags(TcpHeader.FIN)
                .seq(CLIENT_ISN + 1 + REMOTE_REQUEST.length())
                .ack(ISN_A + 1)
                .ts(104, TS_A)
                .build());
        chosen.fromWire(entry.wire.getLast());
        chosen.advance(59_900);
        assertThat(chosen.btcp.trackedConnections()).isEqualTo(1);
        chosen.advance(200);
        assertThat(chosen.btcp.trackedConnections())
                .as("a TIME-WAIT of silence after a FIN")
                .isZero();
    }

    // ---- the kernel's data path (FastPath) --------------------------------------------------

    @Test
    void holdsANewConnectionsFlowBeforeItsSynReachesTheKernel() {
        RecordingFastPath fast = new RecordingFastPath();
        entry.btcp.fastPath(fast);
        entry.fromWire(clientSyn());
        assertThat(fast.calls).containsExactly(new RecordingFastPath.Hold(CLIENT, CPORT));
        assertThat(entry.kernel).hasSize(1);
    }

    @Test
    void handsALocalConnectionDownWithWhatItReadOnceWhatItHeldIsReleased() {
        RecordingFastPath fast = new RecordingFastPath();
        entry.btcp.fastPath(fast);
        int[] releasedBefore = {-1};
        fast.onHandDown = () -> releasedBefore[0] = entry.kernel.size();
        handshakeAtEntry();
        sendRequest(LOCAL_REQUEST);
        // read since the SYN: it, the handshake ACK and the request from the network, the SYN/ACK from the kernel
        assertThat(fast.of(RecordingFastPath.Local.class))
                .containsExactly(new RecordingFastPath.Local(CLIENT, CPORT, 1, new FastPath.Consumed(3, 1)));
        // not before: a client segment the kernel's path passed would overtake what we release
        assertThat(releasedBefore[0])
                .as("the SYN, the ACK and the request had reached the kernel")
                .isEqualTo(3);
        assertThat(entry.kernel).hasSize(3);
        assertThat(entry.btcp.counters().get(Counter.FAST_PATH_FLOWS)).isEqualTo(1);
        // a FIN still comes up (counted): the kernel hears that it was read; both FINs end it
        entry.fromWire(fromClient(A)
                .flags(TcpHeader.FIN)
                .seq(CLIENT_ISN + 1 + LOCAL_REQUEST.length())
                .ack(ISN_A + 1)
                .ts(103, TS_A)
                .build());
        assertThat(fast.calls.getLast())
                .isEqualTo(new RecordingFastPath.Read(CLIENT, CPORT, A, 80, new FastPath.Consumed(4, 1)));
        entry.fromKernel(fromServer(A)
                .flags(TcpHeader.FIN)
                .seq(ISN_A + 1)
                .ack(CLIENT_ISN + 2 + LOCAL_REQUEST.length())
                .ts(TS_A + 1, 103)
                .build());
        assertThat(fast.calls.getLast()).isEqualTo(new RecordingFastPath.Withdraw(CLIENT, CPORT));
        assertThat(entry.btcp.trackedConnections()).isZero();
    }

    /** The kernel passed the handshake itself (the engine saw nothing of it) and kept its SYN and SYN/ACK. */
    RecordingFastPath kernelPassedTheHandshake() {
        RecordingFastPath fast = new RecordingFastPath();
        entry.btcp.fastPath(fast);
        byte[] synAck = fromServer(A)
                .flags(TcpHeader.SYN)
                .seq(ISN_A)
                .ack(CLIENT_ISN + 1)
                .mss(1460)
                .sackOk()
                .ts(TS_A, 100)
                .wscale(7)
                .build();
        fast.handshakes.put(List.of(CLIENT, CPORT), new byte[][] {clientSyn(), synAck});
        return fast;
    }

    @Test
    void takesInARequestWhoseHandshakeTheKernelPassedAndHandsItOff() {
        kernelPassedTheHandshake();
        sendRequest(REMOTE_REQUEST);
        assertThat(entry.kernel)
                .as("nothing reached the kernel: its SYN-RECV waits")
                .isEmpty();
        Object[] req = handoffRequest();
        HandshakeInit init = (HandshakeInit) req[3];
        assertThat(init.isn()).isEqualTo(ISN_A);
        assertThat(init.windowScale()).isEqualTo(7);
        assertThat(init.tsVal()).as("the SYN/ACK's the client echoed").isEqualTo(TS_A);
        assertThat((byte[]) req[4]).as("the SYN the kernel kept").isEqualTo(clientSyn());
        TestPackets.View ack = TestPackets.View.of((byte[]) req[5]);
        assertThat(ack.tcp().payloadLength())
                .as("the ACK rebuilt from the request")
                .isZero();
        assertThat(ack.tcp().acknowledgmentNumber()).isEqualTo(ISN_A + 1);
        assertThat(ack.checksumsValid()).isTrue();
        assertThat(entry.btcp.counters().get(Counter.CONNECTIONS_SEEN)).isEqualTo(1);
        // the rest of the handoff goes as for a connection whose SYN the engine saw
        deliverRequest(req);
        chosen.fromKernel(chosenSynAck());
        entry.btcp.onHandoffAck(
                "n2", (long) req[2], (HandshakeInit) chosen.control.getFirst()[3], FORWARD_PORT);
        deliverCommit();
        assertThat(chosen.lastKernel().payload()).isEqualTo(REMOTE_REQUEST);
        assertThat(entry.btcp.connections(1).getFirst().state()).isEqualTo("FORWARDING");
    }

    @Test
    void servesATakenInRequestLocallyByReleasingItAlone() {
        kernelPassedTheHandshake();
        sendRequest(LOCAL_REQUEST);
        assertThat(entry.kernel)
                .as("the request completes the kernel's handshake")
                .hasSize(1);
        assertThat(entry.lastKernel().payload()).isEqualTo(LOCAL_REQUEST);
        assertThat(entry.control).isEmpty();
        assertThat(entry.btcp.counters().get(Counter.SERVED_LOCALLY)).isEqualTo(1);
    }

    @Test
    void aSegmentOfAHandshakeTheKernelDoesNotHaveIsTheKernels() {
        RecordingFastPath fast = kernelPassedTheHandshake();
        fast.handshakes.clear();
        sendRequest(REMOTE_REQUEST);
        assertThat(entry.kernel).hasSize(1);
        assertThat(entry.btcp.trackedConnections()).isZero();
        // a SYN the kernel kept that does not hold together (corrupted on its way) is not taken in either
        byte[] syn = clientSyn();
        syn[syn.length - 1] ^= 1;
        fast.handshakes.put(List.of(CLIENT, CPORT), new byte[][] {syn, clientSyn()});
        sendRequest(REMOTE_REQUEST);
        assertThat(entry.kernel).hasSize(2);
        assertThat(entry.btcp.trackedConnections()).isZero();
    }

    @Test
    void aLocalConnectionEndsOnTheClosesTheKernelPassedWithoutTheirPackets() {
        RecordingFastPath fast = new RecordingFastPath();
        entry.btcp.fastPath(fast);
        handshakeAtEntry();
        sendRequest(LOCAL_REQUEST);
        int kernelBefore = entry.kernel.size();
        int wireBefore = entry.wire.size();
        fast.passClose(CLIENT, CPORT, TcpHeader.FIN | TcpHeader.ACK, true); // our server closes first
        assertThat(entry.btcp.kernelCloses()).isEqualTo(1);
        assertThat(entry.btcp.trackedConnections()).as("one side still open").isEqualTo(1);
        assertThat(entry.btcp.connections(1).getFirst().finFromServer()).isTrue();
        fast.passClose(CLIENT, CPORT, TcpHeader.FIN | TcpHeader.ACK, false);
        entry.btcp.kernelCloses();
        assertThat(entry.btcp.trackedConnections()).isZero();
        assertThat(fast.calls.getLast()).isEqualTo(new RecordingFastPath.Withdraw(CLIENT, CPORT));
        assertThat(entry.btcp.activeConnections()).isZero();
        assertThat(entry.kernel).as("the FINs went their way in the kernel").hasSize(kernelBefore);
        assertThat(entry.wire).hasSize(wireBefore);
    }

    @Test
    void aResetTheKernelPassedEndsALocalConnectionAndACloseOfAnEarlierOneIsIgnored() {
        RecordingFastPath fast = new RecordingFastPath();
        entry.btcp.fastPath(fast);
        handshakeAtEntry();
        sendRequest(LOCAL_REQUEST);
        fast.closes.add(new RecordingFastPath.Close(CLIENT, CPORT, 0, 7, TcpHeader.RST, false)); // another cookie
        entry.btcp.kernelCloses();
        assertThat(entry.btcp.counters().get(Drop.STALE_CLOSE)).isEqualTo(1);
        assertThat(entry.btcp.trackedConnections()).isEqualTo(1);
        fast.passClose(CLIENT, CPORT, TcpHeader.RST, false);
        entry.btcp.kernelCloses();
        assertThat(entry.btcp.trackedConnections()).isZero();
        fast.passClose(CLIENT, CPORT, TcpHeader.FIN, true); // late: nothing is left of it
        entry.btcp.kernelCloses();
        assertThat(entry.btcp.counters().get(Drop.STALE_CLOSE)).isEqualTo(2);
    }

    @Test
    void handsBothEndsOfAHandoffToTheirKernels() {
        RecordingFastPath atEntry = new RecordingFastPath();
        RecordingFastPath atChosen = new RecordingFastPath();
        entry.btcp.fastPath(atEntry);
        chosen.btcp.fastPath(atChosen);
        handOff();
        // the entry forwarded nothing it held: nothing of its own can be overtaken, so at once
        assertThat(atEntry.of(RecordingFastPath.ToChosen.class)).hasSize(1);
        // the entry translates only toward the chosen node: window scales are the chosen node's business
        FastPath.Translation atEntryT = new FastPath.Translation(ISN_B - ISN_A, TS_B - TS_A, true, 0, 0);
        FastPath.Translation t = new FastPath.Translation(ISN_B - ISN_A, TS_B - TS_A, true, 7, 7);
        assertThat(atEntry.calls)
                .containsExactly(
                        new RecordingFastPath.Hold(CLIENT, CPORT),
                        new RecordingFastPath.ToChosen(
                                CLIENT, CPORT, B, FORWARD_PORT, atEntryT, new FastPath.Consumed(3, 1)));
        assertThat(atChosen.calls)
                .as("held from the handoff request, handed down once committed")
                .containsExactly(
                        new RecordingFastPath.HoldHandedIn(CLIENT, CPORT, FORWARD_PORT, SHADOW_A),
                        new RecordingFastPath.HandedIn(
                                CLIENT,
                                CPORT,
                                FORWARD_PORT,
                                SHADOW_A,
                                A,
                                t,
                                new FastPath.Consumed(0, 0),
                                new FastPath.Consumed(0, 1)));
        // the server's FIN, come up all the same (catching up): translated, and the flows stay down
        int requestEnd = CLIENT_ISN + 1 + REMOTE_REQUEST.length();
        chosen.fromKernel(fromServer(SHADOW_A)
                .flags(TcpHeader.FIN)
                .seq(ISN_B + 1)
                .ack(requestEnd)
                .ts(TS_B + 3, 102)
                .build());
        assertThat(chosen.lastWire().ip().sourceAddress())
                .as("the engine translated the FIN")
                .isEqualTo(A);
        assertThat(atChosen.of(RecordingFastPath.WithdrawHandedIn.class)).isEmpty();
        // the entry keeps its flow through the linger, then lets it go
        entry.btcp.onTerminate("n2", (long) handoffRequest()[2]);
        assertThat(atEntry.of(RecordingFastPath.Withdraw.class)).isEmpty();
        assertThat(atEntry.calls.getLast())
                .as("over: the kernel may take the next SYN on its ports")
                .isEqualTo(new RecordingFastPath.Lingering(CLIENT, CPORT));
        entry.advance(11_000);
        assertThat(atEntry.calls.getLast()).isEqualTo(new RecordingFastPath.Withdraw(CLIENT, CPORT));
        assertThat(entry.btcp.counters().get(Counter.FAST_PATH_FLOWS))
                .as("lingering is no new flow")
                .isEqualTo(1);
    }

    /**
     * A client reuses its port within the entry's linger (wrk did for 91% of its connections): the
     * kernel takes the new SYN's handshake itself and drops the lingering flow; the engine hears of
     * the new connection from its request, lets the old one go without touching the kernel's state
     * (the new one's now), and takes the new one in.
     */
    @Test
    void aNewConnectionTheKernelTookOnALingeringPortIsTakenInAndTheOldOneLetGo() {
        RecordingFastPath atEntry = kernelPassedTheHandshake();
        chosen.btcp.fastPath(new RecordingFastPath());
        sendRequest(REMOTE_REQUEST);
        Object[] req = handoffRequest();
        deliverRequest(req);
        chosen.fromKernel(chosenSynAck());
        entry.btcp.onHandoffAck(
                "n2", (long) req[2], (HandshakeInit) chosen.control.getFirst()[3], FORWARD_PORT);
        entry.advance(KernelPath.HAND_DOWN_DELAY_MILLIS);
        entry.btcp.onTerminate("n2", (long) req[2]);
        assertThat(atEntry.handshakes)
                .as("the adopted handshake goes when it lingers, not at its end")
                .isEmpty();
        assertThat(atEntry.calls.getLast()).isEqualTo(new RecordingFastPath.Lingering(CLIENT, CPORT));
        // a late segment of the old connection with data still goes to the chosen node
        int requestEnd = CLIENT_ISN + 1 + REMOTE_REQUEST.length();
        entry.fromWire(fromClient(A)
                .flags(TcpHeader.PSH)
                .seq(requestEnd)
                .ack(ISN_A + 1)
                .ts(103, TS_A)
                .payload("x")
                .build());
        assertThat(entry.lastWire().ip().destinationAddress()).isEqualTo(B);
        // the kernel took a new SYN on the same ports and sent its request up
        int newIsn = CLIENT_ISN + 1_000_000;
        byte[] syn = fromClient(A)
                .flags(TcpHeader.SYN)
                .seq(newIsn)
                .mss(1460)
                .sackOk()
                .ts(200, 0)
                .wscale(7)
                .build();
        byte[] synAck = fromServer(A)
                .flags(TcpHeader.SYN)
                .seq(ISN_A + 77)
                .ack(newIsn + 1)
                .mss(1460)
                .sackOk()
                .ts(TS_A + 9, 200)
                .wscale(7)
                .build();
        atEntry.handshakes.put(List.of(CLIENT, CPORT), new byte[][] {syn, synAck});
        int calls = atEntry.calls.size();
        int wire = entry.wire.size();
        entry.fromWire(fromClient(A)
                .flags(TcpHeader.PSH)
                .seq(newIsn + 1)
                .ack(ISN_A + 78)
                .ts(201, TS_A + 9)
                .payload(LOCAL_REQUEST)
                .build());
        assertThat(entry.wire).as("nothing of it went to the old chosen node").hasSize(wire);
        assertThat(entry.lastKernel().payload()).as("served here").isEqualTo(LOCAL_REQUEST);
        assertThat(entry.btcp.connections(2))
                .singleElement()
                .satisfies(v -> assertThat(v.state()).isEqualTo("LOCAL"));
        assertThat(atEntry.calls.subList(calls, atEntry.calls.size()))
                .as("the old flow was the kernel's to drop")
                .noneMatch(RecordingFastPath.Withdraw.class::isInstance);
        assertThat(entry.btcp.counters().get(Counter.CONNECTIONS_SEEN)).isEqualTo(2);
    }

    /**
     * The kernel's data path passes a handed-in connection's FINs and RSTs and tells of them: the
     * chosen node ends it as if they had come up (the termination message to the entry), and the
     * kernel rewrites on through TIME-WAIT; a close told with another cookie is an earlier
     * connection's.
     */
    @Test
    void aHandedInConnectionEndsOnTheClosesTheKernelPassed() {
        RecordingFastPath atChosen = new RecordingFastPath();
        chosen.btcp.fastPath(atChosen);
        long id = handOff();
        assertThat(atChosen.of(RecordingFastPath.HandedIn.class)).hasSize(1);
        int wire = chosen.wire.size();
        int kernel = chosen.kernel.size();
        atChosen.closes.add(new RecordingFastPath.Close(CLIENT, CPORT, 1, 12345, TcpHeader.FIN, true));
        chosen.btcp.kernelCloses();
        assertThat(chosen.btcp.counters().get(Drop.STALE_CLOSE)).isEqualTo(1);
        atChosen.passHandedInClose(CLIENT, CPORT, 1, FORWARD_PORT, TcpHeader.FIN | TcpHeader.ACK, true);
        assertThat(chosen.btcp.kernelCloses()).isEqualTo(1);
        assertThat(chosen.btcp.connections(1).getFirst().finFromServer()).isTrue();
        assertThat(chosen.control).noneMatch(m -> m[0].equals("terminate"));
        atChosen.passHandedInClose(CLIENT, CPORT, 1, FORWARD_PORT, TcpHeader.FIN | TcpHeader.ACK, false);
        chosen.btcp.kernelCloses();
        assertThat(chosen.control.getLast()).containsExactly("terminate", "n1", id);
        assertThat(chosen.btcp.connections(1).getFirst().state()).isEqualTo("CLOSED");
        assertThat(chosen.btcp.counters().get(Counter.TERMINATIONS)).isEqualTo(1);
        assertThat(chosen.wire).as("the FINs went their way in the kernel").hasSize(wire);
        assertThat(chosen.kernel).hasSize(kernel);
        assertThat(atChosen.of(RecordingFastPath.WithdrawHandedIn.class))
                .as("the kernel rewrites through TIME-WAIT")
                .isEmpty();
        chosen.advance(60_000 + 1);
        assertThat(atChosen.of(RecordingFastPath.WithdrawHandedIn.class))
                .containsExactly(new RecordingFastPath.WithdrawHandedIn(CLIENT, CPORT, FORWARD_PORT, SHADOW_A));
        assertThat(chosen.btcp.trackedConnections()).isZero();
    }

    /**
     * At the entry the kernel passes the client's FIN and RST on a handed-off flow and tells of them:
     * a FIN starts the wait for the termination (a quiet linger ends it without one), a RST the
     * linger at once.
     */
    @Test
    void anEntryHearsOfTheClientsClosesTheKernelPassedOnAHandedOffFlow() {
        RecordingFastPath atEntry = new RecordingFastPath();
        entry.btcp.fastPath(atEntry);
        handOff();
        entry.advance(KernelPath.HAND_DOWN_DELAY_MILLIS);
        int wire = entry.wire.size();
        atEntry.passClose(CLIENT, CPORT, TcpHeader.FIN | TcpHeader.ACK, false);
        entry.btcp.kernelCloses();
        assertThat(entry.btcp.connections(1).getFirst().finFromClient()).isTrue();
        assertThat(entry.btcp.connections(1).getFirst().state()).isEqualTo("FORWARDING");
        assertThat(entry.wire).as("the kernel forwarded it").hasSize(wire);
        entry.advance(10_001); // no termination message: the linger of silence after the client's FIN
        assertThat(entry.btcp.trackedConnections()).isZero();
        assertThat(entry.btcp.counters().get(Drop.STALE_CLOSE)).isZero();
    }

    @Test
    void aResetTheKernelPassedOnAHandedOffFlowStartsTheEntrysLinger() {
        RecordingFastPath atEntry = new RecordingFastPath();
        entry.btcp.fastPath(atEntry);
        handOff();
        entry.advance(KernelPath.HAND_DOWN_DELAY_MILLIS);
        atEntry.passClose(CLIENT, CPORT, TcpHeader.RST, false);
        entry.btcp.kernelCloses();
        assertThat(entry.btcp.connections(1).getFirst().state()).isEqualTo("LINGER");
    }

    /**
     * A connection that is over is freed without reading what the kernel saw of its flows: each
     * read is a system call, and nothing of it matters once the connection is forgotten.
     */
    @Test
    void aHandedInConnectionIsForgottenAfterItsCloseWithoutReadingTheKernel() {
        RecordingFastPath atChosen = new RecordingFastPath();
        chosen.btcp.fastPath(atChosen);
        handOff();
        atChosen.passHandedInClose(CLIENT, CPORT, 1, FORWARD_PORT, TcpHeader.RST, false);
        chosen.btcp.kernelCloses();
        assertThat(chosen.btcp.connections(1).getFirst().state()).isEqualTo("CLOSED");
        int reads = atChosen.seenReads;
        chosen.advance(60_001); // past the linger
        assertThat(chosen.btcp.trackedConnections()).isZero();
        assertThat(atChosen.of(RecordingFastPath.WithdrawHandedIn.class))
                .as("its flows withdrawn")
                .hasSize(1);
        assertThat(atChosen.seenReads).as("no map read to forget it").isEqualTo(reads);
    }

    /** A RST the kernel passed on a handed-in connection ends it at once. */
    @Test
    void aResetTheKernelPassedEndsAHandedInConnection() {
        RecordingFastPath atChosen = new RecordingFastPath();
        chosen.btcp.fastPath(atChosen);
        long id = handOff();
        atChosen.passHandedInClose(CLIENT, CPORT, 1, FORWARD_PORT, TcpHeader.RST, false);
        chosen.btcp.kernelCloses();
        assertThat(chosen.control.getLast()).containsExactly("terminate", "n1", id);
        assertThat(chosen.btcp.connections(1).getFirst().state()).isEqualTo("CLOSED");
    }

    /**
     * An eager commit is in before our kernel's SYN/ACK: the flows go down before the request is
     * injected, so that the server's answer to it leaves on the kernel's path (on a new connection it
     * came up behind the SYN/ACK, all of it). A late commit injects first, as the entry may be
     * forwarding by then.
     */
    @Test
    void aChosenNodeHandsAnEagerlyCommittedConnectionInBeforeInjectingItsRequest() {
        eager();
        RecordingFastPath atChosen = new RecordingFastPath();
        chosen.btcp.fastPath(atChosen);
        List<byte[]> inKernel = new ArrayList<>();
        atChosen.onHandDown = () -> inKernel.addAll(chosen.kernel);
        handshakeAtEntry();
        sendRequest(REMOTE_REQUEST);
        deliverRequest(handoffRequest());
        deliverCommit();
        chosen.fromKernel(chosenSynAck());
        assertThat(atChosen.of(RecordingFastPath.HandedIn.class)).hasSize(1);
        assertThat(inKernel)
                .as("only the SYN had reached our kernel")
                .singleElement()
                .satisfies(p -> assertThat(TestPackets.View.of(p).tcp().syn()).isTrue());
        assertThat(chosen.lastKernel().payload()).isEqualTo(REMOTE_REQUEST);
    }

    /**
     * Under the packet loop an eagerly committed request waits for the round's control messages
     * (Btcp#injectAfterControl): the handoff ack leaves before our server can answer, so the
     * client's ACK and FIN of the answer find the entry's flow handed down, not held.
     */
    @Test
    void aChosenNodeInjectsAnEagerRequestOnlyOnceItsAckIsSent() {
        eager();
        chosen.btcp.injectAfterControl();
        handshakeAtEntry();
        sendRequest(REMOTE_REQUEST);
        deliverRequest(handoffRequest());
        deliverCommit();
        chosenKernelAnswers();
        assertThat(chosen.control.getLast()[0]).as("the ack is queued").isEqualTo("ack");
        assertThat(chosen.kernel).as("only the SYN has reached our kernel").hasSize(1);
        chosen.btcp.controlSent();
        assertThat(chosen.kernel).hasSize(2);
        assertThat(chosen.lastKernel().payload()).isEqualTo(REMOTE_REQUEST);
        chosen.btcp.controlSent();
        assertThat(chosen.kernel).as("injected once").hasSize(2);
    }

    /**
     * While an eagerly committed request waits for the round's control messages, the client's flow
     * stays held: the entry forwards as soon as it has our ack, and a segment the kernel carried in
     * ahead of the request reached our kernel out of order, drew a retransmission of the request
     * from the client and made PAWS drop the injected one (MismatchedKernelsIT, 1 run in 6). It goes
     * down once the request is in. Our kernel's flow goes down before, so that the kernel's ACK of
     * the request and the server's answer leave on the kernel's path.
     */
    @Test
    void aWaitingRequestKeepsTheClientsFlowHeldUntilItIsInjected() {
        eager();
        RecordingFastPath fast = new RecordingFastPath();
        chosen.btcp.fastPath(fast);
        chosen.btcp.injectAfterControl();
        handshakeAtEntry();
        sendRequest(REMOTE_REQUEST);
        deliverRequest(handoffRequest());
        deliverCommit();
        List<Integer> inKernelAtHandDown = new ArrayList<>();
        fast.onHandDown = () -> inKernelAtHandDown.add(chosen.kernel.size());
        chosenKernelAnswers();
        assertThat(fast.of(RecordingFastPath.HoldHandedIn.class)).hasSize(1);
        assertThat(fast.of(RecordingFastPath.HandedInToClient.class)).hasSize(1);
        assertThat(fast.of(RecordingFastPath.HandedInFromEntry.class))
                .as("held while the request waits")
                .isEmpty();
        chosen.btcp.controlSent();
        assertThat(fast.of(RecordingFastPath.HandedInFromEntry.class)).hasSize(1);
        assertThat(fast.of(RecordingFastPath.HandedIn.class))
                .as("each half once")
                .isEmpty();
        assertThat(inKernelAtHandDown)
                .as("our kernel's half with the SYN in, the client's with the request")
                .containsExactly(1, 2);
        assertThat(chosen.lastKernel().payload()).isEqualTo(REMOTE_REQUEST);
        assertThat(chosen.btcp.connections(1).getFirst().kernel()).isEqualTo("handedIn");
    }

    /** A connection freed while its request waited (an abort in the same round) is not injected. */
    @Test
    void aWaitingRequestOfAConnectionAbortedMeanwhileIsNeverInjected() {
        eager();
        chosen.btcp.injectAfterControl();
        handshakeAtEntry();
        sendRequest(REMOTE_REQUEST);
        Object[] req = handoffRequest();
        deliverRequest(req);
        deliverCommit();
        chosenKernelAnswers();
        chosen.btcp.onAbort(N1, (long) req[2]);
        chosen.btcp.onAbort(N1, (long) req[2]);
        assertThat(chosen.btcp.trackedConnections()).isZero();
        int before = chosen.kernel.size();
        chosen.btcp.controlSent();
        assertThat(chosen.kernel).as("nothing injected after the abort").hasSize(before);
        assertThat(chosen.kernel.stream()
                        .map(TestPackets.View::of)
                        .filter(v -> !v.payload().isEmpty()))
                .as("the request never reached our server")
                .isEmpty();
    }

    /**
     * A flow whose every segment came up (the fault module on, or the kernel still catching up)
     * has a progress of zeros: its numbers say nothing. Taken as numbers, the server's end looked
     * unacknowledged forever (the client side's progress, in an LRU map, gone) and the connection
     * outlived its TIME-WAIT by the idle time (issue 12, FaultedLoadIT on the kernel path).
     */
    @Test
    void numbersOfAFlowTheKernelNeverCarriedAreIgnored() {
        RecordingFastPath atChosen = new RecordingFastPath();
        entry.btcp.fastPath(new RecordingFastPath());
        chosen.btcp.fastPath(atChosen);
        handOff();
        entry.advance(KernelPath.HAND_DOWN_DELAY_MILLIS);
        // the kernel's side carried nothing (lastNanos 0); the client side's progress is gone
        atChosen.reports.put(RecordingFastPath.flow(CLIENT, CPORT, SHADOW_A, 80), new FastPath.Seen());
        int requestEnd = CLIENT_ISN + 1 + REMOTE_REQUEST.length();
        chosen.fromKernel(fromServer(SHADOW_A)
                .flags(TcpHeader.FIN)
                .seq(ISN_B + 1)
                .ack(requestEnd)
                .ts(TS_B + 3, 102)
                .build());
        entry.fromWire(
                fromClient(A).seq(requestEnd).ack(ISN_A + 2).ts(104, TS_A + 3).build());
        chosen.fromWire(entry.lastWire().bytes()); // the client has all of it, the FIN included
        assertThat(chosen.btcp.connections(1).getFirst().unacknowledged()).isZero();
        chosen.advance(60_001);
        assertThat(chosen.btcp.trackedConnections())
                .as("gone after a quiet TIME-WAIT")
                .isZero();
    }

    @Test
    void anIdleTimerAsksTheKernelWhenTheConnectionWasLastHeard() {
        RecordingFastPath fast = new RecordingFastPath();
        entry.btcp.fastPath(fast);
        handshakeAtEntry();
        sendRequest(LOCAL_REQUEST);
        fast.report = new FastPath.Seen();
        fast.report.lastNanos = System.nanoTime(); // the kernel carried a segment just now
        entry.advance(900_001);
        assertThat(entry.btcp.trackedConnections())
                .as("heard from below: not idle")
                .isEqualTo(1);
        fast.report = null; // the kernel no longer has it: nothing heard since
        entry.advance(900_001);
        assertThat(entry.btcp.trackedConnections()).isZero();
    }

    @Test
    void anOrphanIsKeptWhenTheKernelSawTheClientAcknowledgeTheChosenNode() {
        RecordingFastPath fast = new RecordingFastPath();
        entry.btcp.fastPath(fast);
        entry.btcp.onPeerUp("n2", 7);
        handOff();
        entry.advance(KernelPath.HAND_DOWN_DELAY_MILLIS);
        fast.report = new FastPath.Seen();
        fast.report.lastNanos = System.nanoTime();
        fast.report.ack = ISN_A + 600; // acknowledged below, never seen by the engine
        int sent = entry.wire.size();
        entry.btcp.onPeerDown("n2");
        entry.btcp.onPeerUp("n2", 7);
        entry.advance(3_100);
        assertThat(entry.wire).as("no RST").hasSize(sent);
        assertThat(entry.btcp.counters().get(Counter.ORPHANS_KEPT)).isEqualTo(1);
    }

    // ---- a restart: the next engine takes over what the kernel kept (issue 12) ----------------

    /** The node's engine after a restart at {@code old}'s time: a new process, the same kernel. */
    static Side restarted(Side old, int address, Peer target, RecordingFastPath kernel) {
        Side next = new Side(address, target);
        next.advance(old.now - next.now);
        next.btcp.fastPath(kernel);
        return next;
    }

    @Test
    void aRestartedEntryTakesOverItsHandedOffConnection() {
        RecordingFastPath kernel = new RecordingFastPath();
        entry.btcp.fastPath(kernel);
        entry.btcp.onPeerUp("n2", 7);
        long id = handOff();
        entry.advance(KernelPath.HAND_DOWN_DELAY_MILLIS);
        assertThat(kernel.records).as("a record of the handed-off connection").hasSize(1);
        assertThat(kernel.recordWrites)
                .as("written as it changed state: pending, forwarding")
                .isEqualTo(2);

        Side next = restarted(entry, A, N2, kernel);
        assertThat(next.btcp.takeOver(true)).isEqualTo(1);
        assertThat(next.btcp.trackedConnections()).isEqualTo(1);
        assertThat(kernel.carried).containsKey(RecordingFastPath.flow(CLIENT, CPORT, A, 80));
        // what still comes up (a FIN) is forwarded as before: to n2's forward port, in n2's numbers
        int requestEnd = CLIENT_ISN + 1 + REMOTE_REQUEST.length();
        next.fromWire(fromClient(A)
                .flags(TcpHeader.FIN)
                .seq(requestEnd)
                .ack(ISN_A + 1 + 500)
                .ts(110, TS_A + 5)
                .build());
        TestPackets.View out = next.lastWire();
        assertThat(out.ip().destinationAddress()).isEqualTo(B);
        assertThat(out.tcp().destinationPort()).isEqualTo(FORWARD_PORT);
        assertThat(out.tcp().acknowledgmentNumber()).isEqualTo(ISN_B + 1 + 500);
        assertThat(out.tcp().tsEcr()).isEqualTo(TS_B + 5);
        assertThat(out.checksumsValid()).isTrue();
        assertThat(kernel.calls.getLast())
                .as("counted as read after what went to the dead process")
                .isEqualTo(new RecordingFastPath.Read(CLIENT, CPORT, A, 80, new FastPath.Consumed(6, 2)));
        // n2 heard again, the same process: the connection is kept (the client acknowledged its data)
        next.btcp.onPeerUp("n2", 7);
        next.advance(3_100);
        assertThat(next.btcp.counters().get(Counter.ORPHANS_KEPT)).isEqualTo(1);
        assertThat(next.wire).as("no RST").hasSize(1);
        next.btcp.onTerminate("n2", id);
        assertThat(next.btcp.counters().get(Counter.TERMINATIONS))
                .as("the same connection id")
                .isEqualTo(1);
    }

    @Test
    void aRestartedChosenNodeTakesOverItsHandedInConnectionAndResetsItIfTheEntryNeverReturns() {
        RecordingFastPath kernel = new RecordingFastPath();
        chosen.btcp.fastPath(kernel);
        chosen.btcp.onPeerUp("n1", 9);
        handOff();
        assertThat(kernel.records).hasSize(1);

        Side next = restarted(chosen, B, null, kernel);
        assertThat(next.btcp.takeOver(true)).isEqualTo(1);
        int requestEnd = CLIENT_ISN + 1 + REMOTE_REQUEST.length();
        next.fromKernel(fromServer(SHADOW_A)
                .flags(TcpHeader.FIN)
                .seq(ISN_B + 1 + 1400)
                .ack(requestEnd)
                .ts(TS_B + 9, 102)
                .build());
        TestPackets.View out = next.lastWire();
        assertThat(out.ip().sourceAddress()).as("the entry's address").isEqualTo(A);
        assertThat(out.tcp().sequenceNumber()).isEqualTo(ISN_A + 1 + 1400);
        assertThat(out.tcp().tsVal()).isEqualTo(TS_A + 9);
        assertThat(out.checksumsValid()).isTrue();
        // n1 is not heard again within the peer grace: both ends are reset, as for any orphan
        next.advance(3_100);
        assertThat(next.btcp.counters().get(Counter.ORPHANS_RESET)).isEqualTo(1);
        assertThat(next.lastKernel().tcp().rst()).as("our kernel's end").isTrue();
        assertThat(next.btcp.trackedConnections()).isZero();
        assertThat(kernel.records).isEmpty();
    }

    /** The closes the kernel passed while no process ran, and after, end a taken-over handed-in connection. */
    @Test
    void aRestartedChosenNodeEndsATakenOverConnectionOnTheClosesTheKernelPassed() {
        RecordingFastPath kernel = new RecordingFastPath();
        chosen.btcp.fastPath(kernel);
        chosen.btcp.onPeerUp("n1", 9);
        // a connection of its own first: the handed-in one's slot is in its second generation, and
        // the next process's table starts at the first
        chosen.fromWire(fromClient(B).flags(TcpHeader.SYN).seq(1).mss(1460).build());
        chosen.fromWire(fromClient(B).flags(TcpHeader.RST).seq(2).build());
        assertThat(chosen.btcp.trackedConnections()).isZero();
        long id = handOff();
        kernel.passHandedInClose(CLIENT, CPORT, 1, FORWARD_PORT, TcpHeader.FIN | TcpHeader.ACK, true); // in the gap
        Side next = restarted(chosen, B, null, kernel);
        assertThat(next.btcp.takeOver(true)).isEqualTo(1);
        next.btcp.onPeerUp("n1", 9);
        next.btcp.kernelCloses();
        assertThat(next.btcp.connections(1).getFirst().finFromServer())
                .as("the close in the gap")
                .isTrue();
        kernel.passHandedInClose(CLIENT, CPORT, 1, FORWARD_PORT, TcpHeader.FIN | TcpHeader.ACK, false);
        next.btcp.kernelCloses();
        assertThat(next.control.getLast()).containsExactly("terminate", "n1", id);
        assertThat(next.btcp.counters().get(Drop.STALE_CLOSE)).isZero();
    }

    @Test
    void aProcessThatEndedLongerAgoThanItsPeersWaitTakesOverOnlyWhatItServes() {
        RecordingFastPath kernel = new RecordingFastPath();
        entry.btcp.fastPath(kernel);
        entry.btcp.onPeerUp("n2", 7);
        handOff();
        entry.advance(KernelPath.HAND_DOWN_DELAY_MILLIS);
        assertThat(kernel.carried).hasSize(1);

        Side next = restarted(entry, A, N2, kernel);
        assertThat(next.btcp.takeOver(false)).isZero();
        assertThat(kernel.records).as("n2 has given it up").isEmpty();
        assertThat(kernel.carried).isEmpty();
        assertThat(next.btcp.trackedConnections()).isZero();
    }

    @Test
    void listsWhatItTracksForAnOperator() {
        entry.btcp.fastPath(new RecordingFastPath());
        handOff();
        entry.advance(KernelPath.HAND_DOWN_DELAY_MILLIS);
        assertThat(entry.btcp.connections(10))
                .containsExactly(new Btcp.ConnectionView(
                        "10.200.0.2:40000",
                        0,
                        "FORWARDING",
                        "n2",
                        false,
                        false,
                        false,
                        "toChosen",
                        KernelPath.HAND_DOWN_DELAY_MILLIS,
                        0));
        assertThat(entry.btcp.connections(0)).isEmpty();
    }

    @Test
    void aRestartedNodeTakesOverItsLocalConnectionsFromTheirFlows() {
        RecordingFastPath kernel = new RecordingFastPath();
        entry.btcp.fastPath(kernel);
        handshakeAtEntry();
        sendRequest(LOCAL_REQUEST);
        assertThat(kernel.records).as("a local connection's flow says it all").isEmpty();

        // The kernel may have kept its handshake (it went up): no record says so.
        kernel.handshakes.put(List.of(CLIENT, CPORT), new byte[][] {clientSyn(), clientSyn()});
        Side next = restarted(entry, A, N2, kernel);
        assertThat(next.btcp.takeOver(true)).isEqualTo(1);
        assertThat(next.btcp.activeConnections()).isEqualTo(1);
        next.fromWire(fromClient(A)
                .flags(TcpHeader.FIN)
                .seq(CLIENT_ISN + 1 + LOCAL_REQUEST.length())
                .ack(ISN_A + 1)
                .ts(110, TS_A)
                .build());
        assertThat(next.kernel).as("to our kernel, untouched").hasSize(1);
        assertThat(kernel.calls.getLast())
                .isEqualTo(new RecordingFastPath.Read(CLIENT, CPORT, A, 80, new FastPath.Consumed(6, 2)));
        // a close the kernel passed in the gap, named as the earlier process handed the flow down
        kernel.passClose(CLIENT, CPORT, TcpHeader.RST, true);
        next.btcp.kernelCloses();
        assertThat(next.btcp.trackedConnections()).isZero();
        assertThat(next.btcp.counters().get(Drop.STALE_CLOSE)).isZero();
        assertThat(kernel.handshakes)
                .as("forgotten with it: the port's next SYN is the kernel's")
                .isEmpty();
    }

    @Test
    void aHandoffInFlightAtTheRestartIsResetAndItsPeerToldOnceUp() {
        RecordingFastPath kernel = new RecordingFastPath();
        entry.btcp.fastPath(kernel);
        handshakeAtEntry();
        sendRequest(REMOTE_REQUEST); // the handoff request is out, no answer yet
        long id = (long) handoffRequest()[2];
        assertThat(kernel.records).hasSize(1);

        Side next = restarted(entry, A, N2, kernel);
        assertThat(next.btcp.takeOver(true)).isZero();
        assertThat(next.btcp.counters().get(Counter.TAKEOVER_RESETS)).isEqualTo(1);
        TestPackets.View toClient = next.lastWire();
        assertThat(toClient.tcp().rst()).isTrue();
        assertThat(toClient.ip().destinationAddress()).isEqualTo(CLIENT);
        assertThat(toClient.tcp().sequenceNumber()).isEqualTo(ISN_A + 1);
        TestPackets.View toKernel = next.lastKernel();
        assertThat(toKernel.tcp().rst()).as("our kernel's half-open entry").isTrue();
        assertThat(toKernel.tcp().sequenceNumber()).isEqualTo(CLIENT_ISN + 1);
        assertThat(next.control).isEmpty();
        next.btcp.onPeerUp("n2", 7);
        assertThat(next.control).hasSize(1);
        assertThat(next.control.getFirst()).containsExactly("abort", "n2", id);
        assertThat(kernel.carried).as("its held flow is gone").isEmpty();
    }

    @Test
    void aFullKernelTableLeavesTheConnectionToTheEngine() {
        RecordingFastPath fast = new RecordingFastPath();
        fast.accept = false;
        entry.btcp.fastPath(fast);
        handshakeAtEntry();
        sendRequest(LOCAL_REQUEST);
        assertThat(entry.btcp.counters().get(Counter.FAST_PATH_FULL))
                .as("once: not asked again")
                .isEqualTo(1);
        assertThat(fast.calls).containsExactly(new RecordingFastPath.Hold(CLIENT, CPORT));
        entry.fromWire(fromClient(A)
                .seq(CLIENT_ISN + 1 + LOCAL_REQUEST.length())
                .ack(ISN_A + 50)
                .ts(103, TS_A)
                .build());
        assertThat(entry.kernel).as("the engine passes its segments").hasSize(4);
        assertThat(fast.of(RecordingFastPath.Read.class))
                .as("nothing to report: the kernel has no flow")
                .isEmpty();
    }
}
