package dev.baton.sys;

import java.lang.foreign.MemorySegment;

/**
 * The values of a {@code BPF_MAP_TYPE_ARRAY} made with {@code BPF_F_MMAPABLE}, mapped shared into
 * this process: element {@code i} lies at {@code i} times the value size rounded up to 8 bytes,
 * read and written as memory, with no system call. The pages are the map's: what is written outlives the process as the map
 * does (pinned), and the next process that maps it reads it back.
 */
@SuppressWarnings("restricted") // native code lives in sys only (LayeringTest)
public final class BpfMappedArray implements AutoCloseable {
    private final MemorySegment values;
    private final long length;
    private boolean closed;

    private BpfMappedArray(MemorySegment values, long length) {
        this.values = values;
        this.length = length;
    }

    /** Maps {@code map}'s values, read and write; fails if the map cannot be mapped (not mmapable). */
    public static BpfMappedArray open(BpfMap map) throws SysException {
        // The kernel lays an array's elements out 8-byte aligned (kernel/bpf/arraymap.c).
        int elementSize = (map.valueSize() + 7) & ~7;
        long bytes = (long) elementSize * map.maxEntries();
        int page = Libc.pageSize();
        long length = (bytes + page - 1) / page * page;
        Libc.CallState st = Libc.state();
        MemorySegment m = Libc.mmap(st, length, Libc.PROT_READ | Libc.PROT_WRITE, Libc.MAP_SHARED, map.fd(), 0);
        if (m.address() == -1L) throw new SysException("mmap " + map.name(), st.errno());
        return new BpfMappedArray(m.reinterpret(length).asSlice(0, bytes), length);
    }

    /** Every element, back to back. */
    public MemorySegment values() {
        return values;
    }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        Libc.munmap(Libc.state(), values, length);
    }
}
