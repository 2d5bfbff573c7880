package dev.baton.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.baton.node.AdminClient;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code baton status}: asks a running node, over its admin socket, how it is doing. */
@Command(
        name = "status",
        mixinStandardHelpOptions = true,
        description = "Show a running node's state: its control links, connections, handoffs and drops.")
public final class StatusCommand implements Callable<Integer> {
    private static final Duration WAIT = Duration.ofSeconds(5);
    private static final ObjectMapper JSON = new ObjectMapper();

    @Spec
    CommandSpec spec;

    @Mixin
    AdminTarget target;

    @Option(names = "--json", description = "Print the node's stats as they come, one JSON object.")
    boolean json;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        Path path = target.resolve("baton status", err);
        if (path == null) {
            return 2;
        }
        String answer;
        try {
            answer = AdminClient.query(path, "stats", WAIT);
        } catch (IOException e) {
            err.println("baton status: no answer on " + path + " (is the node running?): " + e.getMessage());
            return 1;
        }
        if (json) {
            out.println(answer);
            return 0;
        }
        try {
            out.print(render(JSON.readTree(answer)));
            out.flush();
            return 0;
        } catch (IOException | RuntimeException e) {
            err.println("baton status: the node's answer is not its stats: " + e.getMessage());
            return 1;
        }
    }

    /** The stats as a few lines a person reads at a glance: only what is not zero among the drops. */
    static String render(JsonNode s) {
        StringBuilder b = new StringBuilder();
        JsonNode c = s.path("counters");
        List<String> up = strings(s.path("peersUp"));
        List<String> down = new ArrayList<>(strings(s.path("peers")));
        down.removeAll(up);
        b.append(String.format(
                "node %s (%s)%n", s.path("node").asText("?"), s.path("address").asText("?")));
        b.append(String.format(
                "  control links  up: %s%s%n",
                up.isEmpty() ? "none" : String.join(", ", up),
                down.isEmpty() ? "" : "; DOWN: " + String.join(", ", down)));
        JsonNode drain = s.path("drain");
        List<String> peersDraining = strings(drain.path("peersDraining"));
        if (!drain.path("state").asText("off").equals("off") || !peersDraining.isEmpty()) {
            b.append("  drain          ")
                    .append(
                            drain.path("state").asText("off").equals("off")
                                    ? "this node: off"
                                    : DrainCommand.describe(drain));
            if (!peersDraining.isEmpty()) b.append("; peers draining: ").append(String.join(", ", peersDraining));
            b.append('\n');
        }
        b.append(String.format(
                "  connections    %,d active, %,d tracked, %,d half-open; hold buffers free %,d%n",
                s.path("activeConnections").asLong(),
                s.path("trackedConnections").asLong(),
                s.path("halfOpenConnections").asLong(),
                s.path("freeHoldBuffers").asLong()));
        b.append(String.format(
                "  as entry       %,d connections: %,d served here, %,d handed off (%,d completed, %,d fell back)%n",
                c.path("connectionsSeen").asLong(),
                c.path("servedLocally").asLong(),
                c.path("handoffsSent").asLong(),
                c.path("handoffsCompleted").asLong(),
                c.path("fallbacks").asLong()));
        b.append(String.format(
                "  as chosen      %,d handoffs accepted, %,d refused; %,d bytes sent for others%n",
                c.path("handoffsAccepted").asLong(),
                c.path("handoffsRefused").asLong(),
                c.path("bytesSentForOthers").asLong()));
        b.append("  drops          ").append(nonZero(s.path("drops"))).append('\n');
        b.append("  refusals       ").append(nonZero(s.path("refusals"))).append('\n');
        JsonNode control = s.path("control");
        b.append(String.format(
                "  control        %,d frames in, %,d out; problems: %s%n",
                control.path("framesIn").asLong(),
                control.path("framesOut").asLong(),
                nonZeroExcept(control, List.of("framesIn", "framesOut"))));
        return b.toString();
    }

    private static List<String> strings(JsonNode array) {
        List<String> l = new ArrayList<>();
        for (JsonNode n : array) l.add(n.asText());
        return l;
    }

    private static String nonZero(JsonNode counters) {
        return nonZeroExcept(counters, List.of());
    }

    private static String nonZeroExcept(JsonNode counters, List<String> except) {
        List<String> l = new ArrayList<>();
        for (var e : counters.properties()) {
            if (!except.contains(e.getKey())
                    && !e.getKey().contains(".")
                    && e.getValue().asLong() != 0) {
                l.add(e.getKey() + " " + String.format("%,d", e.getValue().asLong()));
            }
        }
        return l.isEmpty() ? "none" : String.join(", ", l);
    }
}
