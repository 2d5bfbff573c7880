package dev.baton.wire;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.HexFormat;

/**
 * Known packets, as bytes commented layer by layer, and a reference checksum that shares no code
 * with {@link Checksum} (so the tests do not check the code against itself).
 */
final class TestPackets {
    private TestPackets() {}

    /**
     * A Linux-style SYN from 10.0.0.1:40000 to 10.0.0.2:80, 60 bytes, checksums computed
     * independently (byte-wise RFC 1071 sum).
     */
    static final String SYN = String.join(
            "",
            // IPv4: version 4, IHL 5 | TOS 0 | total length 60
            "45",
            "00",
            "003c",
            // identification 0x1c46 | flags DF, fragment offset 0
            "1c46",
            "4000",
            // TTL 64 | protocol 6 (TCP) | header checksum 0x0a74
            "40",
            "06",
            "0a74",
            // source 10.0.0.1 | destination 10.0.0.2
            "0a000001",
            "0a000002",
            // TCP: source port 40000 | destination port 80
            "9c40",
            "0050",
            // sequence number 42
            "0000002a",
            // acknowledgment number 0
            "00000000",
            // data offset 10 (40 bytes), reserved 0 | flags SYN | window 64240
            "a0",
            "02",
            "faf0",
            // checksum 0x9bee | urgent pointer 0
            "9bee",
            "0000",
            // options: MSS 1460
            "020405b4",
            // SACK permitted
            "0402",
            // timestamps TSval 100, TSecr 0
            "080a",
            "00000064",
            "00000000",
            // NOP
            "01",
            // window scale 7
            "030307");

    /**
     * A pure ACK from 10.0.0.1:40000 to 10.0.0.2:80 carrying timestamps and a SACK option of two
     * blocks, 72 bytes; its ack number and SACK edges sit above 2^31 to catch sign mistakes.
     */
    static final String ACK_WITH_SACK = String.join(
            "",
            // IPv4: version 4, IHL 5 | TOS 0 | total length 72
            "45",
            "00",
            "0048",
            // identification 0x1c47 | flags DF
            "1c47",
            "4000",
            // TTL 64 | protocol TCP | header checksum 0x0a67
            "40",
            "06",
            "0a67",
            // source 10.0.0.1 | destination 10.0.0.2
            "0a000001",
            "0a000002",
            // TCP: source port 40000 | destination port 80
            "9c40",
            "0050",
            // sequence number 43
            "0000002b",
            // acknowledgment number 0xc0000001 (3221225473)
            "c0000001",
            // data offset 13 (52 bytes) | flags ACK | window 501
            "d0",
            "10",
            "01f5",
            // checksum 0x7356 | urgent pointer 0
            "7356",
            "0000",
            // NOP, NOP, timestamps TSval 300, TSecr 200
            "0101",
            "080a",
            "0000012c",
            "000000c8",
            // NOP, NOP, SACK length 18: blocks [0xc00005a9, 0xc0000b51) and [0xc00010f9, 0xc00016a1)
            "0101",
            "0512",
            "c00005a9",
            "c0000b51",
            "c00010f9",
            "c00016a1");

    static byte[] bytes(String hex) {
        return HexFormat.of().parseHex(hex);
    }

    /** A heap segment holding {@code hex} at offset {@code base}, the rest filled with 0xa5. */
    static MemorySegment segment(String hex, int base, int extra) {
        byte[] b = bytes(hex);
        MemorySegment s = Arena.ofAuto().allocate(base + b.length + extra);
        s.fill((byte) 0xa5);
        MemorySegment.copy(b, 0, s, ValueLayout.JAVA_BYTE, base, b.length);
        return s;
    }

    static MemorySegment segment(String hex) {
        return segment(hex, 0, 0);
    }

    static MemorySegment segment(byte[] b) {
        MemorySegment s = Arena.ofAuto().allocate(Math.max(1, b.length));
        MemorySegment.copy(b, 0, s, ValueLayout.JAVA_BYTE, 0, b.length);
        return s;
    }

    /** RFC 1071 checksum of bytes [from, from+len), byte by byte, plus an extra 32-bit-wide sum. */
    static int referenceChecksum(byte[] b, int from, int len, long extra) {
        long sum = extra;
        for (int i = 0; i < len; i++) {
            int v = b[from + i] & 0xff;
            sum += (i % 2 == 0) ? v << 8 : v;
        }
        while ((sum >>> 16) != 0) sum = (sum & 0xffff) + (sum >>> 16);
        return (int) (~sum & 0xffff);
    }

    /** Reference TCP checksum over the pseudo-header and {@code b[from, from+len)}, with the field taken as zero. */
    static int referenceTcpChecksum(byte[] b, int from, int len, int src, int dst) {
        byte[] copy = b.clone();
        copy[from + 16] = 0;
        copy[from + 17] = 0;
        long pseudo = (long) (src >>> 16) + (src & 0xffff) + (dst >>> 16) + (dst & 0xffff) + 6 + len;
        return referenceChecksum(copy, from, len, pseudo);
    }

    /** Reference IPv4 header checksum with the field taken as zero. */
    static int referenceIpv4Checksum(byte[] b, int from) {
        byte[] copy = b.clone();
        copy[from + 10] = 0;
        copy[from + 11] = 0;
        return referenceChecksum(copy, from, (b[from] & 0xf) * 4, 0);
    }

    static byte[] toBytes(MemorySegment s) {
        return s.toArray(ValueLayout.JAVA_BYTE);
    }
}
