package dev.baton.node;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The most frequent keys of an endless stream in a fixed table: the space-saving algorithm
 * (Metwally, Agrawal and El Abbadi, "Efficient computation of frequent and top-k elements in data
 * streams", ICDT 2005). The table holds {@code capacity} keys; a key not in a full table replaces
 * the one with the smallest count and inherits that count (plus one), remembered as its error.
 *
 * <p>What it guarantees, after {@code n} adds in all: every key whose true frequency is above
 * {@code n / capacity} is in the table; for every key in the table,
 * {@code count - error <= true frequency <= count}; the table, its index and its per-tag counts
 * never grow past {@code capacity} keys, however many distinct keys the stream holds (a scan of
 * a million random paths costs the same memory as one path).
 *
 * <p>Each add also counts one of {@code tags} small integers against the key (here: the member
 * that served it); a key that replaces another starts its tag counts afresh, so they sum to
 * {@code count - error}.
 *
 * <p>{@link #add} is O(log capacity): a min-heap of table slots ordered by count finds the key to
 * replace. It allocates only when a key enters the table (its index entry). Not thread-safe: the
 * caller locks ({@link RouteStats}).
 */
final class HeavyHitters {
    /** One key of a snapshot: {@code count - error} is a lower bound of its true frequency. */
    record Entry(String key, long count, long error, long[] byTag) {}

    private final int capacity;
    private final int tags;
    private final String[] keys;
    private final long[] counts;
    private final long[] errors;
    /** {@code tagCounts[slot * tags + tag]}. */
    private final long[] tagCounts;
    /** Slots by heap position: {@code counts[heap[i]] <= counts[heap[2i+1]], counts[heap[2i+2]]}. */
    private final int[] heap;
    /** Heap position by slot. */
    private final int[] position;

    private final Map<String, Integer> index;
    private int size;
    private long total;

    HeavyHitters(int capacity, int tags) {
        if (capacity < 1 || tags < 1) throw new IllegalArgumentException("capacity and tags must be positive");
        this.capacity = capacity;
        this.tags = tags;
        keys = new String[capacity];
        counts = new long[capacity];
        errors = new long[capacity];
        tagCounts = new long[Math.multiplyExact(capacity, tags)];
        heap = new int[capacity];
        position = new int[capacity];
        index = HashMap.newHashMap(capacity);
    }

    /** Counts one occurrence of {@code key}, with {@code tag} (0 to tags - 1). */
    void add(String key, int tag) {
        add(key, tag, 1);
    }

    /**
     * Counts {@code n} occurrences of {@code key} at once (what the kernel's data path decided since
     * the last look), with {@code tag}: space-saving with weights, as {@code n} single adds.
     */
    void add(String key, int tag, long n) {
        if (tag < 0 || tag >= tags) throw new IllegalArgumentException("tag " + tag + " not in [0, " + tags + ")");
        if (n <= 0) throw new IllegalArgumentException("count " + n + " not positive");
        total += n;
        Integer known = index.get(key);
        int slot;
        if (known != null) {
            slot = known;
            counts[slot] += n;
        } else if (size < capacity) {
            slot = size;
            heap[size] = slot;
            position[slot] = size;
            size++;
            keys[slot] = key;
            counts[slot] = n;
            errors[slot] = 0;
            index.put(key, slot);
            siftUp(position[slot]);
        } else {
            slot = heap[0]; // the smallest count: its key makes way
            index.remove(keys[slot]);
            keys[slot] = key;
            errors[slot] = counts[slot];
            counts[slot] += n;
            Arrays.fill(tagCounts, slot * tags, slot * tags + tags, 0);
            index.put(key, slot);
        }
        tagCounts[slot * tags + tag] += n;
        siftDown(position[slot]);
    }

    /** Adds counted so far, every key included. */
    long total() {
        return total;
    }

    /** Keys in the table now (at most the capacity). */
    int size() {
        return size;
    }

    int capacity() {
        return capacity;
    }

    /** The {@code n} keys with the largest counts, largest first (ties by key); copies. */
    List<Entry> top(int n) {
        Integer[] slots = new Integer[size];
        for (int i = 0; i < size; i++) slots[i] = i;
        Arrays.sort(
                slots,
                (a, b) -> counts[a] != counts[b] ? Long.compare(counts[b], counts[a]) : keys[a].compareTo(keys[b]));
        List<Entry> out = new ArrayList<>(Math.min(n, size));
        for (int i = 0; i < Math.min(n, size); i++) {
            int s = slots[i];
            out.add(new Entry(keys[s], counts[s], errors[s], Arrays.copyOfRange(tagCounts, s * tags, s * tags + tags)));
        }
        return out;
    }

    private void siftUp(int at) {
        int slot = heap[at];
        while (at > 0) {
            int parent = (at - 1) >>> 1;
            if (counts[heap[parent]] <= counts[slot]) break;
            place(heap[parent], at);
            at = parent;
        }
        place(slot, at);
    }

    /** A count only grows: the slot can only move away from the top. */
    private void siftDown(int at) {
        int slot = heap[at];
        while (true) {
            int child = 2 * at + 1;
            if (child >= size) break;
            if (child + 1 < size && counts[heap[child + 1]] < counts[heap[child]]) child++;
            if (counts[heap[child]] >= counts[slot]) break;
            place(heap[child], at);
            at = child;
        }
        place(slot, at);
    }

    private void place(int slot, int at) {
        heap[at] = slot;
        position[slot] = at;
    }
}
