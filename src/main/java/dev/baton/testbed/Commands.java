package dev.baton.testbed;

import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Runs external commands, always with a timeout, capturing bounded output.
 *
 * <p>Output is read by two virtual threads while the command runs, so a chatty command cannot block
 * on a full pipe; anything past {@link #MAX_CAPTURE} bytes per stream is read and dropped.
 */
public final class Commands {
    /** Most bytes kept from each of stdout and stderr. */
    public static final int MAX_CAPTURE = 1 << 20;

    private Commands() {}

    /**
     * Runs {@code argv} and waits at most {@code timeout}. A non-zero exit is returned, not thrown.
     *
     * @throws CommandException if the command cannot start or does not finish in time (it is then
     *     killed)
     */
    public static ProcessResult run(List<String> argv, Duration timeout) {
        Process process;
        try {
            process = new ProcessBuilder(argv)
                    .redirectInput(ProcessBuilder.Redirect.from(DEV_NULL))
                    .start();
        } catch (IOException e) {
            throw new CommandException(argv, "could not start: " + e.getMessage());
        }
        Capture out = new Capture(process.getInputStream());
        Capture err = new Capture(process.getErrorStream());
        Thread outThread = Thread.ofVirtual().start(out);
        Thread errThread = Thread.ofVirtual().start(err);
        try {
            if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                process.destroyForcibly();
                process.waitFor(2, TimeUnit.SECONDS);
                throw new CommandException(
                        argv,
                        "timed out after " + timeout.toMillis() + " ms; stderr: "
                                + err.text().strip());
            }
            // The streams end when the process (and anything that kept its pipes) exits.
            outThread.join(Duration.ofSeconds(2));
            errThread.join(Duration.ofSeconds(2));
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new CommandException(argv, "interrupted");
        }
        return new ProcessResult(argv, process.exitValue(), out.text(), err.text());
    }

    /** Runs {@code argv} and throws a {@link CommandException} unless it exits with 0. */
    public static ProcessResult check(List<String> argv, Duration timeout) {
        return run(argv, timeout).requireSuccess();
    }

    /** Runs {@code argv} with {@link Names#COMMAND_TIMEOUT}, throwing unless it exits with 0. */
    public static ProcessResult check(String... argv) {
        return check(List.of(argv), Names.COMMAND_TIMEOUT);
    }

    /** {@code ip netns exec NETNS argv...}. */
    public static List<String> inNetns(String netns, List<String> argv) {
        List<String> full = new ArrayList<>(List.of("ip", "netns", "exec", netns));
        full.addAll(argv);
        return full;
    }

    private static final File DEV_NULL = new File("/dev/null");

    /** Reads a stream to its end, keeping the first {@link #MAX_CAPTURE} bytes. */
    private static final class Capture implements Runnable {
        private final InputStream in;
        private final ByteArrayOutputStream kept = new ByteArrayOutputStream();

        Capture(InputStream in) {
            this.in = in;
        }

        @Override
        public void run() {
            byte[] buffer = new byte[8192];
            try (in) {
                int n;
                while ((n = in.read(buffer)) >= 0) {
                    synchronized (kept) {
                        int room = MAX_CAPTURE - kept.size();
                        if (room > 0) {
                            kept.write(buffer, 0, Math.min(room, n));
                        }
                    }
                }
            } catch (IOException e) {
                // The process was killed or closed its end: keep what was read.
            }
        }

        String text() {
            synchronized (kept) {
                return kept.toString(StandardCharsets.UTF_8);
            }
        }
    }
}
