package dev.baton.btcp;

import dev.baton.wire.Bytes;
import dev.baton.wire.TcpHeader;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * One connection handed off from an entry node (n1: {@code FORWARDING}) to a chosen node (n2:
 * {@code SERVING}, committed), set up in memory through the engines' public API as {@link BtcpTest}
 * does, with a template of each packet the connection then carries. The allocation guard
 * ({@link RewritePathAllocationTest}) and the JMH benchmarks (src/jmh/java) both drive it, so they
 * measure the same paths.
 */
final class HandedOffConnection {
    static final int CLIENT = Bytes.parseIpv4("10.200.0.2");
    static final int A = Bytes.parseIpv4("10.200.1.1");
    static final int B = Bytes.parseIpv4("10.200.1.2");
    static final int SHADOW_A = Bytes.parseIpv4("169.254.77.1");
    static final int CPORT = 40000;
    static final int FORWARD_PORT = 61001;
    static final int CLIENT_ISN = 42;
    static final int ISN_A = 1000;
    static final int ISN_B = 0x9000_0000;
    static final int TS_A = 5000;
    static final int TS_B = 777_777;
    static final Peer N1 = new Peer("n1", A, 1);
    static final Peer N2 = new Peer("n2", B, 2);
    static final String REQUEST = "GET /video/big.bin HTTP/1.1\r\nHost: x\r\n\r\n";
    static final int RESPONSE_BYTES = 1400;

    /** One node's BTCP, counting what it emits; control messages kept for the setup to deliver. */
    static final class Node implements Btcp.Output, Btcp.Control {
        final Btcp btcp;
        final MemorySegment buf = Arena.ofAuto().allocate(65536);
        /** Where emitted packets go once the connection is set up; until then the last one is kept. */
        Btcp.Output sink;

        byte[] lastWire;
        long emitted;
        long connId;
        HandshakeInit init;
        byte[] syn, ack, request;

        Node(int address, Peer target) {
            btcp = new Btcp(
                    Btcp.Config.defaults(address, 80),
                    this,
                    this,
                    head -> head.path().startsWith("/video/") ? target : null,
                    1_000_000);
        }

        @Override
        public void toKernel(MemorySegment p, int len) {
            emitted++;
            if (sink != null) sink.toKernel(p, len);
        }

        @Override
        public void toWire(MemorySegment p, int len) {
            emitted++;
            if (sink != null) sink.toWire(p, len);
            else lastWire = p.asSlice(0, len).toArray(ValueLayout.JAVA_BYTE);
        }

        @Override
        public boolean handoffRequest(String peer, long id, HandshakeInit e, byte[] s, byte[] a) {
            connId = id;
            init = e;
            syn = s;
            ack = a;
            return true;
        }

        @Override
        public boolean commit(String peer, long id, byte[] r) {
            request = r;
            return true;
        }

        @Override
        public void handoffAck(String peer, long id, HandshakeInit c, int port) {
            init = c;
        }

        @Override
        public void handoffRefuse(String peer, long id, Refusal reason) {
            throw new AssertionError("refused");
        }

        @Override
        public void terminate(String peer, long id) {}

        @Override
        public void abort(String peer, long id) {
            throw new AssertionError("aborted");
        }

        void fromWire(byte[] p) {
            MemorySegment.copy(p, 0, buf, ValueLayout.JAVA_BYTE, 0, p.length);
            btcp.fromWire(buf, p.length);
        }

        void fromKernel(byte[] p) {
            MemorySegment.copy(p, 0, buf, ValueLayout.JAVA_BYTE, 0, p.length);
            btcp.fromKernel(buf, p.length);
        }
    }

    final Node entry = new Node(A, N2);
    final Node chosen = new Node(B, null);

    /** Client to entry: a pure ACK with timestamps (ack and TSecr move into n2's space). */
    final byte[] clientAck;
    /** The same with two SACK blocks (their four edges move too). */
    final byte[] clientAckWithSack;
    /** Entry to chosen: {@link #clientAck} as the entry forwards it (n2 turns it to the shadow address). */
    final byte[] forwardedAck;
    /** Chosen kernel to client: a full segment of response data (source, seq and TSval move into n1's space). */
    final byte[] response;

    HandedOffConnection() {
        entry.fromWire(fromClient()
                .flags(TcpHeader.SYN)
                .seq(CLIENT_ISN)
                .mss(1460)
                .sackOk()
                .ts(100, 0)
                .wscale(7)
                .build());
        entry.fromKernel(TestPackets.tcp(A, 80, CLIENT, CPORT)
                .flags(TcpHeader.SYN)
                .seq(ISN_A)
                .ack(CLIENT_ISN + 1)
                .mss(1460)
                .sackOk()
                .ts(TS_A, 100)
                .wscale(7)
                .build());
        entry.fromWire(
                fromClient().seq(CLIENT_ISN + 1).ack(ISN_A + 1).ts(101, TS_A).build());
        entry.fromWire(fromClient()
                .flags(TcpHeader.PSH)
                .seq(CLIENT_ISN + 1)
                .ack(ISN_A + 1)
                .ts(102, TS_A)
                .payload(REQUEST)
                .build());
        chosen.btcp.onHandoffRequest(N1, entry.connId, entry.init, entry.syn, entry.ack);
        chosen.fromKernel(fromServer()
                .flags(TcpHeader.SYN)
                .seq(ISN_B)
                .ack(CLIENT_ISN + 1)
                .mss(1460)
                .sackOk()
                .ts(TS_B, 100)
                .wscale(7)
                .build());
        entry.btcp.onHandoffAck(N2.name(), entry.connId, chosen.init, FORWARD_PORT);
        chosen.btcp.onCommit(N1, entry.connId, entry.request);

        int clientNext = CLIENT_ISN + 1 + REQUEST.length();
        clientAck = fromClient().seq(clientNext).ack(ISN_A + 1).ts(103, TS_A).build();
        clientAckWithSack = fromClient()
                .seq(clientNext)
                .ack(ISN_A + 1)
                .ts(103, TS_A)
                .sack(ISN_A + 1 + 1448, ISN_A + 1 + 2 * 1448, ISN_A + 1 + 3 * 1448, ISN_A + 1 + 5 * 1448)
                .build();
        entry.fromWire(clientAck);
        forwardedAck = entry.lastWire;
        response = fromServer()
                .seq(ISN_B + 1)
                .ack(clientNext)
                .ts(TS_B + 1, 103)
                .payload(new byte[RESPONSE_BYTES])
                .build();
        if (Bytes.u16(MemorySegment.ofArray(forwardedAck), 22) != FORWARD_PORT) {
            throw new IllegalStateException("the entry is not forwarding the connection");
        }
    }

    static TestPackets fromClient() {
        return TestPackets.tcp(CLIENT, CPORT, A, 80);
    }

    static TestPackets fromServer() {
        return TestPackets.tcp(SHADOW_A, 80, CLIENT, CPORT);
    }

    /** IPv4 and TCP header bytes of a packet: all a translation touches. */
    static int headerLength(byte[] packet) {
        return (packet[0] & 0xf) * 4 + ((packet[(packet[0] & 0xf) * 4 + 12] & 0xff) >>> 4) * 4;
    }
}
