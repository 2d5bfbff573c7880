package dev.baton.datapath;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The two-copy records in mapped pages: what a process killed mid-write leaves for the next one. */
class TakeoverRecordsTest {
    private final Arena arena = Arena.ofConfined();
    private final MemorySegment pages = arena.allocate(4L * TakeoverRecords.SLOT_SIZE, 8);
    private final TakeoverRecords records = new TakeoverRecords(pages);
    private final MemorySegment read = arena.allocate(Datapath.RECORD_SIZE, 8);

    @AfterEach
    void free() {
        arena.close();
    }

    private MemorySegment record(int fill) {
        MemorySegment r = arena.allocate(Datapath.RECORD_SIZE, 8);
        r.fill((byte) fill);
        r.set(ValueLayout.JAVA_INT, 0, fill * 1000); // not a constant record: bytes that differ
        return r;
    }

    private long seq(int slot, int copy) {
        return pages.get(
                ValueLayout.JAVA_LONG,
                (long) slot * TakeoverRecords.SLOT_SIZE + (long) copy * TakeoverRecords.COPY_SIZE);
    }

    @Test
    void aSlotGivesBackTheLastRecordWritten() {
        assertThat(records.capacity()).isEqualTo(4);
        assertThat(records.get(2, read)).as("nothing kept yet").isFalse();
        for (int v = 1; v <= 5; v++) {
            assertThat(records.put(2, record(v))).isTrue();
            assertThat(records.get(2, read)).isTrue();
            assertThat(read.asByteBuffer()).isEqualTo(record(v).asByteBuffer());
        }
        assertThat(records.get(1, read)).as("its neighbours untouched").isFalse();
        assertThat(records.get(3, read)).isFalse();
    }

    @Test
    void writesAlternateBetweenTheCopiesSoTheNewerStaysWhole() {
        records.put(0, record(1));
        records.put(0, record(2));
        assertThat(seq(0, 0)).isEqualTo(1);
        assertThat(seq(0, 1)).isEqualTo(2);
        records.put(0, record(3));
        assertThat(seq(0, 0)).as("the older copy was written").isEqualTo(3);
        assertThat(seq(0, 1)).isEqualTo(2);
    }

    @Test
    void aWriteCutShortLeavesTheRecordBeforeIt() {
        records.put(1, record(1));
        records.put(1, record(2));
        // a process killed mid-write: the older copy's seq cleared, half its bytes copied
        long older = (long) TakeoverRecords.SLOT_SIZE; // copy 0 of slot 1 (seq 1 < 2)
        pages.set(ValueLayout.JAVA_LONG, older, 0L);
        MemorySegment.copy(record(9), 0, pages, older + 8, Datapath.RECORD_SIZE / 2);
        assertThat(records.get(1, read)).isTrue();
        assertThat(read.asByteBuffer()).isEqualTo(record(2).asByteBuffer());
        records.put(1, record(3)); // the next process writes on
        assertThat(records.get(1, read)).isTrue();
        assertThat(read.asByteBuffer()).isEqualTo(record(3).asByteBuffer());
    }

    @Test
    void aRemovedRecordIsGoneAndARemovalCutShortKeepsTheNewest() {
        records.put(3, record(1));
        records.put(3, record(2));
        records.remove(3);
        assertThat(records.get(3, read)).isFalse();
        assertThat(seq(3, 0)).isZero();
        assertThat(seq(3, 1)).isZero();

        records.put(3, record(4));
        records.put(3, record(5));
        // killed after the first half of a removal: the older copy cleared, the newer kept
        pages.set(
                ValueLayout.JAVA_LONG,
                3L * TakeoverRecords.SLOT_SIZE + (seq(3, 0) < seq(3, 1) ? 0 : TakeoverRecords.COPY_SIZE),
                0L);
        assertThat(records.get(3, read)).isTrue();
        assertThat(read.asByteBuffer())
                .as("never an older record")
                .isEqualTo(record(5).asByteBuffer());
    }

    @Test
    void slotsOutOfTheTableAreRefused() {
        assertThat(records.put(4, record(1))).isFalse();
        assertThat(records.put(-1, record(1))).isFalse();
        assertThat(records.get(4, read)).isFalse();
        records.remove(4); // nothing to do, no failure
    }
}
