package dev.baton.node;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class HeavyHittersTest {

    @Test
    void countsExactlyWhileTheKeysFit() {
        HeavyHitters h = new HeavyHitters(8, 3);
        add(h, "/a", 1, 5);
        add(h, "/b", 2, 3);
        add(h, "/c", 1, 7);
        add(h, "/a", 2, 2);

        List<HeavyHitters.Entry> top = h.top(10);
        assertThat(top).extracting(HeavyHitters.Entry::key).containsExactly("/a", "/c", "/b");
        assertThat(top).extracting(HeavyHitters.Entry::count).containsExactly(7L, 7L, 3L);
        assertThat(top).extracting(HeavyHitters.Entry::error).containsOnly(0L);
        assertThat(top.getFirst().byTag()).containsExactly(0, 5, 2);
        assertThat(h.total()).isEqualTo(17);
        assertThat(h.top(1)).extracting(HeavyHitters.Entry::key).containsExactly("/a"); // ties by key
    }

    @Test
    void staysBoundedUnderMillionsOfDistinctKeysAndKeepsTheHeavyOnes() {
        HeavyHitters h = new HeavyHitters(64, 2);
        SplittableRandom random = new SplittableRandom(5);
        // Five hot paths at 5%, 4%, 3%, 2.5% and 2% of the stream (each above 1/64 = 1.6%); the rest,
        // about 2.5 million, are each seen once (a scan of random paths).
        double[] hot = {0.05, 0.04, 0.03, 0.025, 0.02};
        long[] truth = new long[hot.length];
        int n = 3_000_000;
        for (int i = 0; i < n; i++) {
            double u = random.nextDouble();
            int k = -1;
            for (int j = 0; j < hot.length; j++) {
                if (u < cumulative(hot, j)) {
                    k = j;
                    break;
                }
            }
            if (k >= 0) {
                truth[k]++;
                h.add("/hot/" + k, 1);
            } else {
                h.add("/scan/" + random.nextLong(), 0);
            }
        }

        assertThat(h.size()).isEqualTo(64);
        assertThat(h.top(1000)).hasSize(64);
        assertThat(h.total()).isEqualTo(n);
        List<HeavyHitters.Entry> top = h.top(hot.length);
        for (int k = 0; k < hot.length; k++) {
            assertThat(top.get(k).key()).as("rank " + k).isEqualTo("/hot/" + k);
            HeavyHitters.Entry e = top.get(k);
            assertThat(e.count()).as("never under the truth").isGreaterThanOrEqualTo(truth[k]);
            assertThat(e.count() - e.error())
                    .as("the guaranteed part never over it")
                    .isLessThanOrEqualTo(truth[k]);
            assertThat(e.byTag()[1]).isEqualTo(e.count() - e.error());
        }
    }

    @Test
    void boundsHoldOnSkewedStreams() {
        for (long seed = 1; seed <= 20; seed++) {
            SplittableRandom random = new SplittableRandom(seed);
            int capacity = 4 + random.nextInt(28);
            HeavyHitters h = new HeavyHitters(capacity, 1);
            Map<String, Long> truth = new HashMap<>();
            int n = 20_000;
            for (int i = 0; i < n; i++) {
                // Roughly Zipf: key k with weight 1/k over 500 keys.
                String key = "/k" + (int) Math.floor(Math.exp(random.nextDouble() * Math.log(500)));
                truth.merge(key, 1L, Long::sum);
                h.add(key, 0);
            }
            long sum = 0;
            for (HeavyHitters.Entry e : h.top(capacity)) {
                long t = truth.get(e.key());
                assertThat(e.count()).as("seed " + seed + " " + e).isGreaterThanOrEqualTo(t);
                assertThat(e.count() - e.error()).as("seed " + seed + " " + e).isLessThanOrEqualTo(t);
                assertThat(e.error()).as("an error is at most n / capacity").isLessThanOrEqualTo(n / capacity);
                sum += e.count();
            }
            assertThat(sum)
                    .as("the counts of a full table add up to the stream")
                    .isEqualTo(n);
            for (var t : truth.entrySet()) {
                if (t.getValue() > n / capacity) {
                    assertThat(h.top(capacity))
                            .as("seed " + seed + ": frequent " + t)
                            .anyMatch(e -> e.key().equals(t.getKey()));
                }
            }
        }
    }

    @Test
    void aKeyThatReplacesAnotherInheritsItsCountAsErrorAndStartsItsTagsAfresh() {
        HeavyHitters h = new HeavyHitters(2, 2);
        add(h, "/a", 0, 3);
        add(h, "/b", 1, 1);
        h.add("/c", 0); // replaces /b, the smallest

        List<HeavyHitters.Entry> top = h.top(2);
        assertThat(top).extracting(HeavyHitters.Entry::key).containsExactly("/a", "/c");
        HeavyHitters.Entry c = top.get(1);
        assertThat(c.count()).isEqualTo(2);
        assertThat(c.error()).isEqualTo(1);
        assertThat(c.byTag()).containsExactly(1, 0);
    }

    @Test
    void aWeightedAddCountsAsThatManySingleOnes() {
        SplittableRandom rnd = new SplittableRandom(7);
        HeavyHitters single = new HeavyHitters(64, 3), weighted = new HeavyHitters(64, 3);
        for (int i = 0; i < 2_000; i++) {
            String key = "/p" + (int) Math.abs(rnd.nextGaussian() * 6);
            int tag = rnd.nextInt(3);
            int n = 1 + rnd.nextInt(5);
            for (int j = 0; j < n; j++) single.add(key, tag);
            weighted.add(key, tag, n);
        }
        assertThat(weighted.total()).isEqualTo(single.total());
        // Every key fits: both tables count exactly, the same numbers by key and tag.
        assertThat(weighted.size()).isEqualTo(single.size()).isLessThan(64);
        Map<String, List<Long>> a = new HashMap<>(), b = new HashMap<>();
        for (var e : single.top(64)) a.put(e.key(), List.of(e.count(), e.byTag()[0], e.byTag()[1], e.byTag()[2]));
        for (var e : weighted.top(64)) b.put(e.key(), List.of(e.count(), e.byTag()[0], e.byTag()[1], e.byTag()[2]));
        assertThat(b).isEqualTo(a);
        assertThatThrownBy(() -> weighted.add("/x", 0, 0)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void refusesTagsOutOfRangeAndEmptyTables() {
        HeavyHitters h = new HeavyHitters(4, 2);
        assertThatThrownBy(() -> h.add("/a", 2)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> h.add("/a", -1)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new HeavyHitters(0, 1)).isInstanceOf(IllegalArgumentException.class);
        assertThat(h.total()).isZero();
        assertThat(h.top(3)).isEmpty();
    }

    private static double cumulative(double[] p, int upTo) {
        double s = 0;
        for (int i = 0; i <= upTo; i++) s += p[i];
        return s;
    }

    private static void add(HeavyHitters h, String key, int tag, int times) {
        for (int i = 0; i < times; i++) h.add(key, tag);
    }
}
