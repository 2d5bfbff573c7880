package dev.baton.sys;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout.PathElement;
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
 * With {@link Libbpf}, the only classes in the project that touch the foreign linker.
 */
@SuppressWarnings("restricted") // native code lives in sys only (LayeringTest)
final class Libc {
    static final int O_RDONLY = 0x0;
    static final int O_RDWR = 0x2;
    static final int O_NONBLOCK = 0x800;
    static final int O_CLOEXEC = 0x80000;
    static final int EAGAIN = 11;
    static final int EINTR = 4;
    static final short POLLIN = 0x1;
    static final short POLLOUT = 0x4;
    static final int EINPROGRESS = 115;
    static final int ETIMEDOUT = 110;
    static final int AF_INET = 2;
    static final int SOCK_STREAM = 1;
    static final int SOCK_NONBLOCK = 0x800;
    static final int SOCK_CLOEXEC = 0x80000;
    static final int SOL_SOCKET = 1;
    static final int SO_REUSEADDR = 2;
    static final int SO_ERROR = 4;
    static final int IPPROTO_IP = 0;
    static final int IP_TOS = 1;
    static final int IPPROTO_TCP = 6;
    static final int TCP_NODELAY = 1;
    static final int SHUT_RDWR = 2;
    /** No SIGPIPE when the peer has gone: the call fails with EPIPE instead. */
    static final int MSG_NOSIGNAL = 0x4000;

    static final int EFD_NONBLOCK = 0x800;
    static final int EFD_CLOEXEC = 0x80000;
    /** setns(2): the descriptor must name a network namespace. */
    static final int CLONE_NEWNET = 0x40000000;

    private static final Linker LINKER = Linker.nativeLinker();
    private static final SymbolLookup LIBC = LINKER.defaultLookup();
    private static final Linker.Option ERRNO = Linker.Option.captureCallState("errno");
    static final StructLayout CAPTURE_LAYOUT = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO_HANDLE = CAPTURE_LAYOUT.varHandle(PathElement.groupElement("errno"));

    private static final MethodHandle OPEN =
            bind("open", FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT));
    private static final MethodHandle CLOSE =
            bind("close", FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));
    private static final MethodHandle IOCTL = bind(
            "ioctl",
            FunctionDescriptor.of(
                    ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG, ValueLayout.ADDRESS));
    /** ioctl with an integer argument (TUNSETOFFLOAD takes its flags by value, not through a pointer). */
    private static final MethodHandle IOCTL_VALUE = bind(
            "ioctl",
            FunctionDescriptor.of(
                    ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG));

    private static final MethodHandle READ = bind(
            "read",
            FunctionDescriptor.of(
                    ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG));
    private static final MethodHandle WRITE = bind(
            "write",
            FunctionDescriptor.of(
                    ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG));
    private static final MethodHandle POLL = bind(
            "poll",
            FunctionDescriptor.of(
                    ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT));
    private static final MethodHandle EVENTFD =
            bind("eventfd", FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));
    private static final MethodHandle SOCKET = bind(
            "socket",
            FunctionDescriptor.of(
                    ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));
    private static final MethodHandle SETSOCKOPT = bind(
            "setsockopt",
            FunctionDescriptor.of(
                    ValueLayout.JAVA_INT,
                    ValueLayout.JAVA_INT,
                    ValueLayout.JAVA_INT,
                    ValueLayout.JAVA_INT,
                    ValueLayout.ADDRESS,
                    ValueLayout.JAVA_INT));
    private static final MethodHandle GETSOCKOPT = bind(
            "getsockopt",
            FunctionDescriptor.of(
                    ValueLayout.JAVA_INT,
                    ValueLayout.JAVA_INT,
                    ValueLayout.JAVA_INT,
                    ValueLayout.JAVA_INT,
                    ValueLayout.ADDRESS,
                    ValueLayout.ADDRESS));
    /** bind, connect: (fd, const struct sockaddr *, socklen_t). */
    private static final FunctionDescriptor ADDRESS_CALL = FunctionDescriptor.of(
            ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT);

    private static final MethodHandle BIND = bind("bind", ADDRESS_CALL);
    private static final MethodHandle CONNECT = bind("connect", ADDRESS_CALL);
    private static final MethodHandle LISTEN =
            bind("listen", FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));
    private static final MethodHandle ACCEPT4 = bind(
            "accept4",
            FunctionDescriptor.of(
                    ValueLayout.JAVA_INT,
                    ValueLayout.JAVA_INT,
                    ValueLayout.ADDRESS,
                    ValueLayout.ADDRESS,
                    ValueLayout.JAVA_INT));
    /** getsockname, getpeername: (fd, struct sockaddr *, socklen_t *). */
    private static final FunctionDescriptor NAME_CALL =
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.ADDRESS);

    private static final MethodHandle GETSOCKNAME = bind("getsockname", NAME_CALL);
    private static final MethodHandle SEND = bind(
            "send",
            FunctionDescriptor.of(
                    ValueLayout.JAVA_LONG,
                    ValueLayout.JAVA_INT,
                    ValueLayout.ADDRESS,
                    ValueLayout.JAVA_LONG,
                    ValueLayout.JAVA_INT));
    private static final MethodHandle MMAP = bind(
            "mmap",
            FunctionDescriptor.of(
                    ValueLayout.ADDRESS,
                    ValueLayout.ADDRESS,
                    ValueLayout.JAVA_LONG,
                    ValueLayout.JAVA_INT,
                    ValueLayout.JAVA_INT,
                    ValueLayout.JAVA_INT,
                    ValueLayout.JAVA_LONG));
    private static final MethodHandle MUNMAP =
            bind("munmap", FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG));
    private static final MethodHandle GETPAGESIZE = bind("getpagesize", FunctionDescriptor.of(ValueLayout.JAVA_INT));
    private static final MethodHandle SETNS =
            bind("setns", FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));
    private static final MethodHandle IF_NAMETOINDEX =
            bind("if_nametoindex", FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS));
    private static final MethodHandle STATFS =
            bind("statfs", FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.ADDRESS));
    private static final MethodHandle SHUTDOWN =
            bind("shutdown", FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));
    private static final MethodHandle STRERROR = LINKER.downcallHandle(
            LIBC.find("strerror").orElseThrow(), FunctionDescriptor.of(ValueLayout.ADDRESS, ValueLayout.JAVA_INT));

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

    /** Moves the calling thread (only it) into the namespace {@code fd} names. */
    static int setns(CallState st, int fd, int nstype) {
        try {
            return (int) SETNS.invokeExact(st.segment, fd, nstype);
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

    static final int PROT_READ = 0x1;
    static final int PROT_WRITE = 0x2;
    static final int MAP_SHARED = 0x1;

    /** mmap(2); the result's address is -1 (MAP_FAILED) on failure, with errno in {@code st}. */
    static MemorySegment mmap(CallState st, long length, int prot, int flags, int fd, long offset) {
        try {
            return (MemorySegment) MMAP.invokeExact(st.segment, MemorySegment.NULL, length, prot, flags, fd, offset);
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    static int munmap(CallState st, MemorySegment addr, long length) {
        try {
            return (int) MUNMAP.invokeExact(st.segment, addr, length);
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    static int pageSize() {
        try {
            return (int) GETPAGESIZE.invokeExact(state().segment);
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

    static int socket(CallState st, int domain, int type, int protocol) {
        try {
            return (int) SOCKET.invokeExact(st.segment, domain, type, protocol);
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    static int setsockopt(CallState st, int fd, int level, int name, MemorySegment value, int length) {
        try {
            return (int) SETSOCKOPT.invokeExact(st.segment, fd, level, name, value, length);
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    static int getsockopt(CallState st, int fd, int level, int name, MemorySegment value, MemorySegment length) {
        try {
            return (int) GETSOCKOPT.invokeExact(st.segment, fd, level, name, value, length);
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    static int bind(CallState st, int fd, MemorySegment address, int length) {
        try {
            return (int) BIND.invokeExact(st.segment, fd, address, length);
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    static int connect(CallState st, int fd, MemorySegment address, int length) {
        try {
            return (int) CONNECT.invokeExact(st.segment, fd, address, length);
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    static int listen(CallState st, int fd, int backlog) {
        try {
            return (int) LISTEN.invokeExact(st.segment, fd, backlog);
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    static int accept4(CallState st, int fd, MemorySegment address, MemorySegment length, int flags) {
        try {
            return (int) ACCEPT4.invokeExact(st.segment, fd, address, length, flags);
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    static int getsockname(CallState st, int fd, MemorySegment address, MemorySegment length) {
        try {
            return (int) GETSOCKNAME.invokeExact(st.segment, fd, address, length);
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    static long send(CallState st, int fd, MemorySegment buf, long count, int flags) {
        try {
            return (long) SEND.invokeExact(st.segment, fd, buf, count, flags);
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    /** The index of the interface {@code name} in the calling thread's network namespace; 0: none. */
    static int ifNameToIndex(CallState st, MemorySegment name) {
        try {
            return (int) IF_NAMETOINDEX.invokeExact(st.segment, name);
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    /** statfs(2) into {@code buf} (a {@code struct statfs}, 120 bytes on x86-64: f_type first). */
    static int statfs(CallState st, MemorySegment path, MemorySegment buf) {
        try {
            return (int) STATFS.invokeExact(st.segment, path, buf);
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    static int shutdown(CallState st, int fd, int how) {
        try {
            return (int) SHUTDOWN.invokeExact(st.segment, fd, how);
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
