package dev.baton.sys;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * An {@code eventfd(2)} used to wake the packet loop out of {@code poll} when another thread (the
 * control channel) has queued work for it.
 */
public final class EventFd implements AutoCloseable {
    private final int fd;
    private boolean closed;
    private final MemorySegment readBuf = Arena.ofAuto().allocate(8, 8);
    /** The value every signal writes; shared and never changed, so any thread may pass it to write. */
    private final MemorySegment one = Arena.ofShared().allocate(8, 8);

    public EventFd() throws SysException {
        Libc.CallState st = Libc.state();
        fd = Libc.eventfd(st, 0, Libc.EFD_NONBLOCK | Libc.EFD_CLOEXEC);
        if (fd < 0) throw new SysException("eventfd", st.errno());
        one.set(ValueLayout.JAVA_LONG, 0, 1L);
    }

    public int fd() {
        return fd;
    }

    /** Wakes the waiter; safe from any thread, and a no-op once closed. */
    public synchronized void signal() {
        if (!closed) Libc.write(Libc.state(), fd, one, 8);
    }

    /** Clears pending wake-ups; call from the waiting thread only. */
    public void drain() {
        Libc.read(Libc.state(), fd, readBuf, 8);
    }

    /**
     * Closes the descriptor, once. Under the same lock as {@link #signal}: the number is reused at
     * once, and a late signal must not write into another's descriptor.
     */
    @Override
    public synchronized void close() {
        if (!closed) {
            closed = true;
            Libc.close(Libc.state(), fd);
        }
    }
}
