package dev.baton.bench;

import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/** {@code bench.md}: the setup, one table of every cell, the targets, and what the columns mean. */
public final class MarkdownReport {
    private MarkdownReport() {}

    public static String render(BenchResult r) {
        StringBuilder s = new StringBuilder("# baton bench\n\n");
        for (Map.Entry<String, String> e : r.setup().entrySet()) {
            s.append("- ").append(e.getKey()).append(": ").append(e.getValue()).append('\n');
        }
        s.append(
                "\n| workload | path | req/s | MB/s | p50 | p99 | CPU us/req n1 / n2 / n3 / n4 | entry | entry's share "
                        + "of bytes | handed off | errors |\n");
        s.append("|---|---|---:|---:|---:|---:|---|---|---:|---:|---|\n");
        for (Measurement m : r.measurements()) {
            s.append("| ")
                    .append(m.workload().label())
                    .append(" | ")
                    .append(m.path().label())
                    .append(" | ")
                    .append(m.workload().usesWrk() ? String.format("%,.0f", m.requestsPerSecond()) : "-")
                    .append(" | ")
                    .append(String.format("%,.1f", m.megabytesPerSecond()))
                    .append(" | ")
                    .append(latency(m.p50Micros()))
                    .append(" | ")
                    .append(latency(m.p99Micros()))
                    .append(" | ")
                    .append(cpu(m.cpuMicrosPerRequest()))
                    .append(" | ")
                    .append(m.entryNode())
                    .append(" | ")
                    .append(Double.isNaN(m.entryShare()) ? "-" : String.format("%.1f%%", m.entryShare() * 100))
                    .append(" | ")
                    .append(handedOff(m))
                    .append(" | ")
                    .append(m.ok() ? "0" : "**" + String.join("; ", m.errors()).replace("|", "/") + "**")
                    .append(" |\n");
        }
        s.append(
                "\n## Targets (issues 4 and 12)\n\n| target | measured | goal | verdict | gap |\n|---|---:|---|---|---|\n");
        for (Targets.Target t : r.targets()) {
            s.append("| ")
                    .append(t.name())
                    .append(" | ")
                    .append(t.valueText())
                    .append(t.note().isEmpty() ? "" : " (" + t.note() + ")")
                    .append(" | ")
                    .append(t.goal())
                    .append(" | ")
                    .append(t.verdict())
                    .append(" | ")
                    .append(t.gapText())
                    .append(" |\n");
        }
        List<String> errors = r.errors();
        s.append("\n").append(errors.isEmpty() ? "No errors.\n" : "**Errors (" + errors.size() + "):**\n");
        errors.forEach(e -> s.append("- ").append(e).append('\n'));
        s.append("""

                What the columns mean:
                - req/s and MB/s (10^6 bytes, heads and bodies) as the client read them; p50/p99 latency per request
                  from the client (wrk; for the single transfer: its total time). Several wrk processes run side by side
                  (one per entry URL), their latency quantiles pooled. The clients are closed-loop: in (c) the entry that
                  holds the file serves its connections faster; the "handed off" column says how many were.
                - CPU us/req: user + system time of the processes in each node's namespace (baton node, nginx, the
                  proxies on n1) over the run, per request. Softirq work (forwarding, much of TCP) is charged to
                  whatever runs when it happens, often another process or ksoftirqd, so it is not fully attributed.
                  The kernel counts it in clock ticks (10 ms here): the single transfer's figures are coarse.
                - Byte counters count headers as each device sees them: a direct veth carries large GSO segments (few
                  headers), the client's veth MTU-sized frames (Ethernet header included), a TUN IP packets. So "all of
                  it" reads between about 96% and 100%, and a proxy's share also holds its requests to the holder.
                - entry's share of bytes: what the entry carries of the connection over what the client received. (c): the
                  client packets the entries forwarded to chosen nodes (their "bytesForwarded", headers included) over
                  the payload the chosen nodes sent the client directly on the same connections ("bytesSentForOthers"),
                  all nodes summed; the control channel is not in it (its cost shows in the CPU columns). (b): what
                  the entry's BTCP wrote into its wire TUN (rx of baton-wN in the router namespace). Direct and
                  proxies: tx of the entry's direct veth (proxies: also their requests to the holders), over rx of the
                  client's veth. The holder is n2, so (a) and (b) count n2.
                - (c), 1 KiB on new connections: each wrk process asks in turn for a file of n1, n2, n3 and n4, so
                  three requests in four are handed off whichever entry serves fastest; on keep-alive connections (the
                  first request decides) each asks for n2's file, so the entry that is n2 serves its own.
                - handed off: handoffs the BTCPs completed over the connections they saw in the run (a keep-alive
                  connection is handed off, or not, once).
                """);
        return s.toString();
    }

    static String latency(double micros) {
        if (micros >= 1e6) return String.format("%.2f s", micros / 1e6);
        if (micros >= 1e3) return String.format("%.2f ms", micros / 1e3);
        return String.format("%.0f us", micros);
    }

    private static String cpu(Map<String, Double> perNode) {
        return String.join(
                " / ",
                new TreeMap<>(perNode)
                        .values().stream().map(v -> String.format("%,.0f", v)).toList());
    }

    private static String handedOff(Measurement m) {
        if (m.connectionsSeen() == 0) return "-";
        return String.format("%.0f%%", 100.0 * m.handedOff() / m.connectionsSeen());
    }
}
