package dev.baton.wire;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.lang.foreign.MemorySegment;
import java.util.zip.CRC32;

/**
 * Fuzz target for the packet views (Jazzer; seeds in {@code WireFuzzTestInputs/anyPacket/}, replayed
 * by every test run; {@code JAZZER_FUZZ=1} explores). The input is one raw IPv4 packet.
 *
 * <p>Checked: {@link Ipv4Header#isValid()} and {@link TcpHeader#validate()} accept or refuse it
 * without an exception, and once they accepted it no accessor reads outside it (the segment is
 * exactly the input, so a stray read throws); {@link PacketPrinter} describes it without throwing;
 * and every {@code ...WithChecksumUpdate} rewrite the BTCP uses, applied to the packet with its
 * checksums first made right, leaves both checksums right (RFC 1624) and the new values in place.
 */
class WireFuzzTest {

    @FuzzTest(maxDuration = "5m")
    void anyPacket(byte[] data) {
        MemorySegment p = MemorySegment.ofArray(data);
        assertThat(PacketPrinter.describe(p, data.length)).isNotEmpty();

        Ipv4Header ip = new Ipv4Header().wrap(p, 0, data.length);
        if (!ip.isValid()) return;
        readAll(ip);
        if (ip.protocol() != Ipv4Header.PROTOCOL_TCP) return;
        TcpHeader tcp = new TcpHeader().wrap(p, ip.headerLength(), ip.totalLength() - ip.headerLength());
        if (tcp.validate() != TcpHeader.OK) return;
        readAll(tcp);

        // Make the checksums right, then rewrite as the BTCP does, with values drawn from the input.
        ip.updateHeaderChecksum();
        tcp.updateChecksum(ip.sourceAddress(), ip.destinationAddress());
        CRC32 crc = new CRC32();
        crc.update(data);
        long r = crc.getValue() * 0x9E3779B97F4A7C15L;
        int delta = (int) r;
        int address = (int) (r >>> 32);

        int oldDst = ip.destinationAddress();
        ip.destinationAddressWithChecksumUpdate(address);
        tcp.pseudoHeaderAddressChanged(oldDst, address);
        int oldSrc = ip.sourceAddress();
        ip.sourceAddressWithChecksumUpdate(~address);
        tcp.pseudoHeaderAddressChanged(oldSrc, ~address);
        int seq = tcp.sequenceNumber() - delta;
        tcp.sequenceNumberWithChecksumUpdate(seq);
        int ack = tcp.acknowledgmentNumber() + delta;
        tcp.acknowledgmentNumberWithChecksumUpdate(ack);
        tcp.destinationPortWithChecksumUpdate(delta >>> 16);
        tcp.windowWithChecksumUpdate(delta & 0xffff);
        if (tcp.hasTimestamps()) {
            int tsVal = tcp.tsVal() - delta;
            int tsEcr = tcp.tsEcr() + ~delta;
            tcp.tsValWithChecksumUpdate(tsVal);
            tcp.tsEcrWithChecksumUpdate(tsEcr);
            assertThat(tcp.tsVal()).isEqualTo(tsVal);
            assertThat(tcp.tsEcr()).isEqualTo(tsEcr);
        }
        int[] left = new int[tcp.sackBlockCount()];
        for (int i = 0; i < left.length; i++) left[i] = tcp.sackLeft(i);
        tcp.shiftSackBlocksWithChecksumUpdate(delta);
        for (int i = 0; i < left.length; i++) assertThat(tcp.sackLeft(i)).isEqualTo(left[i] + delta);

        assertThat(ip.destinationAddress()).isEqualTo(address);
        assertThat(ip.sourceAddress()).isEqualTo(~address);
        assertThat(tcp.sequenceNumber()).isEqualTo(seq);
        assertThat(tcp.acknowledgmentNumber()).isEqualTo(ack);
        assertThat(tcp.destinationPort()).isEqualTo(delta >>> 16);
        assertThat(tcp.window()).isEqualTo(delta & 0xffff);
        assertThat(ip.headerChecksumValid())
                .as("IPv4 header checksum after rewriting")
                .isTrue();
        assertThat(tcp.checksumValid(ip.sourceAddress(), ip.destinationAddress()))
                .as("TCP checksum after rewriting")
                .isTrue();
        assertThat(tcp.validate()).as("rewriting keeps the options walkable").isEqualTo(TcpHeader.OK);
    }

    /** Every accessor of a valid IPv4 header; each throws if it reads outside the packet. */
    private static void readAll(Ipv4Header ip) {
        assertThat(ip.version()).isEqualTo(4);
        assertThat(ip.headerLength()).isBetween(Ipv4Header.MIN_LENGTH, ip.totalLength());
        assertThat(ip.payloadLength()).isGreaterThanOrEqualTo(0);
        ip.identification();
        ip.isFragment();
        ip.timeToLive();
        ip.headerChecksum();
        ip.computeHeaderChecksum();
        ip.headerChecksumValid();
    }

    /** Every accessor of a validated TCP header, options included. */
    private static void readAll(TcpHeader tcp) {
        assertThat(tcp.headerLength()).isBetween(TcpHeader.MIN_LENGTH, tcp.segmentLength());
        assertThat(tcp.payloadLength()).isGreaterThanOrEqualTo(0);
        tcp.sourcePort();
        tcp.flags();
        tcp.urgentPointer();
        tcp.sequenceLength();
        assertThat(tcp.windowScale()).isBetween(-1, 14);
        assertThat(tcp.mss()).isBetween(-1, 0xffff);
        tcp.sackPermitted();
        if (tcp.hasTimestamps()) {
            tcp.tsVal();
            tcp.tsEcr();
        }
        assertThat(tcp.sackBlockCount()).isBetween(0, 4); // (40 - 2) / 8 blocks fit the option space
        for (int i = 0; i < tcp.sackBlockCount(); i++) {
            tcp.sackLeft(i);
            tcp.sackRight(i);
        }
    }
}
