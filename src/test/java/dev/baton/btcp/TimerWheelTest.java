package dev.baton.btcp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeSet;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.LongRange;
import org.junit.jupiter.api.Test;

class TimerWheelTest {

    /** Records what fired, checking that nothing fires before its deadline. */
    private static final class Recorder implements TimerWheel.Expiry {
        final List<Integer> fired = new ArrayList<>();
        final Map<Integer, Long> deadlines = new HashMap<>();
        TimerWheel wheel;
        TimerWheel.Expiry then; // runs after the bookkeeping, may re-arrange the wheel

        @Override
        public void expired(int slot, long nowMillis) {
            fired.add(slot);
            Long d = deadlines.remove(slot);
            assertThat(d).as("slot %d fired without being armed", slot).isNotNull();
            assertThat(d).as("slot %d fired early", slot).isLessThanOrEqualTo(nowMillis);
            assertThat(wheel.deadline(slot)).as("disarmed before the callback").isEqualTo(TimerWheel.NONE);
            if (then != null) then.expired(slot, nowMillis);
        }

        void schedule(int slot, long at) {
            wheel.schedule(slot, at);
            deadlines.put(slot, at);
        }

        void cancel(int slot) {
            wheel.cancel(slot);
            deadlines.remove(slot);
        }

        List<Integer> advance(long now) {
            fired.clear();
            int n = wheel.advance(now, this);
            assertThat(n).isEqualTo(fired.size());
            return List.copyOf(fired);
        }
    }

    private static Recorder wheel(int slots, int buckets, long tick, long now) {
        Recorder r = new Recorder();
        r.wheel = new TimerWheel(slots, buckets, tick, now);
        return r;
    }

    @Test
    void rejectsABucketCountThatIsNotAPowerOfTwo() {
        assertThatThrownBy(() -> new TimerWheel(4, 12, 10, 0)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new TimerWheel(4, 0, 10, 0)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void firesAtTheDeadlineAndNotBefore() {
        Recorder r = wheel(4, 8, 10, 1000);
        r.schedule(1, 1055);
        assertThat(r.wheel.deadline(1)).isEqualTo(1055);
        assertThat(r.advance(1040)).isEmpty();
        assertThat(r.advance(1050)).as("same tick, deadline not reached").isEmpty();
        assertThat(r.advance(1054)).isEmpty();
        assertThat(r.advance(1055)).containsExactly(1);
        assertThat(r.wheel.deadline(1)).isEqualTo(TimerWheel.NONE);
        assertThat(r.advance(2000)).as("fires once").isEmpty();
    }

    @Test
    void firesADeadlineAlreadyPastOnTheNextAdvance() {
        Recorder r = wheel(4, 8, 10, 1000);
        r.advance(1500);
        r.schedule(2, 10);
        r.schedule(3, 1500);
        assertThat(r.advance(1500)).containsExactlyInAnyOrder(2, 3);
    }

    @Test
    void cancelledSlotsDoNotFire() {
        Recorder r = wheel(4, 8, 10, 0);
        r.schedule(0, 30);
        r.schedule(1, 30);
        r.schedule(2, 30);
        r.cancel(1);
        assertThat(r.wheel.deadline(1)).isEqualTo(TimerWheel.NONE);
        r.cancel(1); // twice is harmless
        r.cancel(3); // never armed
        assertThat(r.advance(100)).containsExactlyInAnyOrder(0, 2);
    }

    @Test
    void reschedulingReplacesTheDeadline() {
        Recorder r = wheel(4, 8, 10, 0);
        r.schedule(0, 50);
        r.schedule(0, 500); // later: must not fire at 50
        assertThat(r.advance(100)).isEmpty();
        r.schedule(0, 120); // earlier again
        assertThat(r.wheel.deadline(0)).isEqualTo(120);
        assertThat(r.advance(119)).isEmpty();
        assertThat(r.advance(120)).containsExactly(0);
        assertThat(r.advance(600)).as("the replaced deadline is gone").isEmpty();
    }

    @Test
    void keepsDeadlinesBeyondOneTurnUntilTheirTurnComes() {
        // 8 buckets of 10 ms: one turn is 80 ms. Walk every tick up to 1 s.
        Recorder r = wheel(4, 8, 10, 0);
        r.schedule(0, 1000);
        r.schedule(1, 85); // one turn plus a bit, same bucket as 5 ms
        r.schedule(2, 5);
        for (long now = 1; now <= 1000; now++) {
            List<Integer> fired = r.advance(now);
            if (now == 5) assertThat(fired).containsExactly(2);
            else if (now == 85) assertThat(fired).containsExactly(1);
            else if (now == 1000) assertThat(fired).containsExactly(0);
            else assertThat(fired).as("at %d", now).isEmpty();
        }
    }

    @Test
    void firesEverythingDueExactlyOnceAfterALongGap() {
        Recorder r = wheel(1000, 64, 10, 0);
        Random rnd = new Random(7);
        for (int s = 0; s < 1000; s++) r.schedule(s, rnd.nextInt(1_000_000));
        r.schedule(999, 2_000_000); // still in the future after the gap
        List<Integer> fired = r.advance(1_000_000);
        assertThat(fired).hasSize(999).doesNotHaveDuplicates().doesNotContain(999);
        assertThat(r.advance(1_000_001)).isEmpty();
        assertThat(r.advance(1_999_999)).isEmpty();
        assertThat(r.advance(2_000_000)).containsExactly(999);
    }

    @Test
    void aCallbackMayReArmItsOwnSlot() {
        // As the BTCP does for idle timeouts: the slot is disarmed before the callback runs.
        TimerWheel w = new TimerWheel(2, 8, 10, 0);
        List<Long> firedAt = new ArrayList<>();
        TimerWheel.Expiry again = (slot, now) -> {
            firedAt.add(now);
            if (firedAt.size() < 3) w.schedule(slot, now + 100);
        };
        w.schedule(0, 100);
        for (long now = 0; now <= 1000; now += 10) w.advance(now, again);
        assertThat(firedAt).containsExactly(100L, 200L, 300L);
        assertThat(w.deadline(0)).isEqualTo(TimerWheel.NONE);
    }

    @Test
    void aCallbackMayCancelOrReArmOtherSlotsOfTheSameBucket() {
        // Slots 0, 1 and 2 share a bucket; slot 2 is walked first (newest first). Its callback moves
        // slot 1 to a later deadline: slot 0, behind it in the same bucket, must still fire now.
        TimerWheel w = new TimerWheel(3, 8, 10, 0);
        List<Integer> fired = new ArrayList<>();
        TimerWheel.Expiry moveOne = (slot, now) -> {
            fired.add(slot);
            if (slot == 2) w.schedule(1, 1000);
        };
        w.schedule(0, 50);
        w.schedule(1, 50);
        w.schedule(2, 50);
        w.advance(200, moveOne);
        assertThat(fired).containsExactlyInAnyOrder(2, 0);
        assertThat(w.deadline(1)).isEqualTo(1000);

        fired.clear();
        TimerWheel.Expiry cancelOne = (slot, now) -> {
            fired.add(slot);
            if (slot == 2) w.cancel(1);
        };
        w.schedule(0, 250);
        w.schedule(1, 250);
        w.schedule(2, 250);
        w.advance(260, cancelOne);
        assertThat(fired).containsExactlyInAnyOrder(2, 0);
        assertThat(w.deadline(1)).isEqualTo(TimerWheel.NONE);
    }

    @Test
    void aCallbackArmingAnotherSlotInThePastIsNotLeftForAFullTurn() {
        // 8 buckets of 10 ms. After a gap, the walk covers ticks 93..100; slot 0 fires at tick 97
        // and arms slot 1 for 935 ms (tick 93, a bucket already walked). Slot 1 is due: it must
        // fire in this advance or the next one, not one turn later.
        TimerWheel w = new TimerWheel(2, 8, 10, 0);
        List<Integer> fired = new ArrayList<>();
        TimerWheel.Expiry armOther = (slot, now) -> {
            fired.add(slot);
            if (slot == 0) w.schedule(1, 935);
        };
        w.schedule(0, 970);
        w.advance(1000, armOther);
        w.advance(1000, armOther);
        assertThat(fired).containsExactly(0, 1);
    }

    /**
     * Random arming, re-arming, cancelling and advancing (small steps, steps of about a turn, huge
     * gaps) against a model: each advance fires exactly the armed slots whose deadline has passed.
     */
    @Property(tries = 300)
    void firesExactlyWhatIsDueAtEachAdvance(
            @ForAll long seed,
            @ForAll @IntRange(min = 0, max = 6) int log2Buckets,
            @ForAll @LongRange(min = 1, max = 50) long tick,
            @ForAll @LongRange(min = 0, max = 1L << 40) long start) {
        int slots = 32;
        Random r = new Random(seed);
        Recorder w = wheel(slots, 1 << log2Buckets, tick, start);
        long turn = (1L << log2Buckets) * tick;
        long now = start;
        for (int step = 0; step < 300; step++) {
            int ops = r.nextInt(4);
            for (int i = 0; i < ops; i++) {
                int s = r.nextInt(slots);
                if (r.nextInt(5) == 0) {
                    w.cancel(s);
                } else {
                    long ahead = switch (r.nextInt(4)) {
                        case 0 -> -r.nextInt((int) Math.min(3 * turn + 1, 1000)); // already past
                        case 1 -> r.nextInt((int) turn + 1);
                        case 2 -> r.nextInt((int) (5 * turn) + 1);
                        default -> r.nextInt(100_000);
                    };
                    w.schedule(s, Math.max(0, now + ahead));
                }
            }
            now += switch (r.nextInt(4)) {
                case 0 -> 0;
                case 1 -> r.nextInt((int) tick + 1);
                case 2 -> r.nextInt((int) turn + 1);
                default -> r.nextInt(50_000);
            };
            final long at = now;
            TreeSet<Integer> due = new TreeSet<>();
            w.deadlines.forEach((s, d) -> {
                if (d <= at) due.add(s);
            });
            List<Integer> fired = w.advance(now);
            assertThat(new TreeSet<>(fired)).isEqualTo(due);
            assertThat(fired).doesNotHaveDuplicates();
            assertEarliestBound(w, at, turn, tick);
            for (int s = 0; s < slots; s++) {
                assertThat(w.wheel.deadline(s)).isEqualTo(w.deadlines.getOrDefault(s, TimerWheel.NONE));
            }
        }
    }

    /**
     * After an advance to {@code now}: a bound a sleeper can wait for without missing a deadline,
     * and without spinning (later than now); the earliest itself when every deadline is within
     * the turn ahead.
     */
    private static void assertEarliestBound(Recorder w, long now, long turn, long tick) {
        long bound = w.wheel.earliestBound();
        if (w.deadlines.isEmpty()) {
            assertThat(bound).isEqualTo(TimerWheel.NONE);
            return;
        }
        long earliest = w.deadlines.values().stream().min(Long::compare).orElseThrow();
        long latest = w.deadlines.values().stream().max(Long::compare).orElseThrow();
        assertThat(bound).as("never after a deadline").isLessThanOrEqualTo(earliest);
        assertThat(bound).as("never now or before: the loop would spin").isGreaterThan(now);
        if (latest < (now / tick) * tick + turn)
            assertThat(bound).as("all within a turn").isEqualTo(earliest);
    }

    @Test
    void theEarliestBoundFollowsArmingAndCancelling() {
        Recorder r = wheel(4, 8, 10, 1000);
        assertThat(r.wheel.earliestBound()).isEqualTo(TimerWheel.NONE);
        r.schedule(1, 1055);
        r.schedule(2, 1033);
        assertThat(r.wheel.earliestBound()).isEqualTo(1033);
        r.cancel(2);
        assertThat(r.wheel.earliestBound()).isEqualTo(1055);
        r.schedule(1, 1000 + 8 * 10 * 3 + 5); // three turns ahead, in the cursor's own bucket
        assertThat(r.wheel.earliestBound()).as("a bound: the next tick").isEqualTo(1010);
        r.cancel(1);
        assertThat(r.wheel.earliestBound()).isEqualTo(TimerWheel.NONE);
    }

    /**
     * Callbacks that arm and cancel random slots (deadlines past, near and far) while the wheel
     * walks its buckets: nothing fires early or unarmed, and whatever is due when an advance starts
     * has fired when it returns; a slot armed due by a callback fires by the next advance.
     */
    @Property(tries = 300)
    void firesWhatIsDueEvenWhenCallbacksRearrangeTheWheel(
            @ForAll long seed,
            @ForAll @IntRange(min = 0, max = 5) int log2Buckets,
            @ForAll @LongRange(min = 1, max = 20) long tick) {
        int slots = 24;
        Random r = new Random(seed);
        Recorder w = wheel(slots, 1 << log2Buckets, tick, 0);
        long turn = (1L << log2Buckets) * tick;
        TreeSet<Integer> armedDuring = new TreeSet<>();
        w.then = (slot, now) -> {
            for (int i = r.nextInt(3); i > 0; i--) {
                int other = r.nextInt(slots);
                if (r.nextInt(4) == 0) {
                    w.cancel(other);
                    armedDuring.remove(other);
                } else {
                    w.schedule(other, Math.max(0, now + r.nextInt((int) (3 * turn) + 1) - turn));
                    armedDuring.add(other);
                }
            }
        };
        long now = 0;
        for (int step = 0; step < 300; step++) {
            for (int i = r.nextInt(3); i > 0; i--) w.schedule(r.nextInt(slots), now + r.nextInt((int) (4 * turn) + 1));
            now += r.nextInt(4) == 0 ? r.nextInt(20_000) : r.nextInt((int) turn + 1);
            TreeSet<Integer> lateBefore = new TreeSet<>(armedDuring);
            armedDuring.clear();
            w.advance(now);
            final long at = now;
            w.deadlines.forEach((s, d) -> assertThat(d > at || armedDuring.contains(s))
                    .as("slot %d due at %d still armed at %d", s, d, at)
                    .isTrue());
            for (int s : lateBefore) {
                Long d = w.deadlines.get(s);
                assertThat(d == null || d > at || armedDuring.contains(s))
                        .as("slot %d armed due by a callback, still armed after the next advance", s)
                        .isTrue();
            }
        }
    }
}
