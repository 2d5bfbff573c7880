package dev.baton.sys;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * The libbpf calls baton needs ({@code libbpf.so.1}, Debian's {@code libbpf1}), bound through
 * {@code java.lang.foreign}, beside {@link Libc} the only native code in the project.
 *
 * <p>Why libbpf and not raw {@code bpf(2)}: loading an object means parsing its ELF, its BTF and
 * relocations, creating its maps and fixing their descriptors into the instructions; libbpf does
 * all of that and is what the kernel's own selftests use. What it costs: one shared library (every
 * distribution ships it) whose struct layouts we mirror; they are versioned by their leading
 * {@code sz} field, which we always set.
 *
 * <p>In libbpf 1.x every call returning {@code int} returns {@code -errno} itself; those returning a
 * pointer return NULL and set {@code errno}, which these bindings capture.
 */
@SuppressWarnings("restricted") // native code lives in sys only (LayeringTest)
final class Libbpf {
    private static final Linker LINKER = Linker.nativeLinker();
    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT;
    private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG;
    private static final ValueLayout ADDR = ValueLayout.ADDRESS;
    private static final Optional<SymbolLookup> LIB = find();
    private static final Linker.Option ERRNO = Linker.Option.captureCallState("errno");

    // struct bpf_tc_hook (24 bytes): size_t sz; int ifindex; enum attach_point; __u32 parent.
    static final long TC_HOOK_SIZE = 24;
    static final long TC_HOOK_IFINDEX = 8;
    static final long TC_HOOK_ATTACH_POINT = 12;
    // struct bpf_tc_opts (32 bytes): size_t sz; int prog_fd; __u32 flags, prog_id, handle, priority.
    static final long TC_OPTS_SIZE = 32;
    static final long TC_OPTS_PROG_FD = 8;
    static final long TC_OPTS_FLAGS = 12;
    static final long TC_OPTS_PROG_ID = 16;
    static final long TC_OPTS_HANDLE = 20;
    static final long TC_OPTS_PRIORITY = 24;
    // struct bpf_test_run_opts (80 bytes).
    static final long TEST_RUN_SIZE = 80;
    static final long TEST_RUN_DATA_IN = 8;
    static final long TEST_RUN_DATA_OUT = 16;
    static final long TEST_RUN_DATA_SIZE_IN = 24;
    static final long TEST_RUN_DATA_SIZE_OUT = 28;
    static final long TEST_RUN_CTX_IN = 32;
    static final long TEST_RUN_CTX_OUT = 40;
    static final long TEST_RUN_CTX_SIZE_IN = 48;
    static final long TEST_RUN_CTX_SIZE_OUT = 52;
    static final long TEST_RUN_RETVAL = 56;
    static final long TEST_RUN_REPEAT = 60;
    static final long TEST_RUN_DURATION = 64;

    private static final MethodHandle OPEN_MEM =
            bindErrno("bpf_object__open_mem", FunctionDescriptor.of(ADDR, ADDR, LONG, ADDR));
    private static final MethodHandle LOAD = bind("bpf_object__load", FunctionDescriptor.of(INT, ADDR));
    private static final MethodHandle CLOSE = bind("bpf_object__close", FunctionDescriptor.ofVoid(ADDR));
    private static final MethodHandle FIND_PROGRAM =
            bind("bpf_object__find_program_by_name", FunctionDescriptor.of(ADDR, ADDR, ADDR));
    private static final MethodHandle PROGRAM_FD = bind("bpf_program__fd", FunctionDescriptor.of(INT, ADDR));
    private static final MethodHandle FIND_MAP =
            bind("bpf_object__find_map_by_name", FunctionDescriptor.of(ADDR, ADDR, ADDR));
    private static final MethodHandle MAP_FD = bind("bpf_map__fd", FunctionDescriptor.of(INT, ADDR));
    private static final MethodHandle MAP_KEY_SIZE = bind("bpf_map__key_size", FunctionDescriptor.of(INT, ADDR));
    private static final MethodHandle MAP_VALUE_SIZE = bind("bpf_map__value_size", FunctionDescriptor.of(INT, ADDR));
    private static final MethodHandle MAP_MAX_ENTRIES = bind("bpf_map__max_entries", FunctionDescriptor.of(INT, ADDR));
    private static final MethodHandle MAP_SET_MAX_ENTRIES =
            bind("bpf_map__set_max_entries", FunctionDescriptor.of(INT, ADDR, INT));
    private static final MethodHandle MAP_SET_PIN_PATH =
            bind("bpf_map__set_pin_path", FunctionDescriptor.of(INT, ADDR, ADDR));
    private static final MethodHandle MAP_UNPIN = bind("bpf_map__unpin", FunctionDescriptor.of(INT, ADDR, ADDR));
    private static final MethodHandle UPDATE =
            bind("bpf_map_update_elem", FunctionDescriptor.of(INT, INT, ADDR, ADDR, LONG));
    private static final MethodHandle LOOKUP = bind("bpf_map_lookup_elem", FunctionDescriptor.of(INT, INT, ADDR, ADDR));
    private static final MethodHandle DELETE = bind("bpf_map_delete_elem", FunctionDescriptor.of(INT, INT, ADDR));
    private static final MethodHandle NEXT_KEY =
            bind("bpf_map_get_next_key", FunctionDescriptor.of(INT, INT, ADDR, ADDR));
    private static final MethodHandle TEST_RUN = bind("bpf_prog_test_run_opts", FunctionDescriptor.of(INT, INT, ADDR));
    private static final MethodHandle TC_HOOK_CREATE = bind("bpf_tc_hook_create", FunctionDescriptor.of(INT, ADDR));
    private static final MethodHandle TC_ATTACH = bind("bpf_tc_attach", FunctionDescriptor.of(INT, ADDR, ADDR));
    private static final MethodHandle TC_DETACH = bind("bpf_tc_detach", FunctionDescriptor.of(INT, ADDR, ADDR));
    private static final MethodHandle INFO_BY_FD =
            bind("bpf_obj_get_info_by_fd", FunctionDescriptor.of(INT, INT, ADDR, ADDR));
    private static final MethodHandle POSSIBLE_CPUS = bind("libbpf_num_possible_cpus", FunctionDescriptor.of(INT));
    private static final MethodHandle SET_PRINT = bind("libbpf_set_print", FunctionDescriptor.of(ADDR, ADDR));
    private static final MethodHandle VSNPRINTF = LINKER.downcallHandle(
            LINKER.defaultLookup().find("vsnprintf").orElseThrow(), FunctionDescriptor.of(INT, ADDR, LONG, ADDR, ADDR));

    private static volatile Consumer<String> printer = line -> {};
    /** The verifier's log comes as one message; a failing one can run to many KiB. */
    private static final long PRINT_BUFFER_SIZE = 1 << 20;

    private static MemorySegment printBuffer;

    private Libbpf() {}

    private static Optional<SymbolLookup> find() {
        try {
            return Optional.of(SymbolLookup.libraryLookup("libbpf.so.1", Arena.global()));
        } catch (IllegalArgumentException e) {
            return Optional.empty();
        }
    }

    /** Whether {@code libbpf.so.1} could be opened; every call below fails without it. */
    static boolean available() {
        return LIB.isPresent();
    }

    private static MethodHandle bind(String name, FunctionDescriptor fd) {
        return LIB.flatMap(l -> l.find(name))
                .map(s -> LINKER.downcallHandle(s, fd))
                .orElse(null);
    }

    private static MethodHandle bindErrno(String name, FunctionDescriptor fd) {
        return LIB.flatMap(l -> l.find(name))
                .map(s -> LINKER.downcallHandle(s, fd, ERRNO))
                .orElse(null);
    }

    private static AssertionError rethrow(Throwable t) {
        return new AssertionError(t);
    }

    static MemorySegment openMem(Libc.CallState st, MemorySegment elf) {
        try {
            return (MemorySegment) OPEN_MEM.invokeExact(st.segment, elf, elf.byteSize(), MemorySegment.NULL);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    static int load(MemorySegment obj) {
        try {
            return (int) LOAD.invokeExact(obj);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    static void close(MemorySegment obj) {
        try {
            CLOSE.invokeExact(obj);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    static MemorySegment findProgram(MemorySegment obj, MemorySegment name) {
        try {
            return (MemorySegment) FIND_PROGRAM.invokeExact(obj, name);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    static int programFd(MemorySegment prog) {
        try {
            return (int) PROGRAM_FD.invokeExact(prog);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    static MemorySegment findMap(MemorySegment obj, MemorySegment name) {
        try {
            return (MemorySegment) FIND_MAP.invokeExact(obj, name);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    static int mapFd(MemorySegment map) {
        try {
            return (int) MAP_FD.invokeExact(map);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    static int mapKeySize(MemorySegment map) {
        try {
            return (int) MAP_KEY_SIZE.invokeExact(map);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    static int mapValueSize(MemorySegment map) {
        try {
            return (int) MAP_VALUE_SIZE.invokeExact(map);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    static int mapMaxEntries(MemorySegment map) {
        try {
            return (int) MAP_MAX_ENTRIES.invokeExact(map);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    static int mapSetMaxEntries(MemorySegment map, int n) {
        try {
            return (int) MAP_SET_MAX_ENTRIES.invokeExact(map, n);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    static int mapSetPinPath(MemorySegment map, MemorySegment path) {
        try {
            return (int) MAP_SET_PIN_PATH.invokeExact(map, path);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    static int mapUnpin(MemorySegment map) {
        try {
            return (int) MAP_UNPIN.invokeExact(map, MemorySegment.NULL);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    static int update(int fd, MemorySegment key, MemorySegment value, long flags) {
        try {
            return (int) UPDATE.invokeExact(fd, key, value, flags);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    static int lookup(int fd, MemorySegment key, MemorySegment value) {
        try {
            return (int) LOOKUP.invokeExact(fd, key, value);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    static int delete(int fd, MemorySegment key) {
        try {
            return (int) DELETE.invokeExact(fd, key);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    static int nextKey(int fd, MemorySegment key, MemorySegment next) {
        try {
            return (int) NEXT_KEY.invokeExact(fd, key, next);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    static int testRun(int progFd, MemorySegment opts) {
        try {
            return (int) TEST_RUN.invokeExact(progFd, opts);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    static int tcHookCreate(MemorySegment hook) {
        try {
            return (int) TC_HOOK_CREATE.invokeExact(hook);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    static int tcAttach(MemorySegment hook, MemorySegment opts) {
        try {
            return (int) TC_ATTACH.invokeExact(hook, opts);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    static int tcDetach(MemorySegment hook, MemorySegment opts) {
        try {
            return (int) TC_DETACH.invokeExact(hook, opts);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    static int possibleCpus() {
        try {
            return (int) POSSIBLE_CPUS.invokeExact();
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    static int infoByFd(int fd, MemorySegment info, MemorySegment length) {
        try {
            return (int) INFO_BY_FD.invokeExact(fd, info, length);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * Sends libbpf's messages (the verifier's log among them) to {@code sink}, one line per call,
     * through an upcall that formats them with {@code vsnprintf} (on x86-64 a {@code va_list} is
     * passed as a pointer, which the upcall hands on as it came).
     */
    static void printTo(Consumer<String> sink) {
        printer = sink;
        Holder.install();
    }

    /** The upcall, made once. */
    private static final class Holder {
        private static boolean installed;

        static synchronized void install() {
            if (installed) return;
            try {
                MethodHandle target = MethodHandles.lookup()
                        .findStatic(
                                Holder.class,
                                "print",
                                MethodType.methodType(int.class, int.class, MemorySegment.class, MemorySegment.class));
                MemorySegment stub =
                        LINKER.upcallStub(target, FunctionDescriptor.of(INT, INT, ADDR, ADDR), Arena.global());
                MemorySegment previous = (MemorySegment) SET_PRINT.invokeExact(stub);
                installed = previous != null;
            } catch (Throwable t) {
                throw rethrow(t);
            }
        }

        @SuppressWarnings("unused") // called by libbpf
        private static int print(int level, MemorySegment format, MemorySegment args) {
            try {
                synchronized (Holder.class) {
                    if (printBuffer == null) printBuffer = Arena.global().allocate(PRINT_BUFFER_SIZE);
                    int n = (int) VSNPRINTF.invokeExact(printBuffer, PRINT_BUFFER_SIZE, format, args);
                    if (n <= 0) return 0;
                    String text = printBuffer.getString(0);
                    for (String line : text.split("\n")) {
                        if (!line.isEmpty()) printer.accept(line);
                    }
                    return n;
                }
            } catch (Throwable t) {
                return 0; // an upcall must not throw: it would end the process
            }
        }
    }
}
