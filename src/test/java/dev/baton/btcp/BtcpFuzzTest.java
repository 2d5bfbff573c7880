package dev.baton.btcp;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.baton.control.ControlMessage;
import dev.baton.wire.Bytes;
import dev.baton.wire.Ipv4Header;
import dev.baton.wire.PacketPrinter;
import dev.baton.wire.TcpHeader;
import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Fuzz target for the BTCP engine (Jazzer; seeds in {@code BtcpFuzzTestInputs/anySequence/}: whole
 * handshakes, handoffs both ways, SACK, slow requests; replayed by every test run; {@code JAZZER_FUZZ=1}
 * explores). One engine, at node n1, plays both roles: entry for its own clients (paths under
 * {@code /video/} go to n2) and chosen node for connections n3 hands in. The input is a script of
 * operations (see {@link #OPS}): packets from the wire or from the kernel, raw or with their
 * checksums made right first (so mutations reach past the checksum checks), control messages about
 * the connections the engine has asked about or taken, and clock ticks.
 *
 * <p>Checked after every operation: no exception escapes; the connection table, the hold pool and
 * the served count stay within their bounds; nothing with a shadow source address goes to the wire;
 * and every TCP packet emitted while handling an input whose checksums were right (or a control
 * message, or a tick) has right IPv4 and TCP checksums, whether passed, rewritten or built.
 */
class BtcpFuzzTest {
    static final int A = Bytes.parseIpv4("10.200.1.1");
    static final Peer N2 = new Peer("n2", Bytes.parseIpv4("10.200.1.2"), 2);
    static final Peer N3 = new Peer("n3", Bytes.parseIpv4("10.200.1.3"), 3);
    static final int MAX_CONNECTIONS = 4;
    static final int HOLD_BUFFERS = 2;

    /** Operation codes: the low 3 bits of an operation's first byte. */
    static final int WIRE_RAW = 0, WIRE_FIXED = 1, KERNEL_RAW = 2, KERNEL_FIXED = 3, TICK = 4, CONTROL = 5;

    static final String OPS = "0 wire raw | 1 wire, checksums fixed | 2 kernel raw | 3 kernel, checksums fixed:"
            + " each u16 length + packet; 4 tick: u16 x 16 ms; 5 control: kind u8, index u8, 12 bytes, u16 length + bytes";

    /** Control message kinds, in the first byte after {@link #CONTROL}. */
    static final int ACK = 0,
            REFUSE = 1,
            TERMINATE = 2,
            REQUEST_FROM_N3 = 3,
            COMMIT_FROM_N3 = 4,
            ABORT_FROM_N3 = 5,
            PEER_LINK = 6,
            LINK = 7;

    /** Each script twice: the entry committing after the ack, and with its request (the default). */
    @FuzzTest(maxDuration = "5m")
    void anySequence(byte[] script) {
        new Run(script, false).run();
        new Run(script, true).run();
    }

    /** The seeds are worth mutating only if they reach what they are named for: each role, each exit. */
    @Test
    void seedsReachEveryRoleAndExit() throws IOException {
        assertThat(replay("local-service").get(Counter.SERVED_LOCALLY)).isEqualTo(1);
        Counters entry = replay("handoff-as-entry");
        assertThat(entry.get(Counter.HANDOFFS_COMPLETED)).isEqualTo(1);
        assertThat(entry.get(Counter.PACKETS_FORWARDED)).isEqualTo(2);
        assertThat(entry.get(Counter.TERMINATIONS)).isEqualTo(1);
        assertThat(replay("peer-lost-while-forwarding").get(Counter.ORPHANS_RESET))
                .isEqualTo(1);
        assertThat(replay("handoff-refused-then-timeout").get(Counter.REFUSALS_RECEIVED))
                .isEqualTo(1);
        assertThat(replay("handoff-link-down").get(Counter.FALLBACKS)).isEqualTo(1);
        assertThat(replay("handoff-timeout").get(Drop.UNKNOWN_CONNECTION)).isEqualTo(1);
        Counters chosen = replay("handoff-as-chosen");
        assertThat(chosen.get(Counter.HANDOFFS_ACCEPTED)).isEqualTo(1);
        assertThat(chosen.get(Counter.PACKETS_SENT_FOR_OTHERS)).isEqualTo(2);
        assertThat(chosen.get(Counter.TERMINATIONS)).isEqualTo(1);
        Counters slow = replay("byte-by-byte-request");
        assertThat(slow.get(Counter.HELD_BYTES_ACKED)).isGreaterThan(10);
        assertThat(slow.get(Counter.HANDOFFS_SENT)).isEqualTo(1);
        assertThat(replay("request-timeout").get(Counter.REQUEST_TIMEOUT)).isEqualTo(1);
        // 6 SYNs, at most half the table (2) half-open: the 4 later ones evict the oldest.
        assertThat(replay("syn-flood").get(Counter.HALF_OPEN_EVICTED)).isEqualTo(4);
        Counters full = replay("table-full");
        assertThat(full.get(Counter.SERVED_LOCALLY)).isEqualTo(MAX_CONNECTIONS);
        assertThat(full.get(Drop.TABLE_FULL)).isEqualTo(1);
        assertThat(replay("bad-checksum-and-garbage").get(Drop.BAD_CHECKSUM)).isEqualTo(1);
    }

    private static Counters replay(String seed) throws IOException {
        try (InputStream s = BtcpFuzzTest.class.getResourceAsStream("BtcpFuzzTestInputs/anySequence/" + seed)) {
            assertThat(s).as(seed).isNotNull();
            Run run = new Run(s.readAllBytes(), false);
            run.run();
            return run.btcp.counters();
        }
    }

    /** One engine and everything it emitted. */
    static final class Run implements Btcp.Output, Btcp.Control {
        final byte[] in;
        int at;
        long now = 1_000_000;
        final Btcp btcp;
        final MemorySegment buf = Arena.ofAuto().allocate(65536);
        final List<Long> requested = new ArrayList<>(); // connection ids we asked n2 to take
        final List<Long> taken = new ArrayList<>(); // connection ids n3 handed to us, acked
        boolean linkUp = true;
        /** Whether the input being handled had right checksums (or was no TCP packet at all). */
        boolean cleanInput;

        final Ipv4Header ip = new Ipv4Header();
        final TcpHeader tcp = new TcpHeader();

        Run(byte[] script, boolean eagerCommit) {
            in = script;
            var cfg = BtcpTest.config(A, new Btcp.Limits(MAX_CONNECTIONS, HOLD_BUFFERS, 4096, 1024), eagerCommit);
            btcp = new Btcp(
                    cfg, this, this, head -> head.path() != null && head.path().startsWith("/video/") ? N2 : null, now);
        }

        void run() {
            while (at < in.length) {
                int op = u8() & 7;
                cleanInput = true;
                switch (op) {
                    case WIRE_RAW, WIRE_FIXED, KERNEL_RAW, KERNEL_FIXED -> packet(op);
                    case TICK -> {
                        now += 16L * u16();
                        btcp.tick(now);
                    }
                    case CONTROL -> control();
                    default -> {} // 6, 7: no-ops, so that a mutated op byte does not end the script
                }
                assertThat(btcp.trackedConnections()).isBetween(0, MAX_CONNECTIONS);
                assertThat(btcp.freeHoldBuffers()).isBetween(0, HOLD_BUFFERS);
                assertThat(btcp.activeConnections()).isBetween(0, MAX_CONNECTIONS);
            }
        }

        private void packet(int op) {
            int len = Math.min(u16(), in.length - at);
            MemorySegment.copy(in, at, buf, ValueLayout.JAVA_BYTE, 0, len);
            at += len;
            if (op == WIRE_FIXED || op == KERNEL_FIXED) fixChecksums(buf, len);
            cleanInput = checksumsRightOrNotTcp(buf, len);
            if (op <= WIRE_FIXED) btcp.fromWire(buf, len);
            else btcp.fromKernel(buf, len);
        }

        private void control() {
            int kind = u8() % 8;
            int index = u8();
            int isn = u32(), tsVal = u32();
            int ws = (byte) u8();
            int mssOrPort = u16();
            int opts = u8();
            var init = new HandshakeInit(
                    isn, tsVal, Math.max(-1, Math.min(ws, 14)), mssOrPort, (opts & 1) != 0, (opts & 2) != 0);
            byte[] extra = bytes(Math.min(u16(), 4096));
            switch (kind) {
                case ACK -> btcp.onHandoffAck("n2", pick(requested, index), init, mssOrPort);
                case REFUSE ->
                    btcp.onHandoffRefuse(
                            "n2", pick(requested, index), Refusal.values()[index % Refusal.values().length]);
                case TERMINATE -> btcp.onTerminate("n2", pick(requested, index));
                case REQUEST_FROM_N3 -> {
                    // extra: the SYN and the ACK, split where its first byte says.
                    int cut = extra.length == 0 ? 0 : Math.min(extra[0] & 0xff, extra.length - 1);
                    byte[] syn = Arrays.copyOfRange(extra, Math.min(1, extra.length), 1 + cut);
                    byte[] ack = Arrays.copyOfRange(extra, Math.min(1 + cut, extra.length), extra.length);
                    if ((opts & 4) != 0) fixChecksums(MemorySegment.ofArray(syn), syn.length);
                    if ((opts & 4) != 0) fixChecksums(MemorySegment.ofArray(ack), ack.length);
                    btcp.onHandoffRequest(N3, connIdOf(syn, index), init, syn, ack);
                }
                case COMMIT_FROM_N3 -> btcp.onCommit(N3, pick(taken, index), extra);
                case ABORT_FROM_N3 -> btcp.onAbort(N3, pick(taken, index));
                case PEER_LINK -> { // down, or up with one of four incarnations (a new one: a restart)
                    String peer = (index & 1) == 0 ? "n2" : "n3";
                    if ((index & 2) == 0) btcp.onPeerDown(peer);
                    else btcp.onPeerUp(peer, isn & 3);
                }
                default -> linkUp = (index & 1) == 0;
            }
        }

        /** The id n3 would give the connection of this SYN (as ConnKeys does), or an arbitrary one. */
        private long connIdOf(byte[] syn, int generation) {
            if (syn.length < 40) return u32();
            MemorySegment s = MemorySegment.ofArray(syn);
            int ipHl = (Bytes.u8(s, 0) & 0xf) * 4;
            if (ipHl + 20 > syn.length) return u32();
            return ConnKeys.connId(ConnKeys.key(Bytes.u32(s, 12), Bytes.u16(s, ipHl), 0), generation);
        }

        private long pick(List<Long> ids, int index) {
            return ids.isEmpty() || index == 0xff ? (long) u32() << 16 : ids.get(index % ids.size());
        }

        // ---- Output and Control: record and check.

        @Override
        public void toKernel(MemorySegment p, int length) {
            check(p, length, false);
        }

        @Override
        public void toWire(MemorySegment p, int length) {
            check(p, length, true);
        }

        private void check(MemorySegment p, int length, boolean wire) {
            assertThat(length).isBetween(0, 65536);
            if (length < Ipv4Header.MIN_LENGTH || (Bytes.u8(p, 0) >>> 4) != 4) return;
            if (wire && Btcp.Shadows.DEFAULT.holds(Bytes.u32(p, 12))) {
                throw new AssertionError("a shadow source address left the node: " + describe(p, length));
            }
            if (!ip.wrap(p, 0, length).isValid()) return;
            if (!cleanInput || ip.protocol() != Ipv4Header.PROTOCOL_TCP || ip.isFragment()) return;
            tcp.wrap(p, ip.headerLength(), ip.totalLength() - ip.headerLength());
            if (tcp.segmentLength() < TcpHeader.MIN_LENGTH || tcp.validate() != TcpHeader.OK) return;
            if (!ip.headerChecksumValid() || !tcp.checksumValid(ip.sourceAddress(), ip.destinationAddress())) {
                throw new AssertionError("emitted " + (wire ? "to the wire" : "to the kernel")
                        + " with a wrong checksum: " + describe(p, length));
            }
        }

        private static String describe(MemorySegment p, int length) {
            return PacketPrinter.describe(p, length);
        }

        @Override
        public boolean handoffRequest(String peer, long connId, HandshakeInit entry, byte[] syn, byte[] ack) {
            assertThat(peer).isEqualTo("n2");
            requested.add(connId);
            return linkUp;
        }

        @Override
        public boolean commit(String peer, long connId, byte[] request) {
            assertThat(request.length).isLessThanOrEqualTo(ControlMessage.MAX_REQUEST_LENGTH);
            return linkUp;
        }

        @Override
        public void handoffAck(String peer, long connId, HandshakeInit chosen, int forwardPort) {
            assertThat(peer).isEqualTo("n3");
            assertThat(forwardPort).isEqualTo(61000 + N3.index());
            taken.add(connId);
        }

        @Override
        public void handoffRefuse(String peer, long connId, Refusal reason) {
            assertThat(reason).isNotNull();
        }

        @Override
        public void terminate(String peer, long connId) {}

        @Override
        public void abort(String peer, long connId) {}

        // ---- reading the script; past its end every read is zero.

        private int u8() {
            return at < in.length ? in[at++] & 0xff : 0;
        }

        private int u16() {
            return u8() << 8 | u8();
        }

        private int u32() {
            return u16() << 16 | u16();
        }

        private byte[] bytes(int n) {
            int k = Math.min(n, in.length - at);
            byte[] b = Arrays.copyOfRange(in, at, at + k);
            at += k;
            return b;
        }
    }

    /** Makes the IPv4 header and TCP checksums of a packet right, if it is IPv4 and TCP enough to have them. */
    static void fixChecksums(MemorySegment p, int len) {
        Ipv4Header ip = new Ipv4Header().wrap(p, 0, len);
        if (len < Ipv4Header.MIN_LENGTH || !ip.isValid()) return;
        ip.updateHeaderChecksum();
        int tcpLen = ip.totalLength() - ip.headerLength();
        if (ip.protocol() != Ipv4Header.PROTOCOL_TCP || tcpLen < TcpHeader.MIN_LENGTH) return;
        new TcpHeader().wrap(p, ip.headerLength(), tcpLen).updateChecksum(ip.sourceAddress(), ip.destinationAddress());
    }

    /** True unless the packet is IPv4 and TCP with a wrong IPv4 header or TCP checksum. */
    static boolean checksumsRightOrNotTcp(MemorySegment p, int len) {
        Ipv4Header ip = new Ipv4Header().wrap(p, 0, len);
        if (len < Ipv4Header.MIN_LENGTH || !ip.isValid()) return true;
        if (!ip.headerChecksumValid()) return false;
        int tcpLen = ip.totalLength() - ip.headerLength();
        if (ip.protocol() != Ipv4Header.PROTOCOL_TCP || tcpLen < TcpHeader.MIN_LENGTH) return true;
        return new TcpHeader()
                .wrap(p, ip.headerLength(), tcpLen)
                .checksumValid(ip.sourceAddress(), ip.destinationAddress());
    }
}
