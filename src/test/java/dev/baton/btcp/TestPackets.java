package dev.baton.btcp;

import dev.baton.wire.Bytes;
import dev.baton.wire.Ipv4Header;
import dev.baton.wire.TcpHeader;
import java.io.ByteArrayOutputStream;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;

/** Builds IPv4/TCP packets with correct checksums for in-memory tests of the BTCP. */
final class TestPackets {
    int src, dst, sport, dport, seq, ack, flags, window = 64240;
    int mss = -1, wscale = -1;
    boolean sackOk;
    boolean ts;
    int tsVal, tsEcr;
    int[] sack = new int[0];
    byte[] payload = new byte[0];

    static TestPackets tcp(int src, int sport, int dst, int dport) {
        TestPackets p = new TestPackets();
        p.src = src;
        p.sport = sport;
        p.dst = dst;
        p.dport = dport;
        return p;
    }

    TestPackets seq(int v) {
        seq = v;
        return this;
    }

    TestPackets ack(int v) {
        ack = v;
        flags |= TcpHeader.ACK;
        return this;
    }

    TestPackets flags(int f) {
        flags |= f;
        return this;
    }

    TestPackets window(int w) {
        window = w;
        return this;
    }

    TestPackets mss(int v) {
        mss = v;
        return this;
    }

    TestPackets wscale(int v) {
        wscale = v;
        return this;
    }

    TestPackets sackOk() {
        sackOk = true;
        return this;
    }

    TestPackets ts(int val, int ecr) {
        ts = true;
        tsVal = val;
        tsEcr = ecr;
        return this;
    }

    TestPackets sack(int... edges) {
        sack = edges;
        return this;
    }

    TestPackets payload(String s) {
        payload = s.getBytes(StandardCharsets.ISO_8859_1);
        return this;
    }

    TestPackets payload(byte[] b) {
        payload = b;
        return this;
    }

    byte[] build() {
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        if (mss >= 0) {
            o.write(2);
            o.write(4);
            o.write(mss >> 8);
            o.write(mss);
        }
        if (sackOk) {
            o.write(4);
            o.write(2);
        }
        if (ts) {
            o.write(1);
            o.write(1);
            o.write(8);
            o.write(10);
            put32(o, tsVal);
            put32(o, tsEcr);
        }
        if (sack.length > 0) {
            o.write(1);
            o.write(1);
            o.write(5);
            o.write(2 + 4 * sack.length);
            for (int e : sack) put32(o, e);
        }
        if (wscale >= 0) {
            o.write(1);
            o.write(3);
            o.write(3);
            o.write(wscale);
        }
        while (o.size() % 4 != 0) o.write(0);
        byte[] opts = o.toByteArray();
        int tcpLen = 20 + opts.length + payload.length;
        int total = 20 + tcpLen;
        byte[] b = new byte[total];
        MemorySegment s = MemorySegment.ofArray(b);
        Bytes.u8(s, 0, 0x45);
        Bytes.u16(s, 2, total);
        Bytes.u16(s, 6, 0x4000);
        Bytes.u8(s, 8, 64);
        Bytes.u8(s, 9, 6);
        Bytes.u32(s, 12, src);
        Bytes.u32(s, 16, dst);
        new Ipv4Header().wrap(s, 0, total).updateHeaderChecksum();
        Bytes.u16(s, 20, sport);
        Bytes.u16(s, 22, dport);
        Bytes.u32(s, 24, seq);
        Bytes.u32(s, 28, ack);
        Bytes.u8(s, 32, (5 + opts.length / 4) << 4);
        Bytes.u8(s, 33, flags);
        Bytes.u16(s, 34, window);
        System.arraycopy(opts, 0, b, 40, opts.length);
        System.arraycopy(payload, 0, b, 40 + opts.length, payload.length);
        new TcpHeader().wrap(s, 20, tcpLen).updateChecksum(src, dst);
        return b;
    }

    private static void put32(ByteArrayOutputStream o, int v) {
        o.write(v >>> 24);
        o.write(v >>> 16);
        o.write(v >>> 8);
        o.write(v);
    }

    /** A parsed view of a captured packet, for assertions. */
    record View(Ipv4Header ip, TcpHeader tcp, byte[] bytes) {
        static View of(byte[] b) {
            MemorySegment s = MemorySegment.ofArray(b);
            Ipv4Header ip = new Ipv4Header().wrap(s, 0, b.length);
            if (!ip.isValid()) throw new AssertionError("invalid IPv4 packet");
            TcpHeader t = new TcpHeader().wrap(s, ip.headerLength(), ip.totalLength() - ip.headerLength());
            if (t.validate() != TcpHeader.OK) throw new AssertionError("invalid TCP header");
            return new View(ip, t, b);
        }

        boolean checksumsValid() {
            return ip.headerChecksumValid() && tcp.checksumValid(ip.sourceAddress(), ip.destinationAddress());
        }

        String payload() {
            int off = (int) tcp.payloadOffset();
            return new String(bytes, off, tcp.payloadLength(), StandardCharsets.ISO_8859_1);
        }
    }
}
