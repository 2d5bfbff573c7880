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

    /** Wakes the waiter; safe from any thread. */
    public void signal() {
        Libc.write(Libc.state(), fd, one, 8);
    }

    /** Clears pending wake-ups; call from the waiting thread only. */
    public void drain() {
        Libc.read(Libc.state(), fd, readBuf, 8);
    }

    @Override
    public void close() {
        Libc.close(Libc.state(), fd);
    }
}
