package dev.baton.sys;

import java.io.IOException;

/** A failed system call, with the call's name and errno text. */
public final class SysException extends IOException {
    private final int errno;

    SysException(String call, int errno) {
        super(call + ": " + Libc.strerror(errno) + " (errno " + errno + ")");
        this.errno = errno;
    }

    public int errno() {
        return errno;
    }
}
