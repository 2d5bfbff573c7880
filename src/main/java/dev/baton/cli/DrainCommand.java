package dev.baton.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.baton.node.AdminClient;
import dev.baton.node.NodeStats;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code baton drain}: a running node stops taking new work it can pass on and finishes what it has
 * (the admin commands {@code drain}, {@code drain status}, {@code drain off}); with {@code --wait},
 * the command returns once nothing is open, which makes it the step before stopping the node.
 */
@Command(
        name = "drain",
        mixinStandardHelpOptions = true,
        description = {
            "Drain a running node: its peers hand it only what no other node can serve, connections "
                    + "entering it go to another holder when one is up, and connections in flight finish. Take the "
                    + "node out of DNS or the switch first: clients sent to it are still served.",
            "Exit status with --wait: 0 once drained, 1 if connections are still open at the timeout."
        })
public final class DrainCommand implements Callable<Integer> {
    private static final Duration ASK = Duration.ofSeconds(5);
    private static final ObjectMapper JSON = new ObjectMapper();

    @Spec
    CommandSpec spec;

    @Mixin
    AdminTarget target;

    @Option(names = "--wait", description = "Wait until no connection is open, then say so.")
    boolean await;

    @Option(
            names = "--timeout",
            paramLabel = "SECONDS",
            defaultValue = "300",
            description = "How long --wait waits (default: ${DEFAULT-VALUE} s).")
    long timeoutSeconds;

    @Option(names = "--off", description = "Take new connections and handoffs again.")
    boolean off;

    @Option(names = "--status", description = "Only show the drain's state.")
    boolean status;

    @Override
    public Integer call() throws IOException, InterruptedException {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        Path socket = target.resolve("baton drain", err);
        if (socket == null) return 2;
        if (off && (status || await)) {
            err.println("baton drain: --off takes neither --status nor --wait");
            return 2;
        }
        if (timeoutSeconds < 1) {
            err.println("baton drain: --timeout must be at least 1 s");
            return 2;
        }
        NodeStats.DrainState state = ask(socket, off ? "drain off" : status ? "drain status" : "drain");
        if (!await || state.state().equals("drained")) {
            out.println(describe(state));
            return 0;
        }
        out.println(describe(state));
        out.flush();
        long deadline = System.nanoTime() + Duration.ofSeconds(timeoutSeconds).toNanos();
        while (System.nanoTime() < deadline) {
            Thread.sleep(200);
            state = ask(socket, "drain status");
            if (!state.state().equals("draining")) {
                out.println(describe(state));
                return state.state().equals("drained") ? 0 : 1;
            }
        }
        out.println(describe(state));
        err.println(
                "baton drain: still " + state.openConnections() + " connections open after " + timeoutSeconds + " s");
        return 1;
    }

    private static NodeStats.DrainState ask(Path socket, String command) throws IOException {
        String text;
        try {
            text = AdminClient.query(socket, command, ASK);
        } catch (IOException e) {
            throw new IOException("no answer on " + socket + " (is the node running?): " + e.getMessage(), e);
        }
        JsonNode answer = JSON.readTree(text);
        if (answer.has("error")) throw new IOException(answer.path("error").asText());
        return NodeStats.JSON.treeToValue(answer, NodeStats.DrainState.class);
    }

    /** One line: {@code drained: no connection open (4.2 s)}, {@code draining: 3 connections open (1.0 s)}. */
    static String describe(NodeStats.DrainState state) {
        String s = state.state();
        int open = state.openConnections();
        String connections =
                open == 0 ? "no connection open" : open + (open == 1 ? " connection open" : " connections open");
        String since = state.millis() != null ? String.format(" (%.1f s)", state.millis() / 1000.0) : "";
        return switch (s) {
            case "off" -> "not draining: taking new connections and handoffs; " + connections;
            default -> s + ": " + connections + since;
        };
    }
}
