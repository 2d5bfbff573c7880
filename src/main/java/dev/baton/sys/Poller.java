package dev.baton.sys;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/** {@code poll(2)} over a fixed set of descriptors, for readability only; allocates nothing per call. */
public final class Poller {
    private static final int POLLFD_SIZE = 8; // int fd; short events; short revents
    private final MemorySegment fds;
    private final int count;
    private final Libc.CallState state = Libc.state();

    public Poller(int... descriptors) {
        count = descriptors.length;
        fds = Arena.ofAuto().allocate((long) POLLFD_SIZE * count, 8);
        for (int i = 0; i < count; i++) {
            fds.set(ValueLayout.JAVA_INT, (long) i * POLLFD_SIZE, descriptors[i]);
            fds.set(ValueLayout.JAVA_SHORT, (long) i * POLLFD_SIZE + 4, Libc.POLLIN);
        }
    }

    /** Waits up to {@code timeoutMillis} for any descriptor to become readable; returns how many are. */
    public int await(int timeoutMillis) throws SysException {
        int n = Libc.poll(state, fds, count, timeoutMillis);
        if (n >= 0) return n;
        int errno = state.errno();
        if (errno == Libc.EINTR) return 0;
        throw new SysException("poll", errno);
    }

    /** True if descriptor {@code index} (in constructor order) was readable (or errored) at the last await. */
    public boolean ready(int index) {
        return fds.get(ValueLayout.JAVA_SHORT, (long) index * POLLFD_SIZE + 6) != 0;
    }
}
