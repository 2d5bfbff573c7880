package dev.baton.sys;

import java.lang.foreign.MemorySegment;

/**
 * A BPF map by its descriptor: element reads and writes with keys and values the caller lays out in
 * native memory (no allocation per call). The element calls return 0 or {@code -errno}
 * ({@link #ENOENT}: no such key; {@link #E2BIG}: the map is full), for callers that count rather
 * than throw.
 */
public final class BpfMap {
    /** {@code BPF_ANY}: create or update. */
    public static final long ANY = 0;
    /** {@code BPF_NOEXIST}: create only. */
    public static final long NOEXIST = 1;
    /** {@code BPF_EXIST}: update only. */
    public static final long EXIST = 2;

    public static final int ENOENT = -2;
    public static final int E2BIG = -7;

    private final String name;
    private final int fd;
    private final int keySize;
    private final int valueSize;
    private final int maxEntries;

    BpfMap(String name, int fd, int keySize, int valueSize, int maxEntries) {
        this.name = name;
        this.fd = fd;
        this.keySize = keySize;
        this.valueSize = valueSize;
        this.maxEntries = maxEntries;
    }

    public String name() {
        return name;
    }

    public int fd() {
        return fd;
    }

    public int keySize() {
        return keySize;
    }

    /** The value size as the kernel copies it for one CPU (see {@link #perCpuValueSize()}). */
    public int valueSize() {
        return valueSize;
    }

    public int maxEntries() {
        return maxEntries;
    }

    /** What a lookup in a per-CPU map writes: one value per possible CPU, each padded to 8 bytes. */
    public int perCpuValueSize() {
        return ((valueSize + 7) & ~7) * possibleCpus();
    }

    /** The number of CPUs a per-CPU map has a value for ({@code libbpf_num_possible_cpus}). */
    public static int possibleCpus() {
        return Libbpf.possibleCpus();
    }

    public int update(MemorySegment key, MemorySegment value, long flags) {
        return Libbpf.update(fd, key, value, flags);
    }

    public int lookup(MemorySegment key, MemorySegment value) {
        return Libbpf.lookup(fd, key, value);
    }

    public int delete(MemorySegment key) {
        return Libbpf.delete(fd, key);
    }

    /** The key after {@code key} (NULL: the first) into {@code next}; {@link #ENOENT} after the last. */
    public int nextKey(MemorySegment key, MemorySegment next) {
        return Libbpf.nextKey(fd, key, next);
    }
}
