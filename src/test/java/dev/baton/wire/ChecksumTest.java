package dev.baton.wire;

import static dev.baton.wire.TestPackets.segment;
import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.MemorySegment;
import java.util.Random;
import org.junit.jupiter.api.Test;

class ChecksumTest {

    @Test
    void sumsRfc1071NumericalExample() {
        // RFC 1071 §3: bytes 00 01 f2 03 f4 f5 f6 f7 sum to 2ddf0, which folds to ddf2.
        MemorySegment s = segment("0001f203f4f5f6f7");
        long sum = Checksum.sum(s, 0, 8, 0);
        assertThat(Checksum.fold(sum)).isEqualTo(0xddf2);
        assertThat(Checksum.finish(sum)).isEqualTo(0x220d);
    }

    @Test
    void sumIsByteOrderIndependentAsRfc1071Says() {
        // RFC 1071 §2(B): swapping the bytes of every word swaps the bytes of the sum.
        MemorySegment swapped = segment("0100 03f2 f5f4 f7f6".replace(" ", ""));
        assertThat(Checksum.fold(Checksum.sum(swapped, 0, 8, 0))).isEqualTo(0xf2dd);
    }

    @Test
    void computesTheWellKnownIpv4HeaderChecksum() {
        // 192.168.0.1 > 192.168.0.199, UDP, total length 115: checksum b861.
        MemorySegment s = segment("4500007300004000401100 00c0a80001c0a800c7".replace(" ", ""));
        assertThat(Checksum.finish(Checksum.sum(s, 0, 20, 0))).isEqualTo(0xb861);
        Bytes.u16(s, 10, 0xb861);
        assertThat(Checksum.fold(Checksum.sum(s, 0, 20, 0))).isEqualTo(0xffff);
    }

    @Test
    void padsAnOddTrailingByteWithZeroOnTheRight() {
        assertThat(Checksum.fold(Checksum.sum(segment("ab"), 0, 1, 0))).isEqualTo(0xab00);
        assertThat(Checksum.fold(Checksum.sum(segment("0102ab"), 0, 3, 0))).isEqualTo(0xac02);
        assertThat(Checksum.fold(Checksum.sum(segment("01020304ab"), 0, 5, 0))).isEqualTo(0x0406 + 0xab00);
        assertThat(Checksum.fold(Checksum.sum(segment("01020304050607"), 0, 7, 0)))
                .isEqualTo(0x0102 + 0x0304 + 0x0506 + 0x0700);
    }

    @Test
    void sumsFromAnyOffsetAndAddsToTheGivenSum() {
        MemorySegment s = segment("ff0001f203f4f5f6f7");
        assertThat(Checksum.fold(Checksum.sum(s, 1, 8, 0))).isEqualTo(0xddf2);
        assertThat(Checksum.fold(Checksum.sum(s, 1, 8, 0x10000))).isEqualTo(0xddf3);
        assertThat(Checksum.sum(s, 1, 0, 77)).isEqualTo(77);
    }

    @Test
    void matchesAByteWiseReferenceOnRandomBuffers() {
        Random r = new Random(1071);
        for (int n = 0; n < 2000; n++) {
            byte[] b = new byte[r.nextInt(1600)];
            r.nextBytes(b);
            int from = b.length == 0 ? 0 : r.nextInt(b.length);
            int len = b.length - from;
            MemorySegment s = segment(b);
            assertThat(Checksum.finish(Checksum.sum(s, from, len, 0)))
                    .isEqualTo(TestPackets.referenceChecksum(b, from, len, 0));
        }
    }

    @Test
    void foldsCarriesEndAround() {
        assertThat(Checksum.fold(0)).isZero();
        assertThat(Checksum.fold(0xffff)).isEqualTo(0xffff);
        assertThat(Checksum.fold(0x10000)).isEqualTo(1);
        assertThat(Checksum.fold(0x1fffe)).isEqualTo(0xffff);
        assertThat(Checksum.fold(0xffff_ffffL)).isEqualTo(0xffff);
        assertThat(Checksum.fold(0x1_0000_0000L)).isEqualTo(1);
        assertThat(Checksum.fold(0x7fff_ffff_ffff_ffffL)).isEqualTo(Checksum.fold(0x7fffL + 0xffff * 3));
        assertThat(Checksum.finish(0)).isEqualTo(0xffff);
        assertThat(Checksum.finish(0xffff)).isZero();
    }

    @Test
    void updatesAsInRfc1624WorkedExample() {
        // RFC 1624 §4: the sum of the other header words is cd7a, a word changes from 5555 to 3285.
        // HC = ~(cd7a + 5555) = dd2f; eqn. 3 gives HC' = 0000, where RFC 1141's eqn. 2 gave ffff.
        int hc = ~Checksum.fold(0xcd7a + 0x5555) & 0xffff; // 0x122cf folds to 0x22d0
        assertThat(hc).isEqualTo(0xdd2f);
        assertThat(Checksum.update16(hc, 0x5555, 0x3285)).isEqualTo(0x0000);
        // and a full recompute agrees: ~(cd7a + 3285) = ~ffff = 0000.
        int sum = 0xcd7a + 0x3285;
        assertThat(~sum & 0xffff).isZero();
    }

    @Test
    void update32IsTwoWordUpdates() {
        Random r = new Random(1624);
        for (int n = 0; n < 10_000; n++) {
            int hc = r.nextInt(0xffff); // 0xffff never comes out of a full computation
            int old = r.nextInt();
            int now = r.nextInt();
            int twice = Checksum.update16(Checksum.update16(hc, old >>> 16, now >>> 16), old & 0xffff, now & 0xffff);
            assertThat(Checksum.update32(hc, old, now)).isEqualTo(twice);
        }
    }

    @Test
    void updatingToTheSameValueChangesNothing() {
        for (int hc : new int[] {0, 1, 0x7fff, 0xfffe}) {
            assertThat(Checksum.update16(hc, 0x1234, 0x1234)).isEqualTo(hc);
            assertThat(Checksum.update32(hc, 0xdeadbeef, 0xdeadbeef)).isEqualTo(hc);
            assertThat(Checksum.update16(hc, 0, 0)).isEqualTo(hc);
            assertThat(Checksum.update16(hc, 0xffff, 0xffff)).isEqualTo(hc);
        }
    }

    @Test
    void incrementalUpdateLandsOnZeroExactlyAsFullRecompute() {
        // Pick a new window so that the full checksum is 0x0000: eqn. 3 must give 0x0000, not 0xffff.
        MemorySegment s = segment(TestPackets.SYN);
        TcpHeader tcp = new TcpHeader().wrap(s, 20, 40);
        assertThat(tcp.validate()).isEqualTo(TcpHeader.OK);
        int src = 0x0a000001;
        int dst = 0x0a000002;
        // Sum of everything but the window and checksum fields.
        int checksumWithZeroWindow = TestPackets.referenceTcpChecksum(withWindow(s, 0), 20, 40, src, dst);
        int others = ~checksumWithZeroWindow & 0xffff;
        int window = 0xffff - others;

        tcp.windowWithChecksumUpdate(window);
        assertThat(tcp.computeChecksum(src, dst)).isZero();
        assertThat(tcp.checksum()).isZero();
        assertThat(tcp.checksumValid(src, dst)).isTrue();

        // And back again.
        tcp.windowWithChecksumUpdate(64240);
        assertThat(tcp.checksum()).isEqualTo(0x9bee);
    }

    private static byte[] withWindow(MemorySegment s, int window) {
        byte[] b = TestPackets.toBytes(s);
        b[34] = (byte) (window >>> 8);
        b[35] = (byte) window;
        return b;
    }
}
