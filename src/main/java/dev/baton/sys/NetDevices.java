package dev.baton.sys;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;

/** Facts about network devices and file systems that the data path's set-up needs. */
public final class NetDevices {
    /** {@code BPF_FS_MAGIC} (linux/magic.h): what statfs says of a bpffs. */
    private static final long BPF_FS_MAGIC = 0xcafe4a11L;

    private static final int STATFS_SIZE = 120;

    private NetDevices() {}

    /**
     * The interface index of {@code name} in this process's network namespace (as
     * {@code if_nametoindex(3)}: an ioctl, not /sys, which may show another namespace's devices).
     */
    public static int index(String name) throws SysException {
        Libc.CallState st = Libc.state();
        try (Arena a = Arena.ofConfined()) {
            int i = Libc.ifNameToIndex(st, a.allocateFrom(name));
            if (i == 0) throw new SysException("if_nametoindex " + name, st.errno());
            return i;
        }
    }

    /** Whether {@code dir} is on a BPF file system (where pins can live). */
    public static boolean onBpfFs(Path dir) throws SysException {
        Libc.CallState st = Libc.state();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment buf = a.allocate(STATFS_SIZE, 8);
            if (Libc.statfs(st, a.allocateFrom(dir.toString()), buf) < 0) {
                throw new SysException("statfs " + dir, st.errno());
            }
            return (buf.get(ValueLayout.JAVA_LONG, 0) & 0xffffffffL) == BPF_FS_MAGIC;
        }
    }
}
