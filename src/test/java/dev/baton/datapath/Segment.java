package dev.baton.datapath;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Random;

/**
 * An Ethernet + IPv4 + TCP frame made for the data path's tests, which remembers where it put every
 * field it may be asked about: the tests check the programs against these offsets and their own
 * checksum arithmetic, not against the code under test or the wire layer.
 */
final class Segment {
    static final int ETH = 14;
    static final int IP_FLAGS_DF = 0x4000;
    static final int FIN = 0x01, SYN = 0x02, RST = 0x04, PSH = 0x08, ACK = 0x10;
    int src, dst, sport, dport, seq, ack, flags = ACK, window = 502, ttl = 64;
    int ipOptionWords; // IPv4 options (32-bit words of NOPs): the programs leave these to user space
    int ipFlags = IP_FLAGS_DF;
    int protocol = 6;
    int etherType = 0x0800;
    byte[] options = new byte[0];
    int tsAt = -1; // offset of TSval from the TCP header, -1: none
    int sackAt = -1; // offset of the first SACK edge from the TCP header
    int sackBlocks;
    byte[] payload = new byte[0];
    int checksumError; // added to the correct TCP checksum (0: correct)

    static Segment tcp(int src, int sport, int dst, int dport) {
        Segment s = new Segment();
        s.src = src;
        s.sport = sport;
        s.dst = dst;
        s.dport = dport;
        return s;
    }

    Segment seq(int v) {
        seq = v;
        return this;
    }

    Segment ack(int v) {
        ack = v;
        return this;
    }

    Segment flags(int f) {
        flags = f;
        return this;
    }

    Segment window(int w) {
        window = w;
        return this;
    }

    Segment payload(int n, Random r) {
        payload = new byte[n];
        r.nextBytes(payload);
        return this;
    }

    Segment payload(String ascii) {
        payload = ascii.getBytes(StandardCharsets.US_ASCII);
        return this;
    }

    /** Linux's layout on an established connection: NOP NOP TS, then NOP NOP SACK if edges are given. */
    Segment linuxOptions(int tsVal, int tsEcr, int... edges) {
        OptionWriter w = new OptionWriter();
        w.nop().nop().timestamps(tsVal, tsEcr);
        if (edges.length > 0) w.nop().nop().sack(edges);
        return options(w);
    }

    Segment options(OptionWriter w) {
        options = w.bytes();
        tsAt = w.tsAt;
        sackAt = w.sackAt;
        sackBlocks = w.sackBlocks;
        return this;
    }

    int tcpOffset() {
        return ETH + 20 + ipOptionWords * 4;
    }

    byte[] build() {
        int ipHl = 20 + ipOptionWords * 4;
        int tcpLen = 20 + options.length + payload.length;
        byte[] b = new byte[ETH + ipHl + tcpLen];
        // Ethernet: two made-up unicast addresses, then the type
        for (int i = 0; i < 6; i++) {
            b[i] = (byte) (0x02 + i);
            b[6 + i] = (byte) (0x12 + i);
        }
        put16(b, 12, etherType);
        int ip = ETH;
        b[ip] = (byte) (0x40 | (ipHl / 4));
        put16(b, ip + 2, ipHl + tcpLen);
        put16(b, ip + 4, 0x1234);
        put16(b, ip + 6, ipFlags);
        b[ip + 8] = (byte) ttl;
        b[ip + 9] = (byte) protocol;
        put32(b, ip + 12, src);
        put32(b, ip + 16, dst);
        for (int i = 20; i < ipHl; i++) b[ip + i] = 1; // NOPs
        put16(b, ip + 10, Checksums.ipv4(b, ip, ipHl));
        int t = ip + ipHl;
        put16(b, t, sport);
        put16(b, t + 2, dport);
        put32(b, t + 4, seq);
        put32(b, t + 8, ack);
        b[t + 12] = (byte) (((20 + options.length) / 4) << 4);
        b[t + 13] = (byte) flags;
        put16(b, t + 14, window);
        System.arraycopy(options, 0, b, t + 20, options.length);
        System.arraycopy(payload, 0, b, t + 20 + options.length, payload.length);
        put16(b, t + 16, (Checksums.tcp(b, t, tcpLen, src, dst) + checksumError) & 0xffff);
        return b;
    }

    static void put16(byte[] b, int at, int v) {
        b[at] = (byte) (v >>> 8);
        b[at + 1] = (byte) v;
    }

    static void put32(byte[] b, int at, int v) {
        b[at] = (byte) (v >>> 24);
        b[at + 1] = (byte) (v >>> 16);
        b[at + 2] = (byte) (v >>> 8);
        b[at + 3] = (byte) v;
    }

    static int get16(byte[] b, int at) {
        return ((b[at] & 0xff) << 8) | (b[at + 1] & 0xff);
    }

    static int get32(byte[] b, int at) {
        return ((b[at] & 0xff) << 24) | ((b[at + 1] & 0xff) << 16) | ((b[at + 2] & 0xff) << 8) | (b[at + 3] & 0xff);
    }

    /** Writes TCP options and remembers where the timestamps and SACK edges went. */
    static final class OptionWriter {
        private final ByteArrayOutputStream out = new ByteArrayOutputStream();
        int tsAt = -1, sackAt = -1, sackBlocks;

        OptionWriter nop() {
            out.write(1);
            return this;
        }

        OptionWriter eol() {
            out.write(0);
            return this;
        }

        OptionWriter mss(int v) {
            raw(2, 4, v >>> 8, v);
            return this;
        }

        OptionWriter windowScale(int v) {
            raw(3, 3, v);
            return this;
        }

        OptionWriter sackPermitted() {
            raw(4, 2);
            return this;
        }
        /** An option no program knows (RFC 6994 experimental, kind 254). */
        OptionWriter unknown(int length) {
            out.write(254);
            out.write(length);
            for (int i = 2; i < length; i++) out.write(0x5a);
            return this;
        }

        OptionWriter timestamps(int tsVal, int tsEcr) {
            out.write(8);
            out.write(10);
            tsAt = 20 + out.size();
            write32(tsVal);
            write32(tsEcr);
            return this;
        }

        OptionWriter sack(int... edges) {
            out.write(5);
            out.write(2 + 4 * edges.length);
            sackAt = 20 + out.size();
            sackBlocks = edges.length / 2;
            for (int e : edges) write32(e);
            return this;
        }

        OptionWriter raw(int... bytes) {
            for (int v : bytes) out.write(v);
            return this;
        }

        int size() {
            return out.size();
        }

        /** Pads to a 32-bit boundary with end-of-list bytes, as RFC 9293 section 3.1 allows. */
        byte[] bytes() {
            while (out.size() % 4 != 0) out.write(0);
            return out.toByteArray();
        }

        private void write32(int v) {
            out.write(v >>> 24);
            out.write(v >>> 16);
            out.write(v >>> 8);
            out.write(v);
        }
    }

    /** RFC 1071 sums, computed whole, for the tests to check what the programs updated incrementally. */
    static final class Checksums {
        private Checksums() {}

        static int ipv4(byte[] b, int from, int len) {
            long sum = 0;
            for (int i = 0; i < len; i += 2) {
                if (i == 10) continue; // the checksum field itself
                sum += get16(b, from + i);
            }
            return fold(sum);
        }

        /** The TCP checksum of {@code len} bytes at {@code from}, its own field counted as zero. */
        static int tcp(byte[] b, int from, int len, int src, int dst) {
            long sum = (long) (src >>> 16) + (src & 0xffff) + (dst >>> 16) + (dst & 0xffff) + 6 + len;
            for (int i = 0; i < len; i += 2) {
                if (i == 16) continue;
                int hi = b[from + i] & 0xff;
                int lo = i + 1 < len ? b[from + i + 1] & 0xff : 0;
                sum += (hi << 8) | lo;
            }
            return fold(sum);
        }

        private static int fold(long sum) {
            while ((sum >>> 16) != 0) sum = (sum & 0xffff) + (sum >>> 16);
            return (int) (~sum & 0xffff);
        }
    }
}
