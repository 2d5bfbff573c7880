package dev.baton.bench;

import dev.baton.testbed.CommandException;
import dev.baton.testbed.Commands;
import dev.baton.testbed.ProcessResult;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Runs the clients inside the client namespace: wrk processes side by side (one per URL, the
 * connections split evenly), and curl for a single transfer. Each has a timeout well past its run.
 */
final class LoadGenerator {
    /** Time a wrk or curl process may take beyond its planned duration. */
    static final Duration SLACK = Duration.ofSeconds(30);
    /** wrk's own limit per request: a slower one counts as a timeout error. */
    static final String WRK_TIMEOUT = "10s";

    private final String netns;
    private final Path doneScript;
    private final Path cycleScript;

    /** What one curl transfer did. */
    record Transfer(int status, long bytes, double seconds, double bytesPerSecond, String error) {}

    /** What one wrk process printed, parsed; or why it could not be parsed. */
    record WrkRun(String url, WrkResult result, String error) {}

    /**
     * @param doneScript {@link WrkOutput#DONE_SCRIPT} in a file
     * @param cycleScript {@link WrkOutput#CYCLE_SCRIPT} in a file
     */
    LoadGenerator(String netns, Path doneScript, Path cycleScript) {
        this.netns = netns;
        this.doneScript = doneScript;
        this.cycleScript = cycleScript;
    }

    /**
     * One wrk per URL, all at once, each with one thread and {@code connectionsEach} connections for
     * {@code duration}. A process that fails or prints no result comes back with its error. With
     * {@code cyclePaths}, each process asks for these paths in turn on its URL's host, not for the
     * URL's own path.
     */
    List<WrkRun> wrk(
            List<String> urls, List<String> cyclePaths, int connectionsEach, Duration duration, boolean close) {
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            List<Future<WrkRun>> runs = new ArrayList<>();
            for (String url : urls) {
                runs.add(pool.submit(() -> wrkOne(url, cyclePaths, connectionsEach, duration, close)));
            }
            List<WrkRun> done = new ArrayList<>();
            for (Future<WrkRun> f : runs) {
                done.add(f.get());
            }
            return done;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while wrk ran", e);
        } catch (ExecutionException e) {
            throw new IllegalStateException("wrk could not run: " + e.getCause(), e.getCause());
        }
    }

    private WrkRun wrkOne(String url, List<String> cyclePaths, int connections, Duration duration, boolean close) {
        Path script = cyclePaths.isEmpty() ? doneScript : cycleScript;
        List<String> argv = new ArrayList<>(List.of(
                "wrk",
                "-t1",
                "-c" + connections,
                "-d" + duration.toSeconds() + "s",
                "--timeout",
                WRK_TIMEOUT,
                "--latency",
                "-s",
                script.toString()));
        if (close) {
            argv.addAll(List.of("-H", "Connection: close"));
        }
        argv.add(url);
        argv.addAll(cyclePaths);
        try {
            ProcessResult r = Commands.run(Commands.inNetns(netns, argv), duration.plus(SLACK));
            try {
                WrkResult parsed = WrkOutput.parse(r.stdout());
                return new WrkRun(
                        url,
                        parsed,
                        r.ok()
                                ? ""
                                : "wrk exited with " + r.exitCode() + ": "
                                        + r.stderr().strip());
            } catch (IllegalArgumentException e) {
                return new WrkRun(
                        url,
                        null,
                        "wrk exited with " + r.exitCode() + ": " + e.getMessage() + " "
                                + r.stderr().strip());
            }
        } catch (CommandException e) {
            return new WrkRun(url, null, e.getMessage());
        }
    }

    /** One curl GET of {@code url} to /dev/null, limited to {@code maxTime}. */
    Transfer curl(String url, Duration maxTime) {
        List<String> argv = List.of(
                "curl",
                "-sS",
                "-o",
                "/dev/null",
                "--max-time",
                Long.toString(maxTime.toSeconds()),
                "-w",
                "%{http_code} %{size_download} %{time_total} %{speed_download}",
                url);
        try {
            ProcessResult r = Commands.run(Commands.inNetns(netns, argv), maxTime.plus(SLACK));
            return parseCurl(
                    r.stdout(),
                    r.ok()
                            ? ""
                            : "curl exited with " + r.exitCode() + ": "
                                    + r.stderr().strip());
        } catch (CommandException e) {
            return new Transfer(0, 0, 0, 0, e.getMessage());
        }
    }

    /** curl's {@code -w '%{http_code} %{size_download} %{time_total} %{speed_download}'} line. */
    static Transfer parseCurl(String out, String error) {
        String[] f = out.strip().split("\\s+");
        if (f.length != 4) {
            return new Transfer(0, 0, 0, 0, error.isEmpty() ? "unexpected curl output: " + out : error);
        }
        try {
            return new Transfer(
                    Integer.parseInt(f[0]),
                    Long.parseLong(f[1]),
                    Double.parseDouble(f[2]),
                    Double.parseDouble(f[3]),
                    error);
        } catch (NumberFormatException e) {
            return new Transfer(0, 0, 0, 0, "unexpected curl output: " + out + (error.isEmpty() ? "" : "; " + error));
        }
    }
}
