package dev.baton.bench;

import dev.baton.testbed.Commands;
import dev.baton.testbed.Names;
import dev.baton.testbed.ProcessResult;
import dev.baton.testbed.Spec;
import dev.baton.testbed.Testbed;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.function.Consumer;
import java.util.stream.Stream;

/**
 * {@code baton bench}: builds a four-node testbed (nginx origins, direct paths), starts the two
 * proxies on n1, and measures each workload through each path in one run (docs/PERFORMANCE.md), so
 * the ratios compare numbers taken minutes apart on the same machine.
 *
 * <p>The client side is the same for every path: {@link #CLIENTS} wrk processes side by side, one
 * thread each, the connections split evenly. For (c) each enters at a different node; for the
 * others all four use the same entry. Every file asked for is held by n2 only.
 */
public final class Bench {
    /** wrk processes per measurement: one per entry node of (c). */
    static final int CLIENTS = 4;
    /** Nodes unless told otherwise. */
    static final int NODES = 4;

    static final int MAX_NODES = 8;
    /** Where the proxies run and where (c)'s single transfer enters. */
    static final int ENTRY = 1;

    static final Duration TRANSFER_LIMIT = Duration.ofMinutes(2);
    /**
     * 64 MiB transfers per cell, one after another, each on its own connection. One such transfer
     * lasts about 0.1 s here, and 40 in a row through one path ranged from 0.34 to 1.0 GB/s: a
     * single one decided a ratio by chance.
     */
    public static final int HUGE_TRANSFERS = 9;
    /** One round of the warm-up: wrk on (c), new connections. */
    static final Duration WARM_UP_ROUND = Duration.ofSeconds(3);
    /** The first round is longer: its rate is (c)'s in the first seconds of a cluster's life (issue 12). */
    static final Duration FIRST_ROUND = Duration.ofSeconds(5);
    /** The JIT has settled once no node compiled longer than this in a warm-up round. */
    static final long JIT_SETTLED_MILLIS = 100;
    /** The most the warm-up may take unless told otherwise. */
    public static final Duration WARM_UP_LIMIT = Duration.ofSeconds(60);
    /** The warm-up of a quick run: two rounds, however busy the JIT still is. */
    public static final Duration QUICK_WARM_UP_LIMIT = Duration.ofSeconds(6);

    /**
     * How to run.
     *
     * @param duration of each wrk measurement
     * @param connections wrk connections in all, split over {@link #CLIENTS} processes
     * @param out where the reports go
     * @param stateDir the testbed's state directory
     * @param nodes nodes in the testbed, 2 to {@link #MAX_NODES}
     * @param warmUpLimit the most the JIT warm-up may take (it ends sooner once the JIT settled)
     */
    public record Options(
            Duration duration, int connections, Path out, Path stateDir, int nodes, Duration warmUpLimit) {
        public Options(Duration duration, int connections, Path out, Path stateDir) {
            this(duration, connections, out, stateDir, NODES);
        }

        public Options(Duration duration, int connections, Path out, Path stateDir, int nodes) {
            this(duration, connections, out, stateDir, nodes, WARM_UP_LIMIT);
        }

        public Options {
            if (nodes < BenchContent.HOLDER || nodes > MAX_NODES) {
                throw new IllegalArgumentException(
                        "nodes must be " + BenchContent.HOLDER + " to " + MAX_NODES + ", got " + nodes);
            }
            if (connections < CLIENTS || connections % CLIENTS != 0) {
                throw new IllegalArgumentException(
                        "connections must be a multiple of " + CLIENTS + ", got " + connections);
            }
            if (duration.toSeconds() < 1) {
                throw new IllegalArgumentException("duration must be at least 1 s");
            }
            if (warmUpLimit.isNegative()) {
                throw new IllegalArgumentException("the warm-up limit cannot be negative");
            }
        }
    }

    private final Options options;
    private final Consumer<String> progress;

    private Bench(Options options, Consumer<String> progress) {
        this.options = options;
        this.progress = progress;
    }

    /** Runs everything, writes the reports into {@code options.out()} and returns the result. */
    public static BenchResult run(Options options, Consumer<String> progress) {
        return new Bench(options, progress).run();
    }

    private BenchResult run() {
        requireTools();
        Path content = Path.of(options.stateDir() + "-content");
        deleteRecursively(content);
        progress.accept("generating content in " + content);
        BenchContent.generate(content, options.nodes());
        Map<String, String> setup = setup();
        List<Measurement> cells = new ArrayList<>();
        progress.accept(
                "building the testbed (" + options.nodes() + " nodes, nginx, direct paths) in " + options.stateDir());
        try (Testbed bed =
                Testbed.up(new Spec(options.nodes(), Optional.of(content), Spec.Server.NGINX, options.stateDir())
                        .withDirectPaths(true))) {
            long up = System.nanoTime();
            setup.put("steering", steering());
            Proxies.start(bed, ENTRY);
            Path script = bed.stateDir().resolve("bench").resolve("done.lua");
            Files.writeString(script, WrkOutput.DONE_SCRIPT);
            Path cycle = bed.stateDir().resolve("bench").resolve("cycle.lua");
            Files.writeString(cycle, WrkOutput.CYCLE_SCRIPT);
            Run run = new Run(
                    bed, new Sampler(bed), new LoadGenerator(bed.client().netns(), script, cycle), up);
            run.warmUp();
            setup.put("warm-up", run.warmUp);
            setup.put("first 5 s", run.firstSeconds);
            int total = Workload.values().length * BenchPath.values().length;
            for (Workload w : Workload.values()) {
                for (BenchPath p : BenchPath.values()) {
                    Measurement m = run.measure(p, w);
                    cells.add(m);
                    progress.accept(line(cells.size(), total, m));
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } finally {
            deleteRecursively(content);
        }
        BenchResult result = BenchResult.of(setup, cells);
        write(result);
        return result;
    }

    /** One measurement run against a built testbed. */
    private final class Run {
        final Testbed bed;
        final Sampler sampler;
        final LoadGenerator load;
        /** What the warm-up did, for the report. */
        String warmUp = "none";
        /** (c)'s rate in the warm-up's first round, and how soon after the nodes were up it began. */
        String firstSeconds = "not measured";

        private final long upNanos;

        Run(Testbed bed, Sampler sampler, LoadGenerator load, long upNanos) {
            this.upNanos = upNanos;
            this.bed = bed;
            this.sampler = sampler;
            this.load = load;
        }

        /** One request per path first: a path that does not answer shows up now, and caches are warm. */
        void warmUp() {
            for (BenchPath p : BenchPath.values()) {
                LoadGenerator.Transfer t = load.curl(
                        urls(p, Workload.SMALL_KEEP_ALIVE, options.nodes()).getFirst(), Duration.ofSeconds(10));
                progress.accept("warm-up " + p.label() + ": "
                        + (t.status() == 200 && t.bytes() == BenchContent.SMALL
                                ? "ok"
                                : "FAILED: status " + t.status() + ", " + t.bytes() + " bytes " + t.error()));
            }
            warmUpJit();
        }

        /**
         * The nodes' JIT compilers. A node fresh from its start runs its packet path interpreted,
         * then compiles it while the load competes for the same CPUs: measured on the 2-CPU machine,
         * about 13 s of compilation per node, and (c) on new connections going from 2,300 to 9,000
         * requests per second over the first 20 s. Measuring before then would charge (b) and (c)
         * for the JIT, which a server pays once in its life. So: rounds of (c) on new connections,
         * where every node enters, serves and hands off, until no node's JIT worked longer than
         * {@link #JIT_SETTLED_MILLIS} in a round (or the limit passed). Unmeasured, and reported.
         */
        void warmUpJit() {
            long start = System.nanoTime();
            Map<String, Long> jit = sampler.jitMillis();
            List<String> rates = new ArrayList<>();
            boolean settled = false;
            while (!settled && System.nanoTime() - start < options.warmUpLimit().toNanos()) {
                boolean first = rates.isEmpty();
                double after = (System.nanoTime() - upNanos) / 1e9;
                List<LoadGenerator.WrkRun> runs = load.wrk(
                        urls(BenchPath.HANDOFF, Workload.SMALL_CLOSE, options.nodes()),
                        cyclePaths(BenchPath.HANDOFF, Workload.SMALL_CLOSE, options.nodes()),
                        options.connections() / CLIENTS,
                        first ? FIRST_ROUND : WARM_UP_ROUND,
                        true);
                double rate = 0;
                for (LoadGenerator.WrkRun r : runs) {
                    if (r.result() != null) rate += r.result().requestsPerSecond();
                }
                if (first) {
                    firstSeconds = String.format(
                            "(c) on new connections: %,.0f req/s over the first %d s of load, begun"
                                    + " %.1f s after the nodes were up (and had served one request per path)",
                            rate, FIRST_ROUND.toSeconds(), after);
                }
                Map<String, Long> now = sampler.jitMillis();
                long most = 0;
                for (var e : now.entrySet()) {
                    most = Math.max(most, e.getValue() - jit.getOrDefault(e.getKey(), 0L));
                }
                jit = now;
                settled = most <= JIT_SETTLED_MILLIS;
                rates.add(String.format("%,.0f", rate));
                progress.accept(String.format(
                        "warm-up round %d: (c) %,.0f req/s, the busiest JIT compiled %,d ms",
                        rates.size(), rate, most));
            }
            warmUp = String.format(
                    "%d rounds of %d s (the first %d s) of (c) on new connections (%s req/s), %s",
                    rates.size(),
                    WARM_UP_ROUND.toSeconds(),
                    FIRST_ROUND.toSeconds(),
                    String.join(" → ", rates),
                    settled
                            ? "until no node's JIT compiled more than " + JIT_SETTLED_MILLIS + " ms in a round"
                            : "stopped at the limit of " + options.warmUpLimit().toSeconds()
                                    + " s with the JIT still compiling");
        }

        Measurement measure(BenchPath p, Workload w) {
            Sampler.Sample before = sampler.take();
            List<String> errors = new ArrayList<>();
            long requests, bytes;
            double seconds, p50, p99;
            if (w.usesWrk()) {
                int connections = w.connections() > 0 ? w.connections() : options.connections();
                List<LoadGenerator.WrkRun> runs = load.wrk(
                        urls(p, w, options.nodes()),
                        cyclePaths(p, w, options.nodes()),
                        connections / CLIENTS,
                        options.duration(),
                        !w.keepAlive());
                List<WrkResult> results = new ArrayList<>();
                for (LoadGenerator.WrkRun r : runs) {
                    if (!r.error().isEmpty()) errors.add(r.url() + ": " + r.error());
                    if (r.result() != null) results.add(r.result());
                }
                WrkResult merged = results.isEmpty()
                        ? new WrkResult(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, List.of())
                        : WrkResult.merge(results);
                if (merged.errors() > 0) errors.add(merged.errorText());
                requests = merged.requests();
                bytes = merged.bytes();
                seconds = merged.seconds();
                p50 = merged.p50Micros();
                p99 = merged.p99Micros();

            } else {
                // MB/s over all the transfers (their bytes over their summed times); p50 and "p99"
                // are the median and the slowest transfer's time
                requests = 0;
                bytes = 0;
                seconds = 0;
                List<Double> times = new ArrayList<>();
                for (int i = 0; i < HUGE_TRANSFERS; i++) {
                    LoadGenerator.Transfer t =
                            load.curl(urls(p, w, options.nodes()).getFirst(), TRANSFER_LIMIT);
                    if (!t.error().isEmpty()) errors.add(t.error());
                    if (t.status() != 200) errors.add("status " + t.status());
                    if (t.bytes() != BenchContent.size(w)) {
                        errors.add("received " + t.bytes() + " bytes, expected " + BenchContent.size(w));
                    }
                    requests += t.status() == 200 ? 1 : 0;
                    bytes += t.bytes();
                    seconds += t.seconds();
                    times.add(t.seconds() * 1e6);
                }
                times.sort(null);
                p50 = times.get(times.size() / 2);
                p99 = times.getLast();
            }
            if (requests == 0 && errors.isEmpty()) errors.add("no request completed");
            Sampler.Sample after = sampler.take();
            Map<String, Double> cpu = new TreeMap<>();
            long n = Math.max(1, requests);
            sampler.cpuSeconds(before, after).forEach((node, s) -> cpu.put(node, s * 1e6 / n));
            String entry;
            long entryBytes;
            long clientBytes;
            if (p == BenchPath.HANDOFF) {
                // What the entries carried of the handed-off connections (the client's packets they
                // forwarded) over what the chosen nodes sent the client directly on them.
                entry = "n1-n" + Math.min(CLIENTS, options.nodes());
                entryBytes = after.bytesForwarded() - before.bytesForwarded();
                clientBytes = after.bytesSentForOthers() - before.bytesSentForOthers();
            } else {
                // What the entry sent toward the client (the holder, for (a) and (b)) over what the client got.
                int entryNode = p == BenchPath.DIRECT || p == BenchPath.LOCAL ? BenchContent.HOLDER : ENTRY;
                entry = Names.nodeName(entryNode);
                entryBytes = delta(
                        before,
                        after,
                        p == BenchPath.LOCAL ? bed.routerDeviceOf(entryNode) : Names.directRouterDevice(entryNode));
                clientBytes = delta(before, after, "client");
            }
            boolean baton = p == BenchPath.LOCAL || p == BenchPath.HANDOFF;
            double machine = sampler.machineSeconds(before, after) * 1e6 / n;
            return new Measurement(
                    p,
                    w,
                    requests,
                    bytes,
                    seconds,
                    p50,
                    p99,
                    cpu,
                    machine,
                    entry,
                    entryBytes,
                    clientBytes,
                    baton ? after.handedOff() - before.handedOff() : 0,
                    baton ? after.connectionsSeen() - before.connectionsSeen() : 0,
                    errors);
        }
    }

    /** The URLs of a measurement: one per wrk process ({@link #CLIENTS}), or the single transfer's first. */
    static List<String> urls(BenchPath p, Workload w) {
        return urls(p, w, NODES);
    }

    /** As {@link #urls(BenchPath, Workload)} on {@code nodes} nodes: (c)'s processes enter at n1, n2 ... in turn. */
    static List<String> urls(BenchPath p, Workload w, int nodes) {
        String path = BenchContent.path(w);
        int holder = BenchContent.HOLDER;
        List<String> urls = new ArrayList<>();
        for (int i = 1; i <= CLIENTS; i++) {
            String base = switch (p) {
                case DIRECT -> "http://" + Names.directIp(holder);
                case LOCAL -> "http://" + Names.nodeIp(holder);
                // The single transfer enters at ENTRY, which lacks the file, so it is handed off.
                case HANDOFF -> "http://" + Names.nodeIp(w.usesWrk() ? (i - 1) % nodes + 1 : ENTRY);
                case HAPROXY -> "http://" + Names.directIp(ENTRY) + ":" + ProxyConfig.HAPROXY_PORT;
                case NGINX -> "http://" + Names.directIp(ENTRY) + ":" + ProxyConfig.NGINX_PORT;
            };
            urls.add(base + path);
        }
        return urls;
    }

    /**
     * The paths each wrk process of (c) cycles through: on new connections, one small file of every
     * node, so about three in four requests are handed off whatever their entry serves fastest. On
     * keep-alive connections the first request decides (later ones for other nodes' files would be
     * back-end forwarded), so each asks for the holder's file alone. Empty: the URL's own path.
     */
    static List<String> cyclePaths(BenchPath p, Workload w) {
        return cyclePaths(p, w, NODES);
    }

    static List<String> cyclePaths(BenchPath p, Workload w, int nodes) {
        return p == BenchPath.HANDOFF && w == Workload.SMALL_CLOSE ? BenchContent.smallOnEveryNode(nodes) : List.of();
    }

    private static long delta(Sampler.Sample before, Sampler.Sample after, String key) {
        return after.deviceBytes().getOrDefault(key, 0L) - before.deviceBytes().getOrDefault(key, 0L);
    }

    /** The progress line of one measurement. */
    static String line(int index, int total, Measurement m) {
        String rate =
                m.workload().usesWrk() ? String.format("%,10.0f req/s", m.requestsPerSecond()) : "%16s".formatted("");
        return String.format(
                "[%2d/%d] %-22s %-20s %s %,9.1f MB/s  p50 %9s  p99 %9s  entry %6s  %s",
                index,
                total,
                m.workload().label(),
                m.path().label(),
                rate,
                m.megabytesPerSecond(),
                MarkdownReport.latency(m.p50Micros()),
                MarkdownReport.latency(m.p99Micros()),
                Double.isNaN(m.entryShare()) ? "-" : String.format("%.1f%%", m.entryShare() * 100),
                m.ok() ? "errors 0" : "ERRORS: " + String.join("; ", m.errors()));
    }

    private void write(BenchResult result) {
        try {
            Files.createDirectories(options.out());
            Files.writeString(options.out().resolve("bench.md"), MarkdownReport.render(result));
            Files.writeString(options.out().resolve("bench.json"), JsonReport.render(result));
        } catch (IOException e) {
            throw new UncheckedIOException("writing into " + options.out(), e);
        }
        Plots.writeAll(result, options.out());
    }

    private Map<String, String> setup() {
        Map<String, String> s = new LinkedHashMap<>();
        s.put("date", Instant.now().truncatedTo(ChronoUnit.SECONDS).toString());
        s.put("kernel", firstLine(List.of("uname", "-r")));
        s.put("CPUs", Integer.toString(Runtime.getRuntime().availableProcessors()));
        s.put(
                "data path",
                Spec.DataPath.fromEnvironment() == Spec.DataPath.KERNEL
                        ? "in the kernel (BPF programs on each node's uplink)"
                        : "TUN (every packet through the engine)");
        s.put(
                "testbed",
                options.nodes() + " nodes, nginx origins (worker_processes 1, sendfile on, access_log off); every file "
                        + "asked for is held by n2 only; proxies on n1's direct address");
        s.put(
                "client",
                CLIENTS + " wrk processes side by side, 1 thread and " + options.connections() / CLIENTS
                        + " connections each (" + options.connections() + " in all), "
                        + options.duration().toSeconds()
                        + " s (128 connections in all for 128 concurrent 1 MiB), --timeout " + LoadGenerator.WRK_TIMEOUT
                        + "; (c)'s processes enter at n1, n2 ... in turn (of " + options.nodes() + " nodes); "
                        + "the 64 MiB transfer is " + HUGE_TRANSFERS
                        + " curls one after another, MB/s over all of them ((c):"
                        + " entering at n" + ENTRY + ")");
        s.put("nginx", firstLine(List.of("nginx", "-v")));
        s.put("haproxy", firstLine(List.of("haproxy", "-v")));
        s.put("wrk", firstLine(List.of("wrk", "-v")));
        return s;
    }

    /**
     * The receive packet steering (RPS CPU masks) of the devices the holder's traffic crosses: the
     * testbed steers each flow to one CPU as a NIC would, and the direct path must be steered as
     * baton's uplink is, or the two differ by more than baton (PERFORMANCE.md).
     */
    static String steering() {
        int holder = BenchContent.HOLDER;
        List<String> parts = new ArrayList<>();
        parts.add("client " + rpsCpus(Names.ROUTER_NETNS, Names.ROUTER_VETH) + "/"
                + rpsCpus(Names.CLIENT_NETNS, Names.CLIENT_VETH));
        if (Spec.DataPath.fromEnvironment() == Spec.DataPath.KERNEL) {
            parts.add("n" + holder + "'s uplink " + rpsCpus(Names.ROUTER_NETNS, Names.routerUplinkDevice(holder)) + "/"
                    + rpsCpus(Names.nodeNetns(holder), Names.uplinkDevice(holder)));
        }
        parts.add("n" + holder + "'s direct path " + rpsCpus(Names.ROUTER_NETNS, Names.directRouterDevice(holder)) + "/"
                + rpsCpus(Names.nodeNetns(holder), Names.directNodeDevice(holder)));
        return "rps_cpus (router end/node end): " + String.join(", ", parts);
    }

    private static String rpsCpus(String netns, String device) {
        return firstLine(Commands.inNetns(netns, List.of("cat", "/sys/class/net/" + device + "/queues/rx-0/rps_cpus")));
    }

    /** The first line a command prints (stdout or stderr: nginx -v writes to stderr). */
    private static String firstLine(List<String> argv) {
        try {
            ProcessResult r = Commands.run(argv, Names.COMMAND_TIMEOUT);
            String text = (r.stdout() + "\n" + r.stderr()).strip();
            return text.isEmpty() ? "?" : text.split("\n")[0].strip();
        } catch (RuntimeException e) {
            return "? (" + e.getMessage() + ")";
        }
    }

    private static void requireTools() {
        List<String> missing = Stream.of("wrk", "haproxy", "curl", "nginx")
                .filter(t -> Testbed.findOnPath(t).isEmpty())
                .toList();
        if (!missing.isEmpty()) {
            throw new IllegalStateException(
                    "baton bench needs " + String.join(", ", missing) + " (apt-get install -y wrk haproxy curl nginx)");
        }
    }

    private static void deleteRecursively(Path dir) {
        if (!Files.exists(dir)) return;
        try (Stream<Path> walk = Files.walk(dir)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("removing " + dir, e);
        }
    }
}
