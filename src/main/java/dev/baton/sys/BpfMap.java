package dev.baton.sys;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;

/**
 * A BPF map by its descriptor: element reads and writes with keys and values the caller lays out in
 * native memory (no allocation per call). The element calls return 0 or {@code -errno}
 * ({@link #ENOENT}: no such key; {@link #E2BIG}: the map is full), for callers that count rather
 * than throw.
 */
public final class BpfMap implements AutoCloseable {
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
    private final boolean owned;

    BpfMap(String name, int fd, int keySize, int valueSize, int maxEntries) {
        this(name, fd, keySize, valueSize, maxEntries, false);
    }

    private BpfMap(String name, int fd, int keySize, int valueSize, int maxEntries, boolean owned) {
        this.name = name;
        this.fd = fd;
        this.keySize = keySize;
        this.valueSize = valueSize;
        this.maxEntries = maxEntries;
        this.owned = owned;
    }

    /**
     * Opens a map pinned at {@code file} ({@code bpf_obj_get}), for a process that did not load it:
     * the caller says the layout it expects, checked against the map's.
     */
    public static BpfMap openPinned(Path file, int keySize, int valueSize) throws SysException {
        try (Arena a = Arena.ofConfined()) {
            int fd = Libbpf.objGet(a.allocateFrom(file.toString()));
            if (fd < 0) throw new SysException("bpf_obj_get " + file, -fd);
            MemorySegment info = a.allocate(BpfInfo.MAP_INFO_SIZE, 8);
            MemorySegment len = a.allocate(java.lang.foreign.ValueLayout.JAVA_INT);
            len.set(java.lang.foreign.ValueLayout.JAVA_INT, 0, (int) BpfInfo.MAP_INFO_SIZE);
            int r = Libbpf.infoByFd(fd, info, len);
            if (r < 0) {
                Libc.close(Libc.state(), fd);
                throw new SysException("bpf_obj_get_info_by_fd " + file, -r);
            }
            BpfMap m = new BpfMap(file.getFileName().toString(), fd, BpfInfo.mapKeySize(info),
                    BpfInfo.mapValueSize(info), BpfInfo.mapMaxEntries(info), true);
            if (m.keySize != keySize || m.valueSize != valueSize) {
                m.close();
                throw new IllegalStateException("map " + file + " has keys of " + m.keySize + " and values of "
                        + m.valueSize + " bytes, not " + keySize + " and " + valueSize);
            }
            return m;
        }
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

    /** Pins this map at {@code file} ({@code bpf_obj_pin}). */
    public void pin(Path file) throws SysException {
        try (Arena a = Arena.ofConfined()) {
            int r = Libbpf.objPin(fd, a.allocateFrom(file.toString()));
            if (r < 0) throw new SysException("bpf_obj_pin " + file, -r);
        }
    }

    /** Closes the descriptor if this handle opened it; a map of a {@link BpfObject} closes with it. */
    @Override
    public void close() {
        if (owned) Libc.close(Libc.state(), fd);
    }
}
