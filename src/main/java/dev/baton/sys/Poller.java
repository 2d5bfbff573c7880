package dev.baton.sys;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * {@code poll(2)} over up to a fixed number of descriptors, each in a numbered slot; the caller may
 * change what a slot watches between waits. Allocates nothing per call.
 */
public final class Poller {
    private static final int POLLFD_SIZE = 8; // int fd; short events; short revents
    private final MemorySegment fds;
    private final int capacity;
    private final Libc.CallState state = Libc.state();

    /** A poller of {@code capacity} slots, all empty. */
    public Poller(int capacity) {
        this.capacity = capacity;
        fds = Arena.ofAuto().allocate((long) POLLFD_SIZE * capacity, 8);
    }

    /** Slot {@code slot} watches {@code fd} for reading, and for writing too if {@code write}. */
    public void watch(int slot, int fd, boolean write) {
        long at = (long) slot * POLLFD_SIZE;
        fds.set(ValueLayout.JAVA_INT, at, fd);
        fds.set(ValueLayout.JAVA_SHORT, at + 4, (short) (Libc.POLLIN | (write ? Libc.POLLOUT : 0)));
        fds.set(ValueLayout.JAVA_SHORT, at + 6, (short) 0);
    }

    public int capacity() {
        return capacity;
    }

    /**
     * Waits up to {@code timeoutMillis} for any of the first {@code count} slots to become ready;
     * returns how many are.
     */
    public int await(int count, int timeoutMillis) throws SysException {
        int n = Libc.poll(state, fds, count, timeoutMillis);
        if (n >= 0) return n;
        int errno = state.errno();
        if (errno == Libc.EINTR) {
            for (int i = 0; i < count; i++) fds.set(ValueLayout.JAVA_SHORT, (long) i * POLLFD_SIZE + 6, (short) 0);
            return 0;
        }
        throw new SysException("poll", errno);
    }

    /** True if slot {@code slot} was readable, or ended or failed, at the last await. */
    public boolean ready(int slot) {
        return (revents(slot) & ~Libc.POLLOUT) != 0;
    }

    /** True if slot {@code slot} had room to write at the last await. */
    public boolean writable(int slot) {
        return (revents(slot) & Libc.POLLOUT) != 0;
    }

    private short revents(int slot) {
        return fds.get(ValueLayout.JAVA_SHORT, (long) slot * POLLFD_SIZE + 6);
    }
}
