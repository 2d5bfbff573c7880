package dev.baton.wire;

import static dev.baton.wire.TestPackets.ACK_WITH_SACK;
import static dev.baton.wire.TestPackets.SYN;
import static dev.baton.wire.TestPackets.segment;
import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Random;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;
import org.junit.jupiter.api.Test;

class PacketPrinterTest {

    private static final String SYN_IP_LINE = "IPv4 10.0.0.1 > 10.0.0.2 len 60 ttl 64";

    /** Fixes both checksums after a test edits the packet, so only the edit shows. */
    private static void fixChecksums(MemorySegment s) {
        Ipv4Header ip = new Ipv4Header().wrap(s, 0, (int) s.byteSize());
        ip.updateHeaderChecksum();
        new TcpHeader()
                .wrap(s, ip.headerLength(), ip.payloadLength())
                .updateChecksum(ip.sourceAddress(), ip.destinationAddress());
    }

    @Test
    void describesARealSynOneLinePerLayer() {
        assertThat(PacketPrinter.describe(segment(SYN), 60))
                .isEqualTo(
                        SYN_IP_LINE + "\n"
                                + "TCP 40000 > 80 [S] seq 42 win 64240 <mss 1460,sackOK,TS 100:0,nop,wscale 7> len 0 checksum ok");
    }

    @Test
    void describesSackBlocksAndAcksAsUnsignedNumbers() {
        assertThat(PacketPrinter.describe(segment(ACK_WITH_SACK), 72))
                .isEqualTo("IPv4 10.0.0.1 > 10.0.0.2 len 72 ttl 64\n"
                        + "TCP 40000 > 80 [.] seq 43 ack 3221225473 win 501 <nop,nop,TS 300:200,nop,nop,"
                        + "sack 2 {3221226921:3221228369}{3221229817:3221231265}> len 0 checksum ok");
    }

    @Test
    void saysWhichTcpChecksumItWanted() {
        MemorySegment s = segment(SYN);
        Bytes.u32(s, 24, 43); // sequence number changed without a checksum update
        int want = TestPackets.referenceTcpChecksum(TestPackets.toBytes(s), 20, 40, 0x0a000001, 0x0a000002);
        assertThat(PacketPrinter.describe(s, 60))
                .endsWith(String.format(
                        "seq 43 win 64240 <mss 1460,sackOK,TS 100:0,nop,wscale 7> len 0 "
                                + "checksum BAD (want 0x%04x)",
                        want))
                .startsWith(SYN_IP_LINE + "\n");
    }

    @Test
    void saysWhichIpv4ChecksumItWanted() {
        MemorySegment s = segment(SYN);
        Bytes.u8(s, 8, 1); // TTL 1: word 0x4006 -> 0x0106, so the checksum grows by 0x3f00
        assertThat(PacketPrinter.describe(s, 60))
                .startsWith("IPv4 10.0.0.1 > 10.0.0.2 len 60 ttl 1 checksum BAD (want 0x4974)\nTCP 40000 > 80 [S]");
    }

    @Test
    void describesPayloadLengthAndFlagsAsTcpdumpDoes() {
        // The SYN turned into a data segment: FIN, PSH, ACK with 5 payload bytes and no options.
        MemorySegment s = segment(SYN.substring(0, 80) + "68656c6c6f");
        Bytes.u16(s, 2, 45);
        Bytes.u8(s, 32, 0x50);
        Bytes.u8(s, 33, TcpHeader.FIN | TcpHeader.PSH | TcpHeader.ACK);
        Bytes.u32(s, 28, 1000);
        fixChecksums(s);
        assertThat(PacketPrinter.describe(s, 45))
                .isEqualTo(
                        "IPv4 10.0.0.1 > 10.0.0.2 len 45 ttl 64\nTCP 40000 > 80 [FP.] seq 42 ack 1000 win 64240 len 5 checksum ok");

        int[][] cases = {
            {TcpHeader.SYN | TcpHeader.ACK},
            {0},
            {TcpHeader.RST},
            {TcpHeader.SYN | 0x40 | 0x80},
            {TcpHeader.URG | TcpHeader.ACK}
        };
        String[] want = {"[S.]", "[none]", "[R]", "[SEW]", "[U.]"};
        for (int i = 0; i < cases.length; i++) {
            Bytes.u8(s, 33, cases[i][0]);
            assertThat(PacketPrinter.describe(s, 45)).contains("TCP 40000 > 80 " + want[i] + " seq 42");
        }
        Bytes.u16(s, 38, 7);
        assertThat(PacketPrinter.describe(s, 45)).contains("ack 1000 win 64240 urg 7 len 5");
    }

    @Test
    void namesUnknownOptionsAndStopsAtEndOfOptionList() {
        // Kind 30 length 6, NOP, EOL, then bytes after EOL that are not looked at.
        MemorySegment s = segment(SYN.substring(0, 80) + "1e06deadbeef" + "01" + "00" + "ffff0000");
        Bytes.u16(s, 2, 52);
        Bytes.u8(s, 32, 0x80);
        fixChecksums(s);
        assertThat(PacketPrinter.describe(s, 52)).endsWith("win 64240 <opt 30 len 6,nop,eol> len 0 checksum ok");
    }

    @Test
    void saysWhereTheOptionsGoWrong() {
        MemorySegment s = segment(SYN);
        Bytes.u8(s, 41, 3); // MSS with length 3
        fixChecksums(s);
        assertThat(PacketPrinter.describe(s, 60)).endsWith("win 64240 <malformed> len 0 checksum ok");

        s = segment(SYN);
        Bytes.u8(s, 47, 9); // timestamps with length 9, after MSS and SACK-permitted
        fixChecksums(s);
        assertThat(PacketPrinter.describe(s, 60)).endsWith("win 64240 <mss 1460,sackOK,malformed> len 0 checksum ok");

        s = segment(SYN);
        Bytes.u8(s, 58, 0x30); // window scale length 48: runs past the header
        fixChecksums(s);
        assertThat(PacketPrinter.describe(s, 60)).contains("<mss 1460,sackOK,TS 100:0,nop,malformed>");
    }

    @Test
    void saysTruncatedWhenBytesAreMissing() {
        assertThat(PacketPrinter.describe(segment(SYN), 0)).isEqualTo("IPv4 truncated (0 bytes)");
        assertThat(PacketPrinter.describe(segment(SYN), -5)).isEqualTo("IPv4 truncated (0 bytes)");
        assertThat(PacketPrinter.describe(segment(SYN), 19)).isEqualTo("IPv4 truncated (19 bytes)");
        assertThat(PacketPrinter.describe(segment(SYN), 59)).isEqualTo(SYN_IP_LINE + " truncated (have 59 bytes)");
        // A length beyond the buffer is capped at the buffer.
        assertThat(PacketPrinter.describe(segment(SYN.substring(0, 80)), 60))
                .isEqualTo(SYN_IP_LINE + " truncated (have 40 bytes)");
    }

    @Test
    void ignoresBytesAfterTheTotalLength() {
        assertThat(PacketPrinter.describe(segment(SYN, 0, 6), 66))
                .endsWith("len 0 checksum ok")
                .contains("len 60");
    }

    @Test
    void saysTruncatedWhenTheTcpHeaderIsIncomplete() {
        MemorySegment s = segment(SYN);
        Bytes.u16(s, 2, 30);
        new Ipv4Header().wrap(s, 0, 60).updateHeaderChecksum();
        assertThat(PacketPrinter.describe(s, 60))
                .isEqualTo("IPv4 10.0.0.1 > 10.0.0.2 len 30 ttl 64\nTCP truncated (10 bytes)");
    }

    @Test
    void saysMalformedForImpossibleLengths() {
        MemorySegment s = segment(SYN);
        Bytes.u8(s, 0, 0x44);
        assertThat(PacketPrinter.describe(s, 60)).isEqualTo(SYN_IP_LINE + " malformed (header length 16)");
        Bytes.u8(s, 0, 0x4f);
        Bytes.u16(s, 2, 40);
        assertThat(PacketPrinter.describe(s, 60))
                .isEqualTo("IPv4 10.0.0.1 > 10.0.0.2 len 40 ttl 64 malformed (header length 60)");

        s = segment(SYN);
        Bytes.u8(s, 32, 0xf0);
        assertThat(PacketPrinter.describe(s, 60))
                .isEqualTo(SYN_IP_LINE + "\nTCP 40000 > 80 malformed (data offset 60 bytes, segment 40 bytes)");
        Bytes.u8(s, 32, 0x10);
        assertThat(PacketPrinter.describe(s, 60)).endsWith("malformed (data offset 4 bytes, segment 40 bytes)");
    }

    @Test
    void namesOtherProtocolsVersionsAndFragmentsWithoutDecodingThem() {
        MemorySegment udp = segment("45000073000040004011b861c0a80001c0a800c7", 0, 95);
        assertThat(PacketPrinter.describe(udp, 115))
                .isEqualTo("IPv4 192.168.0.1 > 192.168.0.199 len 115 ttl 64 proto 17");

        MemorySegment v6 = segment("6000000000000000", 0, 32);
        assertThat(PacketPrinter.describe(v6, 40)).isEqualTo("IP version 6 not decoded (40 bytes)");

        MemorySegment frag = segment(SYN);
        Bytes.u16(frag, 6, 0x2000);
        new Ipv4Header().wrap(frag, 0, 60).updateHeaderChecksum();
        assertThat(PacketPrinter.describe(frag, 60)).isEqualTo(SYN_IP_LINE + " fragment");
    }

    @Test
    void answersEvenWithoutReadableMemory() {
        assertThat(PacketPrinter.describe(null, 60)).isEqualTo("no packet");
        MemorySegment s;
        try (Arena arena = Arena.ofConfined()) {
            s = arena.allocate(60);
        }
        assertThat(PacketPrinter.describe(s, 60)).startsWith("unreadable packet");
    }

    @Property(tries = 2000)
    void neverThrowsOnRandomBytes(
            @ForAll @Size(max = 120) byte[] bytes, @ForAll @IntRange(min = -1, max = 130) int length) {
        String d = PacketPrinter.describe(TestPackets.segment(bytes), length);
        assertThat(d).isNotBlank().startsWith("IP");
        assertThat(d.lines().count()).isBetween(1L, 2L);
    }

    @Property(tries = 3000)
    void neverThrowsOnDamagedRealPackets(@ForAll long seed) {
        Random r = new Random(seed);
        byte[] b = TestPackets.bytes(r.nextBoolean() ? SYN : ACK_WITH_SACK);
        for (int i = r.nextInt(4) + 1; i > 0; i--) b[r.nextInt(b.length)] = (byte) r.nextInt(256);
        // Keep the IPv4 header plausible half of the time so damage reaches the TCP layer.
        if (r.nextBoolean()) {
            b[0] = 0x45;
            b[2] = 0;
            b[3] = (byte) b.length;
            b[9] = 6;
            b[6] = 0x40;
            b[7] = 0;
        }
        String d = PacketPrinter.describe(TestPackets.segment(b), r.nextInt(b.length + 5));
        assertThat(d).isNotBlank().startsWith("IP");
    }
}
