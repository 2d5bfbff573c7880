package dev.baton.datapath;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;

/**
 * The takeover records in the takeover map's mapped pages ({@code struct takeover_slot},
 * src/main/bpf/datapath.h): slot {@code i} belongs to slot {@code i} of the engine's connection
 * table. Written as memory, no system call; read back by the next process after a restart.
 *
 * <p>A process may be killed in the middle of a write (kill -9, the very case a record is for), so
 * each slot has two copies and a write goes to the older one: its sequence number is cleared
 * first, the record copied, and the sequence number set last, one above the newer copy's. A copy
 * cut short keeps sequence 0 and is ignored; the newer copy, whole, is read instead.
 */
final class TakeoverRecords {
    static final int COPY_SIZE = 8 + Datapath.RECORD_SIZE;
    static final int SLOT_SIZE = 2 * COPY_SIZE;
    /** (segment, offset): the kernel's pages are page aligned and every sequence 8-byte aligned. */
    private static final VarHandle SEQ = ValueLayout.JAVA_LONG.varHandle();

    private final MemorySegment slots;
    private final int capacity;

    /** Over {@code slots}, {@link #SLOT_SIZE} bytes a slot, 8-byte aligned. */
    TakeoverRecords(MemorySegment slots) {
        this.slots = slots;
        this.capacity = (int) (slots.byteSize() / SLOT_SIZE);
    }

    int capacity() {
        return capacity;
    }

    /** Keeps {@code record} ({@link Datapath#RECORD_SIZE} bytes) in {@code slot}; false if there is no such slot. */
    boolean put(int slot, MemorySegment record) {
        if (slot < 0 || slot >= capacity) return false;
        long older = olderCopy(slot), newer = otherCopy(slot, older);
        long next = seq(newer) + 1;
        SEQ.setOpaque(slots, older, 0L);
        VarHandle.storeStoreFence(); // the copy is not whole before its bytes are
        MemorySegment.copy(record, 0, slots, older + 8, Datapath.RECORD_SIZE);
        SEQ.setRelease(slots, older, next);
        return true;
    }

    /**
     * Forgets {@code slot}'s record: the older copy first, so that a process killed in between
     * leaves the record as it was, never an older one.
     */
    void remove(int slot) {
        if (slot < 0 || slot >= capacity) return;
        long older = olderCopy(slot), newer = otherCopy(slot, older);
        SEQ.setOpaque(slots, older, 0L);
        VarHandle.storeStoreFence();
        SEQ.setRelease(slots, newer, 0L);
    }

    /** Copies {@code slot}'s record into {@code into}; false if it has none. */
    boolean get(int slot, MemorySegment into) {
        if (slot < 0 || slot >= capacity) return false;
        long newer = otherCopy(slot, olderCopy(slot));
        if (seq(newer) == 0) return false;
        MemorySegment.copy(slots, newer + 8, into, 0, Datapath.RECORD_SIZE);
        return true;
    }

    /** Where {@code slot}'s older copy is (an empty one counts as oldest; copy 0 of two empty ones). */
    private long olderCopy(int slot) {
        long base = (long) slot * SLOT_SIZE;
        return seq(base) <= seq(base + COPY_SIZE) ? base : base + COPY_SIZE;
    }

    private static long otherCopy(int slot, long copy) {
        long base = (long) slot * SLOT_SIZE;
        return copy == base ? base + COPY_SIZE : base;
    }

    private long seq(long at) {
        return (long) SEQ.getAcquire(slots, at);
    }
}
