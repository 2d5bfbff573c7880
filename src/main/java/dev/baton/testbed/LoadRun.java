package dev.baton.testbed;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.baton.btcp.Counter;
import dev.baton.node.NodeStats;
import dev.baton.testbed.LoadMix.Request;
import dev.baton.testbed.LoadMix.Target;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * A load run against a running testbed: the plan ({@link LoadMix}) is run by {@link LoadClient} in a
 * separate JVM inside the client namespace ({@code ip netns exec baton-client java ... testbed load
 * --worker}), so its connections are real client connections through the router; this side reads
 * every node's counters before and after and reports what changed, the handed-off share among them.
 *
 * <p>Worker and caller derive the same plan from the state file, the seed and the mix; the worker
 * prints its {@link LoadResult} as one JSON line.
 */
public final class LoadRun {
    /**
     * Kernel TCP counters reported per namespace (client and nodes) when they move: retransmissions,
     * tail loss probes and timeouts show loss and stalls (DSACKs received and spurious RTOs say
     * which were needless), listen overflows a full accept queue, and the last four a bad rewrite
     * (docs/KERNEL-FACTS.md).
     */
    public static final List<String> TCP_COUNTERS = List.of(
            "Tcp.RetransSegs",
            "TcpExt.TCPLossProbes",
            "TcpExt.TCPTimeouts",
            "TcpExt.TCPSynRetrans",
            "TcpExt.TCPDSACKRecv",
            "TcpExt.TCPSpuriousRTOs",
            "TcpExt.ListenOverflows",
            "TcpExt.ListenDrops",
            "Tcp.InCsumErrors",
            "TcpExt.PAWSEstab",
            "TcpExt.TCPSACKDiscard",
            "TcpExt.TSEcrRejected");

    /** Time the worker JVM may take beyond the run itself (start-up, the plan, the answer). */
    static final Duration WORKER_SLACK = Duration.ofSeconds(60);

    private LoadRun() {}

    /**
     * What to run.
     *
     * @param requests how many requests
     * @param seed seed of the path and entry choice
     * @param mix the size mix
     * @param client concurrency, timeouts, keep-alive
     */
    public record Options(int requests, long seed, LoadMix mix, LoadClient.Options client) {
        public Options {
            if (requests < 0) {
                throw new IllegalArgumentException("requests must be >= 0, got " + requests);
            }
        }

        /** 2,000 requests, seed 1, the standard mix, {@link LoadClient.Options#defaults()}. */
        public static Options defaults() {
            return new Options(2000, 1, LoadMix.standard(), LoadClient.Options.defaults());
        }

        public Options withRequests(int n) {
            return new Options(n, seed, mix, client);
        }

        public Options withSeed(long s) {
            return new Options(requests, s, mix, client);
        }

        public Options withMix(LoadMix m) {
            return new Options(requests, seed, m, client);
        }

        public Options withClient(LoadClient.Options c) {
            return new Options(requests, seed, mix, c);
        }
    }

    /**
     * A finished run.
     *
     * @param options what was run
     * @param plannedBytes body bytes of the plan
     * @param plannedRemote requests whose entry node does not hold the file
     * @param result the client's view
     * @param counters every node counter, summed over the nodes, after minus before
     * @param drops every node drop counter that moved, summed over the nodes, after minus before
     * @param unanswered nodes that did not answer a stats query before or after (their counters are missing)
     * @param tcp per namespace (client, then nodes), the {@link #TCP_COUNTERS} that moved, after minus before
     * @param total time of the whole run, worker start-up included
     */
    public record Report(
            Options options,
            long plannedBytes,
            long plannedRemote,
            LoadResult result,
            Map<Counter, Long> counters,
            Map<String, Long> drops,
            List<String> unanswered,
            Map<String, Map<String, Long>> tcp,
            Duration total) {
        public Report {
            counters = Map.copyOf(counters);
            drops = Map.copyOf(drops);
            unanswered = List.copyOf(unanswered);
            Map<String, Map<String, Long>> copy = new LinkedHashMap<>();
            tcp.forEach((ns, m) -> copy.put(ns, Map.copyOf(m)));
            tcp = Collections.unmodifiableMap(copy);
        }

        /** A summed node counter's change, 0 if absent. */
        public long counter(Counter c) {
            return counters.getOrDefault(c, 0L);
        }

        /** Completed handoffs per new connection seen by the nodes during the run. */
        public double handedOffShare() {
            long seen = counter(Counter.CONNECTIONS_SEEN);
            return seen == 0 ? 0 : (double) counter(Counter.HANDOFFS_COMPLETED) / seen;
        }

        /** Share of the plan's requests whose entry node does not hold the file. */
        public double plannedRemoteShare() {
            return options.requests() == 0 ? 0 : (double) plannedRemote / options.requests();
        }

        /** The report as JSON (durations in microseconds). */
        public ObjectNode toJson() {
            ObjectNode o = Description.JSON.createObjectNode();
            o.put("requests", options.requests())
                    .put("concurrency", options.client().concurrency())
                    .put("seed", options.seed())
                    .put("keepAlive", options.client().keepAlive())
                    .put("mix", options.mix().spec())
                    .put("plannedBytes", plannedBytes)
                    .put("plannedRemote", plannedRemote)
                    .put("handedOffShare", handedOffShare())
                    .put("totalMicros", total.toNanos() / 1000);
            o.set("result", result.toJson());
            ObjectNode c = o.putObject("counters");
            Map<String, Long> byName = new TreeMap<>();
            counters.forEach((k, v) -> byName.put(k.metric(), v));
            byName.forEach(c::put);
            ObjectNode d = o.putObject("drops");
            new TreeMap<>(drops).forEach(d::put);
            var u = o.putArray("unanswered");
            unanswered.forEach(u::add);
            ObjectNode t = o.putObject("tcp");
            tcp.forEach((ns, m) -> {
                ObjectNode n = t.putObject(ns);
                new TreeMap<>(m).forEach(n::put);
            });
            return o;
        }

        /** A few lines for people. */
        public String summary() {
            LoadResult r = result;
            StringBuilder s = new StringBuilder();
            s.append(String.format(
                    "%d requests (seed %d, %d at once, %s, mix %s)%n",
                    options.requests(),
                    options.seed(),
                    options.client().concurrency(),
                    options.client().keepAlive() ? "keep-alive" : "a new connection each",
                    options.mix().spec()));
            s.append(String.format(
                    "byte-exact %d, failed %d%s%n",
                    r.ok(), r.failed(), r.failuresByKind().isEmpty() ? "" : " " + new TreeMap<>(r.failuresByKind())));
            for (LoadResult.Failure f : r.firstFailures()) {
                s.append("  ").append(f).append('\n');
            }
            s.append(String.format(
                    "%.1f MiB in %.2f s (%.0f req/s, %.1f MiB/s); latency p50 %.1f ms, p99 %.1f ms,"
                            + " max %.1f ms; %d connections%n",
                    r.bytes() / 1048576.0,
                    r.wall().toNanos() / 1e9,
                    r.requestsPerSecond(),
                    r.bytesPerSecond() / 1048576.0,
                    r.p50().toNanos() / 1e6,
                    r.p99().toNanos() / 1e6,
                    r.max().toNanos() / 1e6,
                    r.connections()));
            s.append(String.format(
                    "handed off %.1f%% (%d of %d connections seen by the nodes; the plan has %.1f%%"
                            + " remote); served by another node per X-Baton-Node: %d; fallbacks %d%n",
                    100 * handedOffShare(),
                    counter(Counter.HANDOFFS_COMPLETED),
                    counter(Counter.CONNECTIONS_SEEN),
                    100 * plannedRemoteShare(),
                    r.servedElsewhere(),
                    counter(Counter.FALLBACKS)));
            s.append("node drops: ")
                    .append(drops.isEmpty() ? "none" : new TreeMap<>(drops).toString())
                    .append('\n');
            tcp.forEach((ns, m) -> {
                if (!m.isEmpty()) {
                    s.append("kernel TCP in ")
                            .append(ns)
                            .append(": ")
                            .append(new TreeMap<>(m))
                            .append('\n');
                }
            });
            if (!unanswered.isEmpty()) {
                s.append("no stats from: ")
                        .append(String.join(", ", unanswered))
                        .append('\n');
            }
            return s.toString();
        }
    }

    /** The entry nodes of a testbed as targets, n1 first. */
    public static List<Target> targets(Description d) {
        return d.nodes().stream().map(Target::of).toList();
    }

    /** The plan both the caller and the worker derive. */
    public static List<Request> plan(Description d, Options o) {
        return o.mix().plan(d.content(), targets(d), o.requests(), o.seed());
    }

    /**
     * Runs {@code options} against {@code bed} from its client namespace and reports.
     *
     * @throws IllegalStateException if the worker cannot be run or gives no result (with its output)
     */
    public static Report run(Testbed bed, Options options) {
        List<Request> plan = plan(bed.description(), options);
        long started = System.nanoTime();
        Map<String, NetCounters> tcpBefore = tcpCounters(bed);
        TestbedStats before = bed.stats();
        List<String> argv = new ArrayList<>(Testbed.toolCommand());
        argv.addAll(workerArguments(bed.stateDir(), options));
        Duration limit = options.client()
                .maxTime()
                .plus(options.client().requestTimeout())
                .plus(WORKER_SLACK);
        ProcessResult r = bed.exec(bed.client().netns(), argv, limit);
        TestbedStats after = settledStats(bed);
        Map<String, NetCounters> tcpAfter = tcpCounters(bed);
        Duration total = Duration.ofNanos(System.nanoTime() - started);
        LoadResult result = parseWorkerOutput(r);
        List<String> unanswered = new ArrayList<>();
        Map<Counter, Long> counters = counterDeltas(before, after, unanswered);
        Map<String, Long> drops = dropDeltas(before, after);
        Map<String, Map<String, Long>> tcp = new LinkedHashMap<>();
        tcpBefore.forEach((ns, b) -> tcp.put(ns, moved(b, tcpAfter.get(ns))));
        return new Report(
                options, LoadMix.bytes(plan), LoadMix.remote(plan), result, counters, drops, unanswered, tcp, total);
    }

    /** The client's and every node's kernel TCP counters, client first. */
    static Map<String, NetCounters> tcpCounters(Testbed bed) {
        Map<String, NetCounters> m = new LinkedHashMap<>();
        m.put(bed.client().netns(), NetCounters.read(bed.client().netns()));
        for (NodeInfo n : bed.nodes()) {
            m.put(n.netns(), NetCounters.read(n.netns()));
        }
        return m;
    }

    /** How long the counters may take to settle after the last response. */
    private static final Duration SETTLE_LIMIT = Duration.ofSeconds(2);

    /**
     * Every node's stats once no handoff is still waiting for its answer (bounded by
     * {@link #SETTLE_LIMIT}): with the eager commit a chosen node's response can reach the client
     * before its ack reaches the entry, which counts the handoff a moment after the last request ended.
     */
    public static TestbedStats settledStats(Testbed bed) {
        long deadline = System.nanoTime() + SETTLE_LIMIT.toNanos();
        TestbedStats stats = bed.stats();
        while (stats.handoffsInFlight() > 0 && System.nanoTime() < deadline) {
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
            stats = bed.stats();
        }
        return stats;
    }

    /** The {@link #TCP_COUNTERS} that differ between two snapshots, after minus before. */
    static Map<String, Long> moved(NetCounters before, NetCounters after) {
        Map<String, Long> m = new TreeMap<>();
        for (String key : TCP_COUNTERS) {
            long d = after.get(key) - before.get(key);
            if (d != 0) {
                m.put(key, d);
            }
        }
        return m;
    }

    /** The arguments after the java command that make {@code baton testbed load --worker} run {@code o}. */
    static List<String> workerArguments(Path stateDir, Options o) {
        List<String> args = new ArrayList<>(List.of(
                "testbed",
                "load",
                "--worker",
                "--state-dir",
                stateDir.toString(),
                "--requests",
                Integer.toString(o.requests()),
                "--seed",
                Long.toString(o.seed()),
                "--mix",
                o.mix().spec(),
                "--concurrency",
                Integer.toString(o.client().concurrency()),
                "--timeout",
                Long.toString(seconds(o.client().requestTimeout())),
                "--max-time",
                Long.toString(seconds(o.client().maxTime()))));
        if (o.client().keepAlive()) {
            args.add("--keep-alive");
        }
        return args;
    }

    /** The worker's result: the last stdout line that is a JSON object. */
    static LoadResult parseWorkerOutput(ProcessResult r) {
        String[] lines = r.stdout().strip().split("\n");
        String last = lines[lines.length - 1].strip();
        if ((r.exitCode() != 0 && r.exitCode() != 1) || !last.startsWith("{")) {
            throw new IllegalStateException("the load worker in the client namespace gave no result (exit "
                    + r.exitCode() + "); stdout: " + abbreviate(r.stdout()) + "; stderr: " + abbreviate(r.stderr()));
        }
        try {
            return LoadResult.fromJson(Description.JSON.readTree(last));
        } catch (IOException | RuntimeException e) {
            throw new IllegalStateException("the load worker's result is not readable: " + abbreviate(last), e);
        }
    }

    /**
     * Every counter's change over the nodes that answered both times, after minus before; a node
     * missing from either is named in {@code unanswered}.
     */
    static Map<Counter, Long> counterDeltas(TestbedStats before, TestbedStats after, List<String> unanswered) {
        Map<Counter, Long> sum = new EnumMap<>(Counter.class);
        for (Twice t : answeredTwice(before, after, unanswered)) {
            for (Counter c : Counter.values())
                sum.merge(c, t.after().counter(c) - t.before().counter(c), Long::sum);
        }
        return sum;
    }

    /** Every drop reason that moved, by name, summed over the nodes that answered both times. */
    static Map<String, Long> dropDeltas(TestbedStats before, TestbedStats after) {
        Map<String, Long> sum = new TreeMap<>();
        for (Twice t : answeredTwice(before, after, new ArrayList<>())) {
            Map<String, Long> was = t.before().drops().byName();
            t.after().drops().byName().forEach((name, v) -> sum.merge(name, v - was.getOrDefault(name, 0L), Long::sum));
        }
        sum.values().removeIf(v -> v == 0);
        return sum;
    }

    /** One node's stats before and after. */
    private record Twice(NodeStats before, NodeStats after) {}

    /** Each node's stats before and after, if it answered both times; else it goes to {@code unanswered}. */
    private static List<Twice> answeredTwice(TestbedStats before, TestbedStats after, List<String> unanswered) {
        Set<String> names = new LinkedHashSet<>();
        for (TestbedStats s : List.of(before, after)) {
            s.nodes().forEach(n -> names.add(n.node()));
            names.addAll(s.unanswered().keySet());
        }
        List<Twice> pairs = new ArrayList<>();
        for (String node : names) {
            NodeStats b = before.find(node).orElse(null);
            NodeStats a = after.find(node).orElse(null);
            if (a == null || b == null) unanswered.add(node);
            else pairs.add(new Twice(b, a));
        }
        return pairs;
    }

    /** Whole seconds, rounded up (the command line takes seconds). */
    static long seconds(Duration d) {
        return Math.max(1, (d.toMillis() + 999) / 1000);
    }

    private static String abbreviate(String s) {
        String t = s.strip();
        return t.length() <= 2000 ? t : t.substring(0, 2000) + "...";
    }
}
