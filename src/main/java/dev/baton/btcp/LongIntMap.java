package dev.baton.btcp;

import java.util.Arrays;

/**
 * A bounded open-addressing hash map from non-negative long keys to int values, with linear probing
 * and backward-shift deletion (no tombstones), so lookups stay short under churn. Allocates only in
 * its constructor. Not thread-safe: owned by the packet loop.
 */
final class LongIntMap {
    static final int MISSING = -1;
    private static final long EMPTY = -1L;

    private final long[] keys;
    private final int[] values;
    private final int mask;
    private int size;

    /** A map sized for {@code maxEntries} at load factor 0.5 or less. */
    LongIntMap(int maxEntries) {
        int cap = Integer.highestOneBit(Math.max(4, maxEntries) * 2 - 1) << 1;
        keys = new long[cap];
        values = new int[cap];
        mask = cap - 1;
        Arrays.fill(keys, EMPTY);
    }

    private int slot(long key) {
        long h = key * 0x9E3779B97F4A7C15L;
        return (int) (h >>> 40) & mask;
    }

    int get(long key) {
        for (int i = slot(key); ; i = (i + 1) & mask) {
            long k = keys[i];
            if (k == key) return values[i];
            if (k == EMPTY) return MISSING;
        }
    }

    /** Inserts or replaces; the caller keeps {@link #size()} under the capacity it asked for. */
    void put(long key, int value) {
        for (int i = slot(key); ; i = (i + 1) & mask) {
            long k = keys[i];
            if (k == key) {
                values[i] = value;
                return;
            }
            if (k == EMPTY) {
                keys[i] = key;
                values[i] = value;
                size++;
                return;
            }
        }
    }

    void remove(long key) {
        int i = slot(key);
        while (true) {
            long k = keys[i];
            if (k == EMPTY) return;
            if (k == key) break;
            i = (i + 1) & mask;
        }
        // Backward-shift deletion: move later members of the probe run into the hole.
        int hole = i;
        for (int j = (hole + 1) & mask; keys[j] != EMPTY; j = (j + 1) & mask) {
            int home = slot(keys[j]);
            boolean movable = hole <= j ? (home <= hole || home > j) : (home <= hole && home > j);
            if (movable) {
                keys[hole] = keys[j];
                values[hole] = values[j];
                hole = j;
            }
        }
        keys[hole] = EMPTY;
        size--;
    }

    int size() {
        return size;
    }
}
