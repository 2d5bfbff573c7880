package dev.baton.wire;

import static org.assertj.core.api.Assertions.assertThat;

import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import org.junit.jupiter.api.Test;

class SeqTest {

    private static final int HALF = 0x8000_0000; // 2^31

    @Test
    void ordersAcrossTheWrapAtZero() {
        assertThat(Seq.before(0xffff_ffff, 0)).isTrue();
        assertThat(Seq.after(0, 0xffff_ffff)).isTrue();
        assertThat(Seq.before(0, 0xffff_ffff)).isFalse();
        assertThat(Seq.after(0xffff_ffff, 0)).isFalse();
        assertThat(Seq.before(0xffff_fff0, 16)).isTrue();
        assertThat(Seq.after(16, 0xffff_fff0)).isTrue();
    }

    @Test
    void ordersAcrossTwoToThe31() {
        // Signed int overflow point: 0x7fffffff is before 0x80000000, as in plain unsigned order.
        assertThat(Seq.before(0x7fff_ffff, HALF)).isTrue();
        assertThat(Seq.after(HALF, 0x7fff_ffff)).isTrue();
        assertThat(Seq.before(HALF, 0x7fff_ffff)).isFalse();
        assertThat(Seq.after(0x7fff_ffff, HALF)).isFalse();
    }

    @Test
    void isStrict() {
        for (int a : new int[] {0, 1, -1, HALF, 0x7fff_ffff}) {
            assertThat(Seq.before(a, a)).isFalse();
            assertThat(Seq.after(a, a)).isFalse();
        }
    }

    @Test
    void looksAtMostHalfTheSpaceAhead() {
        // Within 2^31 - 1 ahead counts as after; exactly 2^31 apart is ambiguous and, as Linux's
        // before() on (s32)(a - b), each is "before" the other.
        assertThat(Seq.after(0x7fff_ffff, 0)).isTrue();
        assertThat(Seq.before(0x8000_0001, 0))
                .as("2^31 + 1 ahead is 2^31 - 1 behind")
                .isTrue();
        assertThat(Seq.after(0x8000_0001, 0)).isFalse();
        assertThat(Seq.before(HALF, 0)).isTrue();
        assertThat(Seq.before(0, HALF)).isTrue();
        assertThat(Seq.after(HALF, 0)).isTrue();
        assertThat(Seq.after(0, HALF)).isTrue();
    }

    @Test
    void betweenIsInclusiveAndWraps() {
        assertThat(Seq.between(5, 5, 10)).isTrue();
        assertThat(Seq.between(10, 5, 10)).isTrue();
        assertThat(Seq.between(4, 5, 10)).isFalse();
        assertThat(Seq.between(11, 5, 10)).isFalse();
        // A window straddling zero.
        assertThat(Seq.between(0, -10, 10)).isTrue();
        assertThat(Seq.between(-10, -10, 10)).isTrue();
        assertThat(Seq.between(0xffff_ffff, -10, 10)).isTrue();
        assertThat(Seq.between(11, -10, 10)).isFalse();
        assertThat(Seq.between(-11, -10, 10)).isFalse();
        // A window straddling 2^31.
        assertThat(Seq.between(HALF, 0x7fff_fff0, 0x8000_0010)).isTrue();
        assertThat(Seq.between(0x7fff_ffff, 0x7fff_fff0, 0x8000_0010)).isTrue();
        assertThat(Seq.between(0x8000_0011, 0x7fff_fff0, 0x8000_0010)).isFalse();
        assertThat(Seq.between(0, 0x7fff_fff0, 0x8000_0010)).isFalse();
        // Empty-width window and the whole space.
        assertThat(Seq.between(7, 7, 7)).isTrue();
        assertThat(Seq.between(8, 7, 7)).isFalse();
        assertThat(Seq.between(12345, 0, -1)).isTrue();
    }

    @Property(tries = 2000)
    void beforeAndAfterAgreeWithDistanceModuloTwoToThe32(@ForAll int a, @ForAll int b) {
        long ahead = ((long) a - b) & 0xffff_ffffL; // how far a is past b
        // Exactly 2^31 apart, a is both before and after b (see looksAtMostHalfTheSpaceAhead).
        assertThat(Seq.after(a, b)).isEqualTo(ahead != 0 && ahead <= (1L << 31));
        assertThat(Seq.before(a, b)).isEqualTo(ahead >= (1L << 31));
        assertThat(Seq.before(a, b)).isEqualTo(Seq.after(b, a));
    }

    @Property(tries = 2000)
    void betweenAgreesWithOffsetsFromLo(@ForAll int a, @ForAll int lo, @ForAll int hi) {
        long width = ((long) hi - lo) & 0xffff_ffffL;
        long offset = ((long) a - lo) & 0xffff_ffffL;
        assertThat(Seq.between(a, lo, hi)).isEqualTo(offset <= width);
        assertThat(Seq.between(lo + 3, lo, lo + 3)).isTrue();
    }
}
