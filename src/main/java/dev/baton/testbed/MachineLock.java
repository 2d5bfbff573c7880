package dev.baton.testbed;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;

/**
 * One testbed per machine: its namespace and device names are fixed, and {@link Testbed#up} sweeps
 * whatever it finds under them. The process that builds a testbed holds this lock (an advisory
 * {@code flock}-style lock on a file in /run) until it takes it down or exits, so two test runs on
 * one machine take turns instead of tearing down each other's namespaces.
 */
public final class MachineLock {
    public static final Path FILE = Path.of("/run/baton-testbed.lock");
    /** How long {@link #acquire} waits for another process's testbed: long enough for a full test run. */
    public static final Duration WAIT = Duration.ofMinutes(45);

    private static FileChannel channel;
    private static FileLock lock;

    private MachineLock() {}

    /** Takes the lock (a no-op if this process holds it), waiting at most {@code timeout}. */
    public static synchronized void acquire(Duration timeout) {
        if (lock != null) return;
        long deadline = System.nanoTime() + timeout.toNanos();
        boolean told = false;
        try {
            channel = FileChannel.open(FILE, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
            while (true) {
                try {
                    lock = channel.tryLock();
                } catch (OverlappingFileLockException e) {
                    lock = null;
                }
                if (lock != null) return;
                if (System.nanoTime() > deadline) {
                    channel.close();
                    channel = null;
                    throw new IllegalStateException("another process has held the testbed lock " + FILE + " for "
                            + timeout.toMinutes() + " min; is a test run or `baton testbed up` still going?");
                }
                if (!told) {
                    System.err.println("baton: waiting for another process's testbed to come down (" + FILE + ")");
                    told = true;
                }
                Thread.sleep(200);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot open the testbed lock " + FILE, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for the testbed lock", e);
        }
    }

    public static synchronized void release() {
        try {
            if (lock != null) lock.release();
            if (channel != null) channel.close();
        } catch (IOException e) {
            // Closing the channel releases the lock in any case.
        } finally {
            lock = null;
            channel = null;
        }
    }
}
