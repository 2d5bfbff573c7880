package dev.baton.sys;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/** Offsets in {@code struct bpf_prog_info} (linux/bpf.h, uapi). */
final class BpfInfo {
    static final long PROG_INFO_SIZE = 232;
    private static final long PROG_ID = 4;
    private static final long PROG_RUN_TIME_NS = 192;
    private static final long PROG_RUN_CNT = 200;
    private static final long PROG_VERIFIED_INSNS = 216;

    private BpfInfo() {}

    static int progId(MemorySegment info) {
        return info.get(ValueLayout.JAVA_INT, PROG_ID);
    }

    static long progRunTimeNanos(MemorySegment info) {
        return info.get(ValueLayout.JAVA_LONG, PROG_RUN_TIME_NS);
    }

    static long progRunCount(MemorySegment info) {
        return info.get(ValueLayout.JAVA_LONG, PROG_RUN_CNT);
    }

    static int progVerifiedInstructions(MemorySegment info) {
        return info.get(ValueLayout.JAVA_INT, PROG_VERIFIED_INSNS);
    }
}
