package dev.baton.cli;

import dev.baton.btcp.Counter;
import dev.baton.control.ControlCounter;
import dev.baton.node.AdminClient;
import dev.baton.node.NodeStats;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
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
            out.print(render(NodeStats.parse(answer)));
            out.flush();
            return 0;
        } catch (IOException | RuntimeException e) {
            err.println("baton status: the node's answer is not its stats: " + e.getMessage());
            return 1;
        }
    }

    /** The stats as a few lines a person reads at a glance: only what is not zero among the drops. */
    static String render(NodeStats s) {
        StringBuilder b = new StringBuilder();
        List<String> down = new ArrayList<>(s.peers());
        down.removeAll(s.peersUp());
        b.append(String.format("node %s (%s)%n", s.node(), s.address()));
        b.append(String.format(
                "  control links  up: %s%s%n",
                s.peersUp().isEmpty() ? "none" : String.join(", ", s.peersUp()),
                down.isEmpty() ? "" : "; DOWN: " + String.join(", ", down)));
        NodeStats.DrainState drain = s.drain();
        List<String> peersDraining = drain == null ? List.of() : drain.peersDraining();
        boolean draining = drain != null && !drain.off();
        if (draining || !peersDraining.isEmpty()) {
            b.append("  drain          ").append(draining ? DrainCommand.describe(drain) : "this node: off");
            if (!peersDraining.isEmpty()) b.append("; peers draining: ").append(String.join(", ", peersDraining));
            b.append('\n');
        }
        b.append(String.format(
                "  connections    %,d active, %,d tracked, %,d half-open; hold buffers free %,d%n",
                s.activeConnections(), s.trackedConnections(), s.halfOpenConnections(), s.freeHoldBuffers()));
        b.append(String.format(
                "  as entry       %,d connections: %,d served here, %,d handed off (%,d completed, %,d fell back)%n",
                s.counter(Counter.CONNECTIONS_SEEN),
                s.counter(Counter.SERVED_LOCALLY),
                s.counter(Counter.HANDOFFS_SENT),
                s.counter(Counter.HANDOFFS_COMPLETED),
                s.counter(Counter.FALLBACKS)));
        b.append(String.format(
                "  as chosen      %,d handoffs accepted, %,d refused; %,d bytes sent for others%n",
                s.counter(Counter.HANDOFFS_ACCEPTED),
                s.counter(Counter.HANDOFFS_REFUSED),
                s.counter(Counter.BYTES_SENT_FOR_OTHERS)));
        b.append("  drops          ").append(nonZero(s.drops().byName())).append('\n');
        Map<String, Long> refusals = new LinkedHashMap<>();
        s.refusals().forEach((r, n) -> refusals.put(r.name(), n));
        b.append("  refusals       ").append(nonZero(refusals)).append('\n');
        NodeStats.ControlStats control = s.control();
        Map<String, Long> problems = new LinkedHashMap<>();
        if (control != null) {
            control.counters().forEach((c, n) -> {
                if (c != ControlCounter.FRAMES_IN && c != ControlCounter.FRAMES_OUT) problems.put(c.key(), n);
            });
        }
        b.append(String.format(
                "  control        %,d frames in, %,d out; problems: %s%n",
                control == null ? 0 : control.get(ControlCounter.FRAMES_IN),
                control == null ? 0 : control.get(ControlCounter.FRAMES_OUT),
                nonZero(problems)));
        return b.toString();
    }

    private static String nonZero(Map<String, Long> counters) {
        List<String> l = new ArrayList<>();
        counters.forEach((name, n) -> {
            if (n != 0) l.add(name + " " + String.format("%,d", n));
        });
        return l.isEmpty() ? "none" : String.join(", ", l);
    }
}
