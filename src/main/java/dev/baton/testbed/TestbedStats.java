package dev.baton.testbed;

import com.fasterxml.jackson.annotation.JsonIgnore;
import dev.baton.btcp.Counter;
import dev.baton.node.NodeStats;
import java.io.IOException;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Every node's stats ({@code baton testbed stats}), in node order.
 *
 * @param unanswered the nodes that did not answer within {@link Names#ADMIN_TIMEOUT}, each with why
 */
public record TestbedStats(List<NodeStats> nodes, Map<String, String> unanswered) {
    public TestbedStats {
        nodes = nodes == null ? List.of() : List.copyOf(nodes);
        unanswered = unanswered == null ? Map.of() : Collections.unmodifiableMap(new LinkedHashMap<>(unanswered));
    }

    /** Node {@code name}'s stats, if it answered. */
    public Optional<NodeStats> find(String name) {
        return nodes.stream().filter(n -> n.node().equals(name)).findFirst();
    }

    /** Node {@code name}'s stats; an error if it did not answer. */
    public NodeStats node(String name) {
        return find(name)
                .orElseThrow(() -> new IllegalStateException(
                        "no stats from " + name + ": " + unanswered.getOrDefault(name, "not a node of this testbed")));
    }

    /** Counter {@code c} summed over the nodes that answered. */
    public long sum(Counter c) {
        long n = 0;
        for (NodeStats s : nodes) n += s.counter(c);
        return n;
    }

    /** Handoffs sent and not yet completed, fallen back or abandoned, over all nodes. */
    @JsonIgnore
    public long handoffsInFlight() {
        return sum(Counter.HANDOFFS_SENT)
                - sum(Counter.HANDOFFS_COMPLETED)
                - sum(Counter.FALLBACKS)
                - sum(Counter.HANDOFFS_ABANDONED);
    }

    /** As {@code baton testbed stats --json} prints it: {@code {"nodes":[...],"unanswered":{...}}}. */
    public String toJson() {
        try {
            return NodeStats.JSON.writeValueAsString(this);
        } catch (IOException e) {
            throw new IllegalStateException("stats always serialise", e);
        }
    }

    @Override
    public String toString() {
        return toJson();
    }
}
