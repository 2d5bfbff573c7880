package dev.baton.sys;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/** A loaded BPF program by its descriptor: run on given bytes, and its run statistics. */
public final class BpfProgram {
    private final String name;
    private final int fd;

    BpfProgram(String name, int fd) {
        this.name = name;
        this.fd = fd;
    }

    public String name() {
        return name;
    }

    public int fd() {
        return fd;
    }

    /** What one {@link #testRun} gave: the program's return value, the packet after it, the time per run. */
    public record TestRun(int retval, int outLength, long nanosPerRun) {}

    /**
     * Runs the program on {@code inLength} bytes of {@code in} with no network
     * ({@code BPF_PROG_TEST_RUN}; needs CAP_BPF and CAP_NET_ADMIN), {@code repeat} times; the packet
     * as the program left it goes to {@code out}. {@code ctx}, if not null, is the
     * {@code struct __sk_buff} the program starts with (mark, GSO size and segments, ...), and
     * receives the one it ended with.
     */
    public TestRun testRun(MemorySegment in, int inLength, MemorySegment out, MemorySegment ctx, int repeat)
            throws SysException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment opts = a.allocate(Libbpf.TEST_RUN_SIZE, 8);
            opts.set(ValueLayout.JAVA_LONG, 0, Libbpf.TEST_RUN_SIZE);
            opts.set(ValueLayout.ADDRESS, Libbpf.TEST_RUN_DATA_IN, in);
            opts.set(ValueLayout.JAVA_INT, Libbpf.TEST_RUN_DATA_SIZE_IN, inLength);
            opts.set(ValueLayout.ADDRESS, Libbpf.TEST_RUN_DATA_OUT, out);
            opts.set(ValueLayout.JAVA_INT, Libbpf.TEST_RUN_DATA_SIZE_OUT, (int) out.byteSize());
            if (ctx != null) {
                opts.set(ValueLayout.ADDRESS, Libbpf.TEST_RUN_CTX_IN, ctx);
                opts.set(ValueLayout.JAVA_INT, Libbpf.TEST_RUN_CTX_SIZE_IN, (int) ctx.byteSize());
                opts.set(ValueLayout.ADDRESS, Libbpf.TEST_RUN_CTX_OUT, ctx);
                opts.set(ValueLayout.JAVA_INT, Libbpf.TEST_RUN_CTX_SIZE_OUT, (int) ctx.byteSize());
            }
            opts.set(ValueLayout.JAVA_INT, Libbpf.TEST_RUN_REPEAT, repeat);
            int r = Libbpf.testRun(fd, opts);
            if (r < 0) throw new SysException("bpf_prog_test_run_opts " + name, -r);
            return new TestRun(
                    opts.get(ValueLayout.JAVA_INT, Libbpf.TEST_RUN_RETVAL),
                    opts.get(ValueLayout.JAVA_INT, Libbpf.TEST_RUN_DATA_SIZE_OUT),
                    Integer.toUnsignedLong(opts.get(ValueLayout.JAVA_INT, Libbpf.TEST_RUN_DURATION)));
        }
    }

    /** The kernel's counts for this program: runs and their total time (while stats are on), its id. */
    public record Stats(int id, long runs, long runNanos, int verifiedInstructions) {
        /** Nanoseconds per run, or 0 before any. */
        public double nanosPerRun() {
            return runs == 0 ? 0 : (double) runNanos / runs;
        }
    }

    public Stats stats() throws SysException {
        return stats(fd, name);
    }

    static Stats stats(int fd, String name) throws SysException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment info = a.allocate(BpfInfo.PROG_INFO_SIZE, 8);
            MemorySegment len = a.allocate(ValueLayout.JAVA_INT);
            len.set(ValueLayout.JAVA_INT, 0, (int) BpfInfo.PROG_INFO_SIZE);
            int r = Libbpf.infoByFd(fd, info, len);
            if (r < 0) throw new SysException("bpf_obj_get_info_by_fd " + name, -r);
            return new Stats(
                    BpfInfo.progId(info),
                    BpfInfo.progRunCount(info),
                    BpfInfo.progRunTimeNanos(info),
                    BpfInfo.progVerifiedInstructions(info));
        }
    }
}
