package dev.baton.sys;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;

/**
 * The few libc calls baton needs, bound through {@code java.lang.foreign} (no JNI). Every call that
 * can fail captures {@code errno} into a thread's {@link CallState}; the wrappers in this package turn
 * failures into {@link SysException} on the control path, or into return codes on the packet path.
 * This is the only class in the project that touches the foreign linker.
 */
final class Libc {
    static final int O_RDWR = 0x2;
    static final int O_NONBLOCK = 0x800;
    static final int O_CLOEXEC = 0x80000;
    static final int EAGAIN = 11;
    static final int EINTR = 4;
    static final short POLLIN = 0x1;
    static final int EFD_NONBLOCK = 0x800;
    static final int EFD_CLOEXEC = 0x80000;

    private static final Linker LINKER = Linker.nativeLinker();
    private static final SymbolLookup LIBC = LINKER.defaultLookup();
    private static final Linker.Option ERRNO = Linker.Option.captureCallState("errno");
    static final StructLayout CAPTURE_LAYOUT = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO_HANDLE =
            CAPTURE_LAYOUT.varHandle(java.lang.foreign.MemoryLayout.PathElement.groupElement("errno"));

    private static final MethodHandle OPEN = bind("open",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT));
    private static final MethodHandle CLOSE = bind("close",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));
    private static final MethodHandle IOCTL = bind("ioctl",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG,
                    ValueLayout.ADDRESS));
    /** ioctl with an integer argument (TUNSETOFFLOAD takes its flags by value, not through a pointer). */
    private static final MethodHandle IOCTL_VALUE = bind("ioctl",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG,
                    ValueLayout.JAVA_LONG));
    private static final MethodHandle READ = bind("read",
            FunctionDescriptor.of(ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT, ValueLayout.ADDRESS,
                    ValueLayout.JAVA_LONG));
    private static final MethodHandle WRITE = bind("write",
            FunctionDescriptor.of(ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT, ValueLayout.ADDRESS,
                    ValueLayout.JAVA_LONG));
    private static final MethodHandle POLL = bind("poll",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG,
                    ValueLayout.JAVA_INT));
    private static final MethodHandle EVENTFD = bind("eventfd",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));
    private static final MethodHandle STRERROR = LINKER.downcallHandle(LIBC.find("strerror").orElseThrow(),
            FunctionDescriptor.of(ValueLayout.ADDRESS, ValueLayout.JAVA_INT));

    private Libc() {}

    private static MethodHandle bind(String name, FunctionDescriptor fd) {
        return LINKER.downcallHandle(LIBC.find(name).orElseThrow(), fd, ERRNO);
    }

    /** Per-thread space for the captured errno: no allocation per call. */
    static final class CallState {
        final MemorySegment segment = Arena.ofAuto().allocate(CAPTURE_LAYOUT);

        int errno() {
            return (int) ERRNO_HANDLE.get(segment, 0L);
        }
    }

    private static final ThreadLocal<CallState> STATE = ThreadLocal.withInitial(CallState::new);

    static CallState state() {
        return STATE.get();
    }

    static int open(CallState st, MemorySegment path, int flags) {
        try {
            return (int) OPEN.invokeExact(st.segment, path, flags);
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    static int close(CallState st, int fd) {
        try {
            return (int) CLOSE.invokeExact(st.segment, fd);
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    static int ioctl(CallState st, int fd, long request, MemorySegment arg) {
        try {
            return (int) IOCTL.invokeExact(st.segment, fd, request, arg);
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    static int ioctl(CallState st, int fd, long request, long value) {
        try {
            return (int) IOCTL_VALUE.invokeExact(st.segment, fd, request, value);
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    static long read(CallState st, int fd, MemorySegment buf, long count) {
        try {
            return (long) READ.invokeExact(st.segment, fd, buf, count);
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    static long write(CallState st, int fd, MemorySegment buf, long count) {
        try {
            return (long) WRITE.invokeExact(st.segment, fd, buf, count);
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    static int poll(CallState st, MemorySegment fds, long nfds, int timeoutMillis) {
        try {
            return (int) POLL.invokeExact(st.segment, fds, nfds, timeoutMillis);
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    static int eventfd(CallState st, int initval, int flags) {
        try {
            return (int) EVENTFD.invokeExact(st.segment, initval, flags);
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    static String strerror(int errno) {
        try {
            MemorySegment s = (MemorySegment) STRERROR.invokeExact(errno);
            return s.reinterpret(256).getString(0);
        } catch (Throwable t) {
            return "errno " + errno;
        }
    }
}
