package dev.baton.btcp;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

class LongIntMapTest {

    /**
     * The home slot of {@code key} in a table of {@code capacity} slots, mirroring LongIntMap's hash,
     * so that the tests can build long probe runs on purpose (and runs that wrap past the last slot).
     * If the hash changes, these tests still pass but collide less; {@link #collidingKeysReallyCollide}
     * says so.
     */
    private static int home(long key, int capacity) {
        return (int) ((key * 0x9E3779B97F4A7C15L) >>> 40) & (capacity - 1);
    }

    /** The capacity LongIntMap picks for {@code maxEntries}: a power of two, at least twice it. */
    private static int capacity(int maxEntries) {
        int cap = 1;
        while (cap < 2 * Math.max(4, maxEntries)) cap <<= 1;
        return cap;
    }

    /** {@code n} distinct non-negative keys whose home slot is {@code slot}. */
    private static List<Long> keysHomedAt(int slot, int capacity, int n, long start) {
        List<Long> keys = new ArrayList<>();
        for (long k = start; keys.size() < n; k++) {
            if (home(k, capacity) == slot) keys.add(k);
        }
        return keys;
    }

    @Test
    void startsEmpty() {
        LongIntMap m = new LongIntMap(16);
        assertThat(m.size()).isZero();
        assertThat(m.get(0)).isEqualTo(LongIntMap.MISSING);
        assertThat(m.get(Long.MAX_VALUE)).isEqualTo(LongIntMap.MISSING);
    }

    @Test
    void putsReplacesAndRemoves() {
        LongIntMap m = new LongIntMap(16);
        m.put(0, 10);
        m.put(Long.MAX_VALUE, 20);
        assertThat(m.size()).isEqualTo(2);
        assertThat(m.get(0)).isEqualTo(10);
        assertThat(m.get(Long.MAX_VALUE)).isEqualTo(20);

        m.put(0, 11);
        assertThat(m.size()).as("replacing keeps the size").isEqualTo(2);
        assertThat(m.get(0)).isEqualTo(11);

        m.remove(12345);
        assertThat(m.size()).as("removing a missing key keeps the size").isEqualTo(2);

        m.remove(0);
        assertThat(m.size()).isEqualTo(1);
        assertThat(m.get(0)).isEqualTo(LongIntMap.MISSING);
        m.remove(0);
        assertThat(m.size()).isEqualTo(1);
        m.remove(Long.MAX_VALUE);
        assertThat(m.size()).isZero();
    }

    @Test
    void holdsAsManyEntriesAsItWasSizedFor() {
        for (int max : new int[] {1, 4, 5, 100, 1000}) {
            LongIntMap m = new LongIntMap(max);
            Random r = new Random(max);
            Map<Long, Integer> model = new HashMap<>();
            while (model.size() < max) {
                long k = r.nextLong() & Long.MAX_VALUE;
                model.put(k, model.size());
                m.put(k, model.get(k));
            }
            assertThat(m.size()).isEqualTo(max);
            model.forEach((k, v) -> assertThat(m.get(k)).isEqualTo(v));
        }
    }

    @Test
    void collidingKeysReallyCollide() {
        int cap = capacity(8);
        List<Long> keys = keysHomedAt(3, cap, 8, 0);
        assertThat(keys).hasSize(8).allSatisfy(k -> assertThat(home(k, cap)).isEqualTo(3));
    }

    @Test
    void removingFromTheMiddleOfACollisionRunKeepsTheRestReachable() {
        int max = 8;
        int cap = capacity(max);
        List<Long> run = keysHomedAt(2, cap, 6, 0);
        LongIntMap m = new LongIntMap(max);
        for (int i = 0; i < run.size(); i++) m.put(run.get(i), i);
        for (int victim = 0; victim < run.size(); victim++) {
            m.remove(run.get(victim));
            for (int i = victim + 1; i < run.size(); i++) {
                assertThat(m.get(run.get(i)))
                        .as("key %d after removing %d", i, victim)
                        .isEqualTo(i);
            }
            assertThat(m.get(run.get(victim))).isEqualTo(LongIntMap.MISSING);
            assertThat(m.size()).isEqualTo(run.size() - victim - 1);
        }
    }

    @Test
    void probeRunsThatWrapPastTheLastSlotSurviveDeletion() {
        int max = 8;
        int cap = capacity(max);
        // Three keys homed at the last slot (they spill into slots 0 and 1), interleaved with keys
        // homed at slot 0 and 1 that must shift back correctly when anything before them goes.
        List<Long> last = keysHomedAt(cap - 1, cap, 3, 0);
        List<Long> zero = keysHomedAt(0, cap, 2, 0);
        List<Long> one = keysHomedAt(1, cap, 1, 0);
        List<Long> all = new ArrayList<>();
        all.addAll(last);
        all.addAll(zero);
        all.addAll(one);
        for (int victim = 0; victim < all.size(); victim++) {
            LongIntMap m = new LongIntMap(max);
            for (int i = 0; i < all.size(); i++) m.put(all.get(i), 100 + i);
            m.remove(all.get(victim));
            for (int i = 0; i < all.size(); i++) {
                int want = i == victim ? LongIntMap.MISSING : 100 + i;
                assertThat(m.get(all.get(i)))
                        .as("key %d after removing %d", i, victim)
                        .isEqualTo(want);
            }
            assertThat(m.size()).isEqualTo(all.size() - 1);
        }
    }

    @Test
    void survivesHeavyDeleteChurnWithCollidingKeys() {
        int max = 32;
        int cap = capacity(max);
        // A key pool crowded onto four neighbouring home slots, two of them at the wrap.
        List<Long> pool = new ArrayList<>();
        for (int slot : new int[] {cap - 2, cap - 1, 0, 5}) pool.addAll(keysHomedAt(slot, cap, 12, 1_000_000));
        Random r = new Random(42);
        LongIntMap m = new LongIntMap(max);
        Map<Long, Integer> model = new HashMap<>();
        for (int op = 0; op < 200_000; op++) {
            long k = pool.get(r.nextInt(pool.size()));
            if (model.size() < max && r.nextInt(3) != 0) {
                int v = r.nextInt(Integer.MAX_VALUE);
                m.put(k, v);
                model.put(k, v);
            } else {
                m.remove(k);
                model.remove(k);
            }
            assertThat(m.size()).isEqualTo(model.size());
            if (op % 64 == 0) {
                for (long q : pool) assertThat(m.get(q)).isEqualTo(model.getOrDefault(q, LongIntMap.MISSING));
            }
        }
    }

    @Property(tries = 300)
    void behavesLikeAHashMap(@ForAll long seed, @ForAll @IntRange(min = 1, max = 200) int max) {
        Random r = new Random(seed);
        LongIntMap m = new LongIntMap(max);
        Map<Long, Integer> model = new HashMap<>();
        // Keys from a range about twice the bound, so hits, misses and collisions are all common.
        long range = 2L * max + 1;
        long offset = r.nextBoolean() ? 0 : Long.MAX_VALUE - range;
        for (int op = 0; op < 2000; op++) {
            long k = offset + (r.nextLong() & Long.MAX_VALUE) % range;
            switch (r.nextInt(4)) {
                case 0, 1 -> {
                    if (model.size() < max || model.containsKey(k)) {
                        int v = r.nextInt(Integer.MAX_VALUE);
                        m.put(k, v);
                        model.put(k, v);
                    }
                }
                case 2 -> {
                    m.remove(k);
                    model.remove(k);
                }
                default -> assertThat(m.get(k)).isEqualTo(model.getOrDefault(k, LongIntMap.MISSING));
            }
            assertThat(m.size()).isEqualTo(model.size());
        }
        model.forEach((k, v) -> assertThat(m.get(k)).isEqualTo(v));
        for (Long k : new ArrayList<>(model.keySet())) m.remove(k);
        assertThat(m.size()).isZero();
        for (long i = 0; i < range; i++) assertThat(m.get(offset + i)).isEqualTo(LongIntMap.MISSING);
    }
}
