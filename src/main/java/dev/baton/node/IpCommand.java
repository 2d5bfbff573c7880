package dev.baton.node;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Runs iproute2's {@code ip} for the little network setup a node does itself, with a timeout. */
final class IpCommand {
    private static final long TIMEOUT_SECONDS = 10;

    private IpCommand() {}

    static void run(String... args) throws IOException {
        List<String> argv = new ArrayList<>(List.of("ip"));
        argv.addAll(List.of(args));
        exec(argv, String.join(" ", argv), null);
    }

    /**
     * Runs several commands through one {@code ip -batch -}: one process instead of one per command,
     * which matters when a node restarts and every millisecond until it serves counts.
     */
    static void batch(List<List<String>> commands) throws IOException {
        batch(null, commands);
    }

    /** {@link #batch(List)} in network namespace {@code netns} ({@code ip -n}); null: this process's. */
    static void batch(String netns, List<List<String>> commands) throws IOException {
        StringBuilder input = new StringBuilder();
        for (List<String> c : commands) input.append(String.join(" ", c)).append('\n');
        List<String> argv = netns == null ? List.of("ip", "-batch", "-") : List.of("ip", "-n", netns, "-batch", "-");
        exec(argv, String.join(" ", argv) + ": " + input.toString().replace('\n', ';'), input.toString());
    }

    private static void exec(List<String> argv, String line, String input) throws IOException {
        Process ip = new ProcessBuilder(argv).redirectErrorStream(true).start();
        try (var in = ip.getOutputStream()) {
            if (input != null) in.write(input.getBytes(StandardCharsets.US_ASCII));
        }
        try {
            if (!ip.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
                ip.destroyForcibly();
                throw new IOException(line + ": no answer in " + TIMEOUT_SECONDS + " s");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted: " + line, e);
        }
        if (ip.exitValue() != 0) {
            throw new IOException(line + " failed: "
                    + new String(ip.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip());
        }
    }
}
