package dev.baton.wire;

import static dev.baton.wire.TestPackets.ACK_WITH_SACK;
import static dev.baton.wire.TestPackets.SYN;
import static dev.baton.wire.TestPackets.segment;
import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.MemorySegment;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;

class TcpHeaderTest {

    private static final int CLIENT = 0x0a000001;
    private static final int SERVER = 0x0a000002;

    private final TcpHeader tcp = new TcpHeader();

    /** A TCP segment of a 20-byte fixed header (ports 1 > 2, ACK) plus {@code optionsHex}, padded by the caller. */
    private MemorySegment withOptions(String optionsHex) {
        int optionBytes = optionsHex.length() / 2;
        if (optionBytes % 4 != 0) throw new IllegalArgumentException("options must fill 32-bit words");
        int offsetWords = 5 + optionBytes / 4;
        String fixed = "00010002" + "00000001" + "00000002" + HexFormat.of().toHexDigits((byte) (offsetWords << 4))
                + "10" + "ffff" + "0000" + "0000";
        MemorySegment s = segment(fixed + optionsHex);
        tcp.wrap(s, 0, (int) s.byteSize());
        return s;
    }

    @Test
    void readsEveryFieldOfARealSyn() {
        MemorySegment s = segment(SYN);
        tcp.wrap(s, 20, 40);

        assertThat(tcp.validate()).isEqualTo(TcpHeader.OK);
        assertThat(tcp.base()).isEqualTo(20);
        assertThat(tcp.segmentLength()).isEqualTo(40);
        assertThat(tcp.sourcePort()).isEqualTo(40000);
        assertThat(tcp.destinationPort()).isEqualTo(80);
        assertThat(tcp.sequenceNumber()).isEqualTo(42);
        assertThat(tcp.acknowledgmentNumber()).isZero();
        assertThat(tcp.headerLength()).isEqualTo(40);
        assertThat(tcp.flags()).isEqualTo(TcpHeader.SYN);
        assertThat(tcp.syn()).isTrue();
        assertThat(tcp.ack()).isFalse();
        assertThat(tcp.fin()).isFalse();
        assertThat(tcp.rst()).isFalse();
        assertThat(tcp.window()).isEqualTo(64240);
        assertThat(tcp.checksum()).isEqualTo(0x9bee);
        assertThat(tcp.urgentPointer()).isZero();
        assertThat(tcp.payloadOffset()).isEqualTo(60);
        assertThat(tcp.payloadLength()).isZero();
        assertThat(tcp.sequenceLength())
                .as("a SYN occupies one sequence number")
                .isEqualTo(1);

        assertThat(tcp.mss()).isEqualTo(1460);
        assertThat(tcp.sackPermitted()).isTrue();
        assertThat(tcp.hasTimestamps()).isTrue();
        assertThat(tcp.tsVal()).isEqualTo(100);
        assertThat(tcp.tsEcr()).isZero();
        assertThat(tcp.windowScale()).isEqualTo(7);
        assertThat(tcp.sackBlockCount()).isZero();

        assertThat(tcp.checksumValid(CLIENT, SERVER)).isTrue();
        assertThat(tcp.computeChecksum(CLIENT, SERVER)).isEqualTo(0x9bee);
        assertThat(tcp.checksumValid(SERVER, CLIENT))
                .as("pseudo-header order does not matter for the sum")
                .isTrue();
        assertThat(tcp.checksumValid(CLIENT, 0x0a000003)).isFalse();
    }

    @Test
    void readsAnAckWithTwoSackBlocksAboveTwoToThe31() {
        MemorySegment s = segment(ACK_WITH_SACK, 3, 0);
        tcp.wrap(s, 23, 52);

        assertThat(tcp.validate()).isEqualTo(TcpHeader.OK);
        assertThat(tcp.sourcePort()).isEqualTo(40000);
        assertThat(tcp.destinationPort()).isEqualTo(80);
        assertThat(tcp.sequenceNumber()).isEqualTo(43);
        assertThat(tcp.acknowledgmentNumber()).isEqualTo(0xc0000001);
        assertThat(tcp.headerLength()).isEqualTo(52);
        assertThat(tcp.flags()).isEqualTo(TcpHeader.ACK);
        assertThat(tcp.ack()).isTrue();
        assertThat(tcp.syn()).isFalse();
        assertThat(tcp.window()).isEqualTo(501);
        assertThat(tcp.checksum()).isEqualTo(0x7356);
        assertThat(tcp.payloadLength()).isZero();
        assertThat(tcp.sequenceLength()).isZero();

        assertThat(tcp.mss()).isEqualTo(-1);
        assertThat(tcp.windowScale()).isEqualTo(-1);
        assertThat(tcp.sackPermitted()).isFalse();
        assertThat(tcp.hasTimestamps()).isTrue();
        assertThat(tcp.tsVal()).isEqualTo(300);
        assertThat(tcp.tsEcr()).isEqualTo(200);
        assertThat(tcp.sackBlockCount()).isEqualTo(2);
        assertThat(tcp.sackLeft(0)).isEqualTo(0xc00005a9);
        assertThat(tcp.sackRight(0)).isEqualTo(0xc0000b51);
        assertThat(tcp.sackLeft(1)).isEqualTo(0xc00010f9);
        assertThat(tcp.sackRight(1)).isEqualTo(0xc00016a1);

        assertThat(tcp.checksumValid(CLIENT, SERVER)).isTrue();
        assertThat(tcp.computeChecksum(CLIENT, SERVER)).isEqualTo(0x7356);
    }

    @Test
    void countsSynAndFinInSequenceLength() {
        // The SYN's fixed TCP header (bytes 20..40 of the datagram) with 5 bytes of payload.
        MemorySegment data = segment(TestPackets.SYN.substring(40, 80) + "0102030405");
        tcp.wrap(data, 0, 25);
        Bytes.u8(data, 12, 0x50);
        tcp.flags(TcpHeader.FIN | TcpHeader.ACK);
        assertThat(tcp.validate()).isEqualTo(TcpHeader.OK);
        assertThat(tcp.payloadLength()).isEqualTo(5);
        assertThat(tcp.payloadOffset()).isEqualTo(20);
        assertThat(tcp.sequenceLength()).isEqualTo(6);
        assertThat(tcp.fin()).isTrue();
        tcp.flags(TcpHeader.SYN | TcpHeader.FIN);
        assertThat(tcp.sequenceLength()).isEqualTo(7);
        tcp.flags(TcpHeader.RST);
        assertThat(tcp.rst()).isTrue();
        assertThat(tcp.sequenceLength()).isEqualTo(5);
    }

    @Test
    void writesEachSettableFieldIntoA5FilledBufferAndOnlyThatField() {
        MemorySegment s = segment("", 0, 24);
        tcp.wrap(s, 0, 24);
        Bytes.u8(s, 12, 0x50); // data offset 5: the only field without a setter that validate() needs

        tcp.sequenceNumber(0xdeadbeef);
        tcp.acknowledgmentNumber(0x80000000);
        tcp.flags(TcpHeader.PSH | TcpHeader.ACK);
        tcp.checksum(0x1234);
        assertThat(tcp.sequenceNumber()).isEqualTo(0xdeadbeef);
        assertThat(tcp.acknowledgmentNumber()).isEqualTo(0x80000000);
        assertThat(tcp.flags()).isEqualTo(0x18);
        assertThat(tcp.checksum()).isEqualTo(0x1234);

        tcp.windowWithChecksumUpdate(0x0102);
        assertThat(tcp.window()).isEqualTo(0x0102);
        tcp.sequenceNumberWithChecksumUpdate(7);
        assertThat(tcp.sequenceNumber()).isEqualTo(7);
        tcp.acknowledgmentNumberWithChecksumUpdate(-1);
        assertThat(tcp.acknowledgmentNumber()).isEqualTo(-1);

        byte[] b = TestPackets.toBytes(s);
        // Ports, the reserved nibble, the urgent pointer and the payload are untouched.
        for (int i : new int[] {0, 1, 2, 3, 18, 19, 20, 21, 22, 23}) {
            assertThat(b[i]).as("byte %d", i).isEqualTo((byte) 0xa5);
        }
        assertThat(tcp.sourcePort()).isEqualTo(0xa5a5);
        assertThat(tcp.urgentPointer()).isEqualTo(0xa5a5);
        assertThat(tcp.validate()).isEqualTo(TcpHeader.OK);
        assertThat(tcp.payloadLength()).isEqualTo(4);

        tcp.updateChecksum(CLIENT, SERVER);
        assertThat(tcp.checksum())
                .isEqualTo(TestPackets.referenceTcpChecksum(TestPackets.toBytes(s), 0, 24, CLIENT, SERVER));
        assertThat(tcp.checksumValid(CLIENT, SERVER)).isTrue();
    }

    @Test
    void rewritesOptionFieldsInPlaceKeepingTheChecksum() {
        MemorySegment s = segment(ACK_WITH_SACK);
        tcp.wrap(s, 20, 52);
        assertThat(tcp.validate()).isEqualTo(TcpHeader.OK);

        tcp.tsValWithChecksumUpdate(0xfffffff0);
        tcp.tsEcrWithChecksumUpdate(0x12345678);
        tcp.shiftSackBlocksWithChecksumUpdate(0x40000000); // edges wrap past 2^32

        assertThat(tcp.tsVal()).isEqualTo(0xfffffff0);
        assertThat(tcp.tsEcr()).isEqualTo(0x12345678);
        assertThat(tcp.sackLeft(0)).isEqualTo(0x000005a9);
        assertThat(tcp.sackRight(0)).isEqualTo(0x00000b51);
        assertThat(tcp.sackLeft(1)).isEqualTo(0x000010f9);
        assertThat(tcp.sackRight(1)).isEqualTo(0x000016a1);
        assertThat(tcp.checksumValid(CLIENT, SERVER)).isTrue();
        assertThat(tcp.checksum()).isEqualTo(tcp.computeChecksum(CLIENT, SERVER));
        assertThat(tcp.checksum())
                .isEqualTo(TestPackets.referenceTcpChecksum(TestPackets.toBytes(s), 20, 52, CLIENT, SERVER));
    }

    @Test
    void rewritesOptionsStartingAtOddOffsetsKeepingTheChecksum() {
        // Options need no alignment: NOP, timestamps (TSval at header byte 23), SACK of one block
        // (edges at bytes 33 and 37), NOP, EOL. Regression: RFC 1624 updates must follow the byte lanes.
        MemorySegment s =
                withOptions("01" + "080a" + "01020304" + "05060708" + "050a" + "0a0b0c0d" + "0e0f1011" + "01" + "0000");
        assertThat(tcp.validate()).isEqualTo(TcpHeader.OK);
        assertThat(tcp.tsVal()).isEqualTo(0x01020304);
        assertThat(tcp.sackLeft(0)).isEqualTo(0x0a0b0c0d);
        tcp.updateChecksum(CLIENT, SERVER);

        tcp.tsValWithChecksumUpdate(0x01020305);
        assertThat(tcp.checksumValid(CLIENT, SERVER)).isTrue();
        tcp.tsEcrWithChecksumUpdate(0xfffefdfc);
        assertThat(tcp.checksumValid(CLIENT, SERVER)).isTrue();
        tcp.shiftSackBlocksWithChecksumUpdate(0x01000001);
        assertThat(tcp.checksumValid(CLIENT, SERVER)).isTrue();
        assertThat(tcp.checksum())
                .isEqualTo(TestPackets.referenceTcpChecksum(TestPackets.toBytes(s), 0, 44, CLIENT, SERVER));
    }

    @Test
    void shiftingWithoutSackBlocksChangesNothing() {
        MemorySegment s = segment(SYN);
        byte[] before = TestPackets.toBytes(s);
        tcp.wrap(s, 20, 40);
        assertThat(tcp.validate()).isEqualTo(TcpHeader.OK);
        tcp.shiftSackBlocksWithChecksumUpdate(12345);
        assertThat(TestPackets.toBytes(s)).isEqualTo(before);
    }

    @Test
    void pseudoHeaderAddressChangeFollowsTheAddress() {
        MemorySegment s = segment(SYN);
        tcp.wrap(s, 20, 40);
        tcp.pseudoHeaderAddressChanged(SERVER, 0x7f000001);
        assertThat(tcp.checksumValid(CLIENT, 0x7f000001)).isTrue();
        assertThat(tcp.checksumValid(CLIENT, SERVER)).isFalse();
    }

    @Test
    void forgetsOptionsOfThePreviousSegmentWhenRevalidated() {
        MemorySegment syn = segment(SYN);
        tcp.wrap(syn, 20, 40);
        assertThat(tcp.validate()).isEqualTo(TcpHeader.OK);
        withOptions("");
        assertThat(tcp.validate()).isEqualTo(TcpHeader.OK);
        assertThat(tcp.mss()).isEqualTo(-1);
        assertThat(tcp.windowScale()).isEqualTo(-1);
        assertThat(tcp.sackPermitted()).isFalse();
        assertThat(tcp.hasTimestamps()).isFalse();
        assertThat(tcp.sackBlockCount()).isZero();
    }

    // ---- lengths ----

    @Test
    void rejectsSegmentsShorterThanAFixedHeader() {
        MemorySegment s = segment(SYN);
        for (int len : new int[] {0, 1, 19}) {
            assertThat(tcp.wrap(s, 20, len).validate()).as("length %d", len).isEqualTo(TcpHeader.TRUNCATED);
        }
    }

    @Test
    void rejectsDataOffsetBelowFive() {
        MemorySegment s = segment(SYN);
        for (int words = 0; words < 5; words++) {
            Bytes.u8(s, 32, words << 4);
            assertThat(tcp.wrap(s, 20, 40).validate()).as("offset %d", words).isEqualTo(TcpHeader.BAD_DATA_OFFSET);
        }
    }

    @Test
    void rejectsDataOffsetBeyondTheSegment() {
        MemorySegment s = segment(SYN);
        assertThat(tcp.wrap(s, 20, 39).validate()).isEqualTo(TcpHeader.BAD_DATA_OFFSET);
        Bytes.u8(s, 32, 0xf0); // 60-byte header in a 40-byte segment
        assertThat(tcp.wrap(s, 20, 40).validate()).isEqualTo(TcpHeader.BAD_DATA_OFFSET);
    }

    @Test
    void ignoresTheReservedBitsNextToTheDataOffset() {
        MemorySegment s = segment(SYN);
        Bytes.u8(s, 32, 0xaf);
        assertThat(tcp.wrap(s, 20, 40).validate()).isEqualTo(TcpHeader.OK);
        assertThat(tcp.headerLength()).isEqualTo(40);
    }

    // ---- options ----

    @Test
    void rejectsOptionLengthZeroOrOne() {
        withOptions("08000000");
        assertThat(tcp.validate()).isEqualTo(TcpHeader.BAD_OPTIONS);
        withOptions("08010000");
        assertThat(tcp.validate()).isEqualTo(TcpHeader.BAD_OPTIONS);
        withOptions("fe000000"); // even unknown kinds must have a sane length
        assertThat(tcp.validate()).isEqualTo(TcpHeader.BAD_OPTIONS);
    }

    @Test
    void rejectsAnOptionRunningPastTheHeader() {
        withOptions("0101080a00000001"); // timestamps need 10 bytes, 6 are left
        assertThat(tcp.validate()).isEqualTo(TcpHeader.BAD_OPTIONS);
        withOptions("010101fe"); // unknown kind 254 at the last byte: its length byte is missing
        assertThat(tcp.validate()).isEqualTo(TcpHeader.BAD_OPTIONS);
        withOptions("01011e03"); // unknown kind 30, length 3, one byte short
        assertThat(tcp.validate()).isEqualTo(TcpHeader.BAD_OPTIONS);
    }

    @Test
    void rejectsAnOptionThatRunsIntoThePayload() {
        // Data offset 6 (24 bytes) but MSS starts at byte 22: it would read 2 bytes of payload.
        MemorySegment s = segment("00010002000000010000000260100000000000000101020405b4");
        tcp.wrap(s, 0, 26);
        assertThat(tcp.validate()).isEqualTo(TcpHeader.BAD_OPTIONS);
    }

    @Test
    void rejectsMssWithLengthThree() {
        withOptions("02030501");
        assertThat(tcp.validate()).isEqualTo(TcpHeader.BAD_OPTIONS);
    }

    @Test
    void rejectsSackWithLengthEleven() {
        withOptions("050b" + "0000000100000002" + "00" + "00");
        assertThat(tcp.validate()).isEqualTo(TcpHeader.BAD_OPTIONS);
    }

    @Test
    void rejectsSackWithNoBlocks() {
        withOptions("05020101");
        assertThat(tcp.validate()).isEqualTo(TcpHeader.BAD_OPTIONS);
    }

    @Test
    void rejectsTimestampsWithLengthNine() {
        withOptions("0101" + "0809" + "0000000100000002");
        assertThat(tcp.validate()).isEqualTo(TcpHeader.BAD_OPTIONS);
    }

    @Test
    void rejectsWindowScaleAndSackPermittedWithWrongLengths() {
        withOptions("03040700");
        assertThat(tcp.validate()).isEqualTo(TcpHeader.BAD_OPTIONS);
        withOptions("04030000");
        assertThat(tcp.validate()).isEqualTo(TcpHeader.BAD_OPTIONS);
    }

    @Test
    void stopsAtEndOfOptionList() {
        // MSS, then EOL, then bytes that would be malformed (length 0) and a window scale: all ignored.
        withOptions("020405b4" + "00" + "0800" + "03" + "0307" + "0000");
        assertThat(tcp.validate()).isEqualTo(TcpHeader.OK);
        assertThat(tcp.mss()).isEqualTo(1460);
        assertThat(tcp.windowScale()).isEqualTo(-1);
    }

    @Test
    void clampsWindowScaleTo14() {
        for (int[] c : new int[][] {{0, 0}, {7, 7}, {14, 14}, {15, 14}, {255, 14}}) {
            withOptions("010303" + HexFormat.of().toHexDigits((byte) c[0]));
            assertThat(tcp.validate()).isEqualTo(TcpHeader.OK);
            assertThat(tcp.windowScale()).as("shift %d", c[0]).isEqualTo(c[1]);
        }
    }

    @Test
    void skipsUnknownOptionsByTheirLength() {
        // Kind 30 (MPTCP) length 6, then MSS 536, then NOP NOP.
        withOptions("1e06deadbeef" + "02040218" + "0101");
        assertThat(tcp.validate()).isEqualTo(TcpHeader.OK);
        assertThat(tcp.mss()).isEqualTo(536);
    }

    @Test
    void acceptsFourSackBlocksFillingTheOptionSpace() {
        StringBuilder sack = new StringBuilder("0101" + "0522");
        for (int i = 1; i <= 8; i++) sack.append(String.format("%08x", i * 1000));
        withOptions(sack.toString());
        assertThat(tcp.headerLength()).isEqualTo(56);
        assertThat(tcp.validate()).isEqualTo(TcpHeader.OK);
        assertThat(tcp.sackBlockCount()).isEqualTo(4);
        assertThat(tcp.sackLeft(3)).isEqualTo(7000);
        assertThat(tcp.sackRight(3)).isEqualTo(8000);
    }

    @Test
    void acceptsAHeaderOfOnlyNops() {
        withOptions("01010101" + "01010101");
        assertThat(tcp.validate()).isEqualTo(TcpHeader.OK);
        assertThat(tcp.hasTimestamps()).isFalse();
    }
}
