package dev.baton.sys;

import java.io.IOException;
import java.io.Serial;

/** A failed system call, with the call's name and errno text. */
public final class SysException extends IOException {
    @Serial
    private static final long serialVersionUID = 1L;

    private final int errno;

    /** A failed call of {@code call} with {@code errno} (as a libbpf call returns it, negated). */
    public SysException(String call, int errno) {
        super(call + ": " + Libc.strerror(errno) + " (errno " + errno + ")");
        this.errno = errno;
    }

    SysException(String call, int errno, String detail) {
        super(call + ": " + Libc.strerror(errno) + " (errno " + errno + ")" + (detail.isEmpty() ? "" : "\n" + detail));
        this.errno = errno;
    }

    public int errno() {
        return errno;
    }
}
