package dev.baton.wire;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.MemorySegment;
import org.junit.jupiter.api.Test;

class VirtioNetHeaderTest {
    /** What the kernel side of a TUN with TSO4 hands over for a 64 KiB send (fields little-endian). */
    private static final String GSO_TCPV4 = String.join(
            "",
            "01", // flags: NEEDS_CSUM
            "01", // gso_type: TCPV4
            "4200", // hdr_len 66 (20 IPv4 + 32 TCP + 14 the kernel counts for a link header)
            "a805", // gso_size 1448
            "1400", // csum_start 20
            "1000" // csum_offset 16
            );

    @Test
    void readsEveryFieldLittleEndian() {
        MemorySegment s = TestPackets.segment(GSO_TCPV4);
        VirtioNetHeader h = new VirtioNetHeader().wrap(s, 0);
        assertThat(h.flags()).isEqualTo(VirtioNetHeader.F_NEEDS_CSUM);
        assertThat(h.gsoType()).isEqualTo(VirtioNetHeader.GSO_TCPV4);
        assertThat(h.headerLength()).isEqualTo(66);
        assertThat(h.gsoSize()).isEqualTo(1448);
        assertThat(h.checksumStart()).isEqualTo(20);
        assertThat(h.checksumOffset()).isEqualTo(16);
        assertThat(h.needsChecksum()).isTrue();
        assertThat(h.isGso()).isTrue();
    }

    @Test
    void ecnAloneIsNoSuperPacket() {
        MemorySegment s = TestPackets.segment("0080000000000000" + "0000");
        VirtioNetHeader h = new VirtioNetHeader().wrap(s, 0);
        assertThat(h.isGso()).isFalse();
        assertThat(h.needsChecksum()).isFalse();
    }

    @Test
    void clearZeroesTheHeaderAndNothingAround() {
        MemorySegment s = TestPackets.segment("a5" + GSO_TCPV4 + "a5");
        VirtioNetHeader h = new VirtioNetHeader().wrap(s, 1);
        h.clear();
        assertThat(TestPackets.toBytes(s)).containsExactly(TestPackets.bytes("a5" + "00".repeat(10) + "a5"));
    }

    @Test
    void completesAPartialChecksumIntoTheFullOne() {
        byte[] packet = TestPackets.bytes(TestPackets.SYN);
        int src = Bytes.u32(TestPackets.segment(packet), 12);
        int dst = Bytes.u32(TestPackets.segment(packet), 16);
        int tcpLen = packet.length - 20;
        int full = TestPackets.referenceTcpChecksum(packet, 20, tcpLen, src, dst);
        MemorySegment p = TestPackets.segment(packet);
        long pseudo = (src & 0xffffffffL) + (dst & 0xffffffffL) + 6 + tcpLen;
        Bytes.u16(p, 36, Checksum.fold(pseudo)); // as the kernel leaves it for CHECKSUM_PARTIAL

        MemorySegment vnet = TestPackets.segment("0100" + GSO_TCPV4.substring(4));
        VirtioNetHeader h = new VirtioNetHeader().wrap(vnet, 0);
        assertThat(h.completeChecksum(p, 0, packet.length)).isTrue();
        assertThat(Bytes.u16(p, 36)).isEqualTo(full);
        assertThat(h.needsChecksum()).isFalse();
    }

    @Test
    void refusesOffsetsOutsideThePacket() {
        MemorySegment p = TestPackets.segment(TestPackets.SYN);
        byte[] before = TestPackets.toBytes(p);
        VirtioNetHeader h = new VirtioNetHeader().wrap(TestPackets.segment(GSO_TCPV4), 0);
        h.u16le(VirtioNetHeader.CSUM_START, (int) p.byteSize() - 1);
        assertThat(h.completeChecksum(p, 0, (int) p.byteSize())).isFalse();
        assertThat(h.needsChecksum()).isTrue();
        assertThat(TestPackets.toBytes(p)).containsExactly(before);
    }
}
