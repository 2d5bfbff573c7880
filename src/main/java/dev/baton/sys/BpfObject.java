package dev.baton.sys;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.function.Consumer;

/**
 * A BPF object file opened and loaded through libbpf: its programs, verified and in the kernel,
 * and its maps ({@code bpf_object__open_mem}, {@code bpf_object__load}). Maps may be sized and
 * pinned before the load; a map pinned at its path by an earlier process is taken over as it is
 * (libbpf reuses it when its type, key, value and size match, and fails the load otherwise), which
 * is how state outlives a process (Documentation/bpf/maps.rst, "pinning").
 *
 * <p>Closing the object closes the descriptors this process holds: programs attached to a hook and
 * pinned maps stay in the kernel until detached or unpinned.
 */
public final class BpfObject implements AutoCloseable {
    private static final int LOG_LINES = 40;
    private static volatile Consumer<String> log = line -> {};

    private final String name;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment obj;
    /** The ELF image: libbpf points into it until the load. */
    private Arena image;

    private boolean loaded;
    private boolean closed;

    private BpfObject(String name, MemorySegment obj, Arena image) {
        this.name = name;
        this.obj = obj;
        this.image = image;
    }

    /** Where libbpf's own messages go (warnings, the verifier's log of a refused program). */
    public static void logTo(Consumer<String> sink) {
        log = sink;
    }

    /** Whether libbpf ({@code libbpf.so.1}) is on this machine. */
    public static boolean libbpfAvailable() {
        return Libbpf.available();
    }

    /** Opens the object in {@code elf} (not yet loaded); {@code name} names it in errors. */
    @SuppressWarnings("MustBeClosedChecker") // the arena lives as long as the object: close() closes it
    public static BpfObject open(byte[] elf, String name) throws SysException {
        requireLibbpf();
        Arena image = Arena.ofShared();
        MemorySegment buffer = image.allocate(elf.length, 8);
        MemorySegment.copy(elf, 0, buffer, ValueLayout.JAVA_BYTE, 0, elf.length);
        Libc.CallState st = Libc.state();
        Deque<String> lines = capture();
        MemorySegment obj;
        try {
            obj = Libbpf.openMem(st, buffer);
        } finally {
            release();
        }
        if (obj.address() == 0) {
            int errno = st.errno();
            image.close();
            throw new SysException("bpf_object__open_mem " + name, errno, String.join("\n", lines));
        }
        return new BpfObject(name, obj, image);
    }

    private static void requireLibbpf() throws SysException {
        if (!Libbpf.available()) {
            throw new SysException(
                    "dlopen libbpf.so.1", 2, "libbpf is not installed (Debian: apt-get install libbpf1)");
        }
    }

    /** Sets a map's capacity; before {@link #load()}. */
    public void maxEntries(String map, int entries) throws SysException {
        checkOpen(false);
        int r = Libbpf.mapSetMaxEntries(mapHandle(map), entries);
        if (r < 0) throw new SysException("bpf_map__set_max_entries " + map, -r);
    }

    /**
     * Pins a map at {@code file} (on a bpffs), before {@link #load()}: if a map is pinned there
     * already it is reused, with everything in it; else the load creates it and pins it there.
     */
    public void pin(String map, Path file) throws SysException {
        checkOpen(false);
        int r = Libbpf.mapSetPinPath(mapHandle(map), arena.allocateFrom(file.toString()));
        if (r < 0) throw new SysException("bpf_map__set_pin_path " + map, -r);
    }

    /** Creates the maps and loads every program; a refusal carries the end of the verifier's log. */
    public void load() throws SysException {
        checkOpen(false);
        Deque<String> lines = capture();
        int r;
        try {
            r = Libbpf.load(obj);
        } finally {
            release();
        }
        if (r < 0) throw new SysException("bpf_object__load " + name, -r, String.join("\n", lines));
        loaded = true;
        image.close();
        image = null;
    }

    /** A loaded program by its function name. */
    public BpfProgram program(String programName) {
        checkOpen(true);
        MemorySegment p = Libbpf.findProgram(obj, arena.allocateFrom(programName));
        if (p.address() == 0) throw new IllegalArgumentException(name + " has no program " + programName);
        return new BpfProgram(programName, Libbpf.programFd(p));
    }

    /** A map of the loaded object by name. */
    public BpfMap map(String mapName) {
        checkOpen(true);
        MemorySegment m = mapHandle(mapName);
        return new BpfMap(
                mapName, Libbpf.mapFd(m), Libbpf.mapKeySize(m), Libbpf.mapValueSize(m), Libbpf.mapMaxEntries(m));
    }

    /** Removes a map's pin (the map itself goes once nothing holds it). */
    public void unpin(String mapName) throws SysException {
        checkOpen(true);
        int r = Libbpf.mapUnpin(mapHandle(mapName));
        if (r < 0 && r != -2) throw new SysException("bpf_map__unpin " + mapName, -r);
    }

    private MemorySegment mapHandle(String mapName) {
        MemorySegment m = Libbpf.findMap(obj, arena.allocateFrom(mapName));
        if (m.address() == 0) throw new IllegalArgumentException(name + " has no map " + mapName);
        return m;
    }

    private void checkOpen(boolean mustBeLoaded) {
        if (closed) throw new IllegalStateException(name + " is closed");
        if (mustBeLoaded && !loaded) throw new IllegalStateException(name + " is not loaded");
        if (!mustBeLoaded && loaded) throw new IllegalStateException(name + " is loaded already");
    }

    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        Libbpf.close(obj);
        if (image != null) image.close();
        arena.close();
    }

    // libbpf's print callback is process-wide: one capture at a time, the last lines kept.
    private static final Object CAPTURE = new Object();
    private static Deque<String> captured;

    private static Deque<String> capture() {
        Deque<String> lines = new ArrayDeque<>();
        synchronized (CAPTURE) {
            captured = lines;
        }
        Libbpf.printTo(BpfObject::printed);
        return lines;
    }

    private static void release() {
        synchronized (CAPTURE) {
            captured = null;
        }
    }

    private static void printed(String line) {
        synchronized (CAPTURE) {
            if (captured != null) {
                captured.addLast(line);
                if (captured.size() > LOG_LINES) captured.removeFirst();
            }
        }
        log.accept(line);
    }
}
