package dev.baton.wire;

import static dev.baton.wire.TestPackets.ACK_WITH_SACK;
import static dev.baton.wire.TestPackets.SYN;
import static dev.baton.wire.TestPackets.segment;
import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.MemorySegment;
import org.junit.jupiter.api.Test;

class Ipv4HeaderTest {

    private final Ipv4Header ip = new Ipv4Header();

    @Test
    void readsEveryFieldOfARealSyn() {
        MemorySegment s = segment(SYN);
        ip.wrap(s, 0, 60);

        assertThat(ip.isValid()).isTrue();
        assertThat(ip.segment()).isSameAs(s);
        assertThat(ip.base()).isZero();
        assertThat(ip.version()).isEqualTo(4);
        assertThat(ip.headerLength()).isEqualTo(20);
        assertThat(ip.totalLength()).isEqualTo(60);
        assertThat(ip.identification()).isEqualTo(0x1c46);
        assertThat(ip.isFragment()).as("DF alone is not a fragment").isFalse();
        assertThat(ip.timeToLive()).isEqualTo(64);
        assertThat(ip.protocol()).isEqualTo(Ipv4Header.PROTOCOL_TCP);
        assertThat(ip.headerChecksum()).isEqualTo(0x0a74);
        assertThat(ip.sourceAddress()).isEqualTo(0x0a000001);
        assertThat(ip.destinationAddress()).isEqualTo(0x0a000002);
        assertThat(ip.payloadOffset()).isEqualTo(20);
        assertThat(ip.payloadLength()).isEqualTo(40);
        assertThat(ip.headerChecksumValid()).isTrue();
        assertThat(ip.computeHeaderChecksum()).isEqualTo(0x0a74);
    }

    @Test
    void readsFieldsAtANonZeroOddBase() {
        MemorySegment s = segment(ACK_WITH_SACK, 7, 5);
        ip.wrap(s, 7, 72);

        assertThat(ip.isValid()).isTrue();
        assertThat(ip.totalLength()).isEqualTo(72);
        assertThat(ip.identification()).isEqualTo(0x1c47);
        assertThat(ip.headerChecksum()).isEqualTo(0x0a67);
        assertThat(ip.payloadOffset()).isEqualTo(27);
        assertThat(ip.payloadLength()).isEqualTo(52);
        assertThat(ip.headerChecksumValid()).isTrue();
        assertThat(ip.computeHeaderChecksum()).isEqualTo(0x0a67);
    }

    @Test
    void seesFragmentsByMoreFragmentsFlagOrOffset() {
        MemorySegment s = segment(SYN);
        ip.wrap(s, 0, 60);
        Bytes.u16(s, 6, 0x2000); // MF, offset 0: the first fragment
        assertThat(ip.isFragment()).isTrue();
        Bytes.u16(s, 6, 0x0001); // offset 8 bytes, last fragment
        assertThat(ip.isFragment()).isTrue();
        Bytes.u16(s, 6, 0x1fff | 0x4000);
        assertThat(ip.isFragment()).isTrue();
        Bytes.u16(s, 6, 0x8000 | 0x4000); // reserved bit and DF only
        assertThat(ip.isFragment()).isFalse();
    }

    @Test
    void writesEachSettableFieldIntoA5FilledBufferAndOnlyThatField() {
        MemorySegment s = segment("", 0, 24);
        assertThat(s.byteSize()).isEqualTo(24);
        ip.wrap(s, 0, 24);
        Bytes.u8(s, 0, 0x45);

        ip.totalLength(24);
        assertThat(ip.totalLength()).isEqualTo(24);
        assertThat(Bytes.u16(s, 0)).isEqualTo(0x45a5);
        assertThat(Bytes.u16(s, 4)).isEqualTo(0xa5a5);

        ip.sourceAddressWithChecksumUpdate(0x7f000001);
        assertThat(ip.sourceAddress()).isEqualTo(0x7f000001);
        ip.destinationAddressWithChecksumUpdate(0xc0a80102);
        assertThat(ip.destinationAddress()).isEqualTo(0xc0a80102);

        ip.updateHeaderChecksum();
        byte[] b = TestPackets.toBytes(s);
        assertThat(ip.headerChecksum()).isEqualTo(TestPackets.referenceIpv4Checksum(b, 0));
        assertThat(ip.headerChecksumValid()).isTrue();

        // Every byte no setter owns is still 0xa5: TOS, id, flags, TTL, protocol, and past the header.
        for (int i : new int[] {1, 4, 5, 6, 7, 8, 9, 20, 21, 22, 23}) {
            assertThat(b[i]).as("byte %d", i).isEqualTo((byte) 0xa5);
        }
        assertThat(ip.version()).isEqualTo(4);
        assertThat(ip.headerLength()).isEqualTo(20);
        assertThat(ip.timeToLive()).isEqualTo(0xa5);
        assertThat(ip.protocol()).isEqualTo(0xa5);
        assertThat(ip.identification()).isEqualTo(0xa5a5);
        assertThat(ip.isValid()).isTrue();
    }

    @Test
    void addressRewritesKeepTheHeaderChecksumEqualToAFullRecompute() {
        MemorySegment s = segment(SYN);
        ip.wrap(s, 0, 60);
        ip.sourceAddressWithChecksumUpdate(0xc0a8_0a0b);
        assertThat(ip.headerChecksum()).isEqualTo(TestPackets.referenceIpv4Checksum(TestPackets.toBytes(s), 0));
        ip.destinationAddressWithChecksumUpdate(0xffff_ffff);
        assertThat(ip.headerChecksum()).isEqualTo(TestPackets.referenceIpv4Checksum(TestPackets.toBytes(s), 0));
        ip.sourceAddressWithChecksumUpdate(0);
        assertThat(ip.headerChecksum()).isEqualTo(ip.computeHeaderChecksum());
        assertThat(ip.headerChecksumValid()).isTrue();
    }

    @Test
    void detectsACorruptedHeaderChecksum() {
        MemorySegment s = segment(SYN);
        ip.wrap(s, 0, 60);
        Bytes.u8(s, 8, 63); // TTL changed without updating the checksum
        assertThat(ip.headerChecksumValid()).isFalse();
        assertThat(ip.computeHeaderChecksum()).isNotEqualTo(ip.headerChecksum());
        ip.updateHeaderChecksum();
        assertThat(ip.headerChecksumValid()).isTrue();
        assertThat(ip.headerChecksum()).isEqualTo(0x0b74);
    }

    @Test
    void checksumCoversIpOptions() {
        // IHL 6: one 4-byte option word (NOP NOP NOP EOL), total length 24.
        MemorySegment s = segment("46000018000040004006000001020304050607080101010000000000", 0, 0);
        ip.wrap(s, 0, 28);
        assertThat(ip.isValid()).isTrue();
        assertThat(ip.headerLength()).isEqualTo(24);
        assertThat(ip.payloadLength()).isZero();
        ip.updateHeaderChecksum();
        assertThat(ip.headerChecksum()).isEqualTo(TestPackets.referenceIpv4Checksum(TestPackets.toBytes(s), 0));
        Bytes.u8(s, 22, 7);
        assertThat(ip.headerChecksumValid()).isFalse();
    }

    @Test
    void acceptsCapacityBeyondTotalLength() {
        // Ethernet pads short frames: bytes after the total length are not part of the datagram.
        ip.wrap(segment(SYN, 0, 6), 0, 66);
        assertThat(ip.isValid()).isTrue();
        assertThat(ip.payloadLength()).isEqualTo(40);
    }

    @Test
    void rejectsFewerBytesThanAMinimalHeader() {
        ip.wrap(segment(SYN), 0, 19);
        assertThat(ip.isValid()).isFalse();
        ip.wrap(segment(SYN), 0, 0);
        assertThat(ip.isValid()).isFalse();
    }

    @Test
    void rejectsVersionsOtherThan4() {
        MemorySegment s = segment(SYN);
        Bytes.u8(s, 0, 0x65);
        assertThat(ip.wrap(s, 0, 60).isValid()).isFalse();
        Bytes.u8(s, 0, 0x05);
        assertThat(ip.wrap(s, 0, 60).isValid()).isFalse();
    }

    @Test
    void rejectsIhlBelowFive() {
        MemorySegment s = segment(SYN);
        for (int ihl = 0; ihl < 5; ihl++) {
            Bytes.u8(s, 0, 0x40 | ihl);
            assertThat(ip.wrap(s, 0, 60).isValid()).as("IHL %d", ihl).isFalse();
        }
    }

    @Test
    void rejectsHeaderLongerThanTotalLength() {
        MemorySegment s = segment(SYN);
        Bytes.u8(s, 0, 0x4f); // 60-byte header
        Bytes.u16(s, 2, 40);
        assertThat(ip.wrap(s, 0, 60).isValid()).isFalse();
        Bytes.u16(s, 2, 60); // header exactly the datagram: valid, empty payload
        assertThat(ip.wrap(s, 0, 60).isValid()).isTrue();
        assertThat(ip.payloadLength()).isZero();
    }

    @Test
    void rejectsTotalLengthBeyondCapacity() {
        MemorySegment s = segment(SYN);
        assertThat(ip.wrap(s, 0, 59).isValid()).isFalse();
        Bytes.u16(s, 2, 0xffff);
        assertThat(ip.wrap(s, 0, 60).isValid()).isFalse();
    }

    @Test
    void rejectsTotalLengthShorterThanAHeader() {
        MemorySegment s = segment(SYN);
        Bytes.u16(s, 2, 19);
        assertThat(ip.wrap(s, 0, 60).isValid()).isFalse();
        Bytes.u16(s, 2, 0);
        assertThat(ip.wrap(s, 0, 60).isValid()).isFalse();
    }

    @Test
    void totalLengthSetterCanBreakValidityAsDocumented() {
        MemorySegment s = segment(SYN);
        ip.wrap(s, 0, 60);
        ip.totalLength(61);
        assertThat(ip.isValid()).isFalse();
        ip.totalLength(60);
        assertThat(ip.isValid()).isTrue();
    }
}
