package dev.baton.sys;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Runs code inside a named network namespace ({@code ip netns add NAME} makes {@code /run/netns/NAME}).
 * {@code setns(2)} moves only the calling thread, so each call runs on a fresh platform thread that
 * enters the namespace and then ends: nothing else in the process ever runs there. A socket keeps the
 * namespace it was created in, so a listener opened this way serves that namespace from any thread.
 */
public final class Netns {
    /** Where iproute2 keeps the namespaces it names. */
    public static final Path RUN_NETNS = Path.of("/run/netns");

    private static final Duration TIMEOUT = Duration.ofSeconds(10);

    private Netns() {}

    /** The file that names namespace {@code name}. */
    public static Path path(String name) {
        return RUN_NETNS.resolve(name);
    }

    /** Runs {@code work} in namespace {@code name} and returns what it returned (at most 10 s). */
    public static <T> T call(String name, Callable<T> work) throws IOException {
        Path file = path(name);
        if (!Files.exists(file)) throw new IOException("no network namespace " + name + " (" + file + ")");
        AtomicReference<T> result = new AtomicReference<>();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread t = Thread.ofPlatform().name("netns-" + name).daemon().start(() -> {
            Libc.CallState st = Libc.state();
            try (Arena arena = Arena.ofConfined()) {
                int fd = Libc.open(st, arena.allocateFrom(file.toString()), Libc.O_RDONLY | Libc.O_CLOEXEC);
                if (fd < 0) throw new SysException("open " + file, st.errno());
                try {
                    if (Libc.setns(st, fd, Libc.CLONE_NEWNET) < 0) throw new SysException("setns " + name, st.errno());
                } finally {
                    Libc.close(st, fd);
                }
                result.set(work.call());
            } catch (Throwable e) {
                failure.set(e);
            }
        });
        try {
            if (!t.join(TIMEOUT)) throw new IOException("work in network namespace " + name + " took over " + TIMEOUT);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while working in network namespace " + name, e);
        }
        Throwable e = failure.get();
        if (e instanceof IOException io) throw io;
        if (e instanceof RuntimeException re) throw re;
        if (e != null) throw new IOException(e.getMessage(), e);
        return result.get();
    }
}
