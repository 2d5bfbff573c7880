package dev.baton.sys;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * A BPF program as a tc filter (cls_bpf, direct action) on one side of a device: the ingress or
 * egress hook of its {@code clsact} qdisc, made when missing ({@code bpf_tc_hook_create},
 * {@code bpf_tc_attach}). A filter stays attached when the process that attached it ends (unlike a
 * tcx link, which goes with its descriptor unless pinned): what a restart relies on. It is named by
 * its handle and priority, so a later process finds it, replaces it in one step, or removes it alone
 * ({@code bpf_tc_detach}), leaving other filters and the qdisc as they were.
 */
public final class TcHook {
    private static final int INGRESS = 1;
    private static final int EGRESS = 2;
    private static final int F_REPLACE = 1;
    private static final int EEXIST = 17;
    private static final int ENOENT = 2;

    private final int ifindex;
    private final boolean ingress;

    private TcHook(int ifindex, boolean ingress) {
        this.ifindex = ifindex;
        this.ingress = ingress;
    }

    public static TcHook ingress(int ifindex) {
        return new TcHook(ifindex, true);
    }

    public static TcHook egress(int ifindex) {
        return new TcHook(ifindex, false);
    }

    private MemorySegment hook(Arena a) {
        MemorySegment h = a.allocate(Libbpf.TC_HOOK_SIZE, 8);
        h.set(ValueLayout.JAVA_LONG, 0, Libbpf.TC_HOOK_SIZE);
        h.set(ValueLayout.JAVA_INT, Libbpf.TC_HOOK_IFINDEX, ifindex);
        h.set(ValueLayout.JAVA_INT, Libbpf.TC_HOOK_ATTACH_POINT, ingress ? INGRESS : EGRESS);
        return h;
    }

    private static MemorySegment opts(Arena a, int progFd, int flags, int handle, int priority) {
        MemorySegment o = a.allocate(Libbpf.TC_OPTS_SIZE, 8);
        o.set(ValueLayout.JAVA_LONG, 0, Libbpf.TC_OPTS_SIZE);
        o.set(ValueLayout.JAVA_INT, Libbpf.TC_OPTS_PROG_FD, progFd);
        o.set(ValueLayout.JAVA_INT, Libbpf.TC_OPTS_FLAGS, flags);
        o.set(ValueLayout.JAVA_INT, Libbpf.TC_OPTS_HANDLE, handle);
        o.set(ValueLayout.JAVA_INT, Libbpf.TC_OPTS_PRIORITY, priority);
        return o;
    }

    /**
     * Attaches {@code program} as filter {@code handle} at {@code priority}, replacing in one step
     * whatever filter had that handle and priority (packets never see the hook empty); returns the
     * program's id.
     */
    public int attach(BpfProgram program, int handle, int priority) throws SysException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment h = hook(a);
            int r = Libbpf.tcHookCreate(h);
            if (r < 0 && r != -EEXIST) throw new SysException("bpf_tc_hook_create " + where(), -r);
            MemorySegment o = opts(a, program.fd(), F_REPLACE, handle, priority);
            r = Libbpf.tcAttach(h, o);
            if (r < 0) throw new SysException("bpf_tc_attach " + program.name() + " " + where(), -r);
            return o.get(ValueLayout.JAVA_INT, Libbpf.TC_OPTS_PROG_ID);
        }
    }

    /** Removes filter {@code handle} at {@code priority}; false if there was none. */
    public boolean detach(int handle, int priority) throws SysException {
        try (Arena a = Arena.ofConfined()) {
            int r = Libbpf.tcDetach(hook(a), opts(a, 0, 0, handle, priority));
            if (r == -ENOENT || r == -22) return false;
            if (r < 0) throw new SysException("bpf_tc_detach " + where(), -r);
            return true;
        }
    }

    private String where() {
        return (ingress ? "ingress" : "egress") + " of ifindex " + ifindex;
    }
}
