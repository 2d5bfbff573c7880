package dev.baton.testbed;

import dev.baton.btcp.Counter;
import dev.baton.node.NodeStats;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code baton testbed up|down|stats|load}: the namespace testbed from the command line (needs root). */
@Command(
        name = "testbed",
        mixinStandardHelpOptions = true,
        description = "Builds, inspects and removes a baton cluster in network namespaces on this machine (root).",
        subcommands = {
            TestbedCommand.Up.class,
            TestbedCommand.Down.class,
            TestbedCommand.Stats.class,
            TestbedCommand.Fault.class,
            TestbedCommand.Load.class,
            TestbedCommand.Restart.class
        })
public final class TestbedCommand implements Runnable {
    @picocli.CommandLine.Spec
    CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }

    /** {@code baton testbed up}. */
    @Command(
            name = "up",
            mixinStandardHelpOptions = true,
            description = "Starts a testbed (first removing what an earlier run left) and describes it.")
    static final class Up implements Callable<Integer> {
        @Option(names = "--nodes", defaultValue = "3", description = "Number of nodes (default ${DEFAULT-VALUE}).")
        int nodes;

        @Option(
                names = "--content",
                paramLabel = "DIR",
                description = "One document root per node: DIR/n1, DIR/n2 ... (default: generated sample files).")
        Path content;

        @Option(
                names = "--server",
                defaultValue = "builtin",
                paramLabel = "builtin|nginx",
                description = "Web server on each node (default ${DEFAULT-VALUE}).")
        String server;

        @Option(names = "--json", description = "Print the description as JSON.")
        boolean json;

        @Option(
                names = "--direct-paths",
                description = "Also give each node a plain veth that bypasses its BTCP, "
                        + "address 10.200.2.N (what `baton bench` measures as the direct path).")
        boolean directPaths;

        @Option(
                names = "--datapath",
                paramLabel = "tun|kernel",
                description = "kernel: BPF programs on each node's"
                        + " uplink carry established connections, the TUNs only the rest; tun: every packet crosses the TUNs"
                        + " (default: $BATON_DATAPATH, else kernel).")
        String datapath;

        @Option(
                names = "--node-arg",
                paramLabel = "ARG",
                description = "An option for every `baton node`, e.g."
                        + " --node-arg=--no-offload or --node-arg=--no-eager-commit (repeatable).")
        List<String> nodeArgs = new ArrayList<>();

        @Option(
                names = "--state-dir",
                defaultValue = "/run/baton-testbed",
                paramLabel = "DIR",
                description = "Where pids, logs and generated content go (default ${DEFAULT-VALUE}).")
        Path stateDir;

        @Override
        public Integer call() {
            if (!requireRoot("baton testbed up")) {
                return 2;
            }
            Spec.Server kind = parseServer(server);
            if (kind == null) {
                System.err.println("--server must be builtin or nginx, not " + server);
                return 2;
            }
            try {
                Spec spec = new Spec(nodes, Optional.ofNullable(content), kind, stateDir)
                        .withDirectPaths(directPaths)
                        .withNodeArgs(nodeArgs.toArray(String[]::new));
                if (datapath != null) {
                    switch (datapath) {
                        case "tun" -> spec = spec.withDataPath(Spec.DataPath.TUN);
                        case "kernel" -> spec = spec.withDataPath(Spec.DataPath.KERNEL);
                        default -> {
                            System.err.println("--datapath must be tun or kernel, not " + datapath);
                            return 2;
                        }
                    }
                }
                Testbed bed = Testbed.up(spec);
                System.out.print(
                        json
                                ? bed.description().toJsonString() + "\n"
                                : bed.description().summary());
                return 0;
            } catch (RuntimeException e) {
                System.err.println("baton testbed up failed: " + e.getMessage());
                return 1;
            }
        }
    }

    /** {@code baton testbed down}. */
    @Command(
            name = "down",
            mixinStandardHelpOptions = true,
            description = "Stops the node processes and nginx, deletes every baton-* namespace and the state files.")
    static final class Down implements Callable<Integer> {
        @Mixin
        StateDir state;

        @Override
        public Integer call() {
            if (!requireRoot("baton testbed down")) {
                return 2;
            }
            try {
                Testbed.cleanUp(state.dir);
                System.out.println("testbed down");
                return 0;
            } catch (RuntimeException e) {
                System.err.println("baton testbed down failed: " + e.getMessage());
                return 1;
            }
        }
    }

    /** {@code baton testbed stats}. */
    @Command(name = "stats", mixinStandardHelpOptions = true, description = "Shows every node's counters.")
    static final class Stats implements Callable<Integer> {
        @Option(names = "--json", description = "Print {\"nodes\":[...]} as JSON.")
        boolean json;

        @Mixin
        StateDir state;

        @Override
        public Integer call() {
            try {
                TestbedStats stats = Testbed.attach(state.dir).stats();
                System.out.print(json ? stats.toJson() + "\n" : statsTable(stats));
                return 0;
            } catch (RuntimeException e) {
                System.err.println("baton testbed stats failed: " + e.getMessage());
                return 1;
            }
        }
    }

    /** {@code baton testbed fault NODE|all list|add RULE|remove ID|clear}. */
    @Command(
            name = "fault",
            mixinStandardHelpOptions = true,
            description = "Injects faults into running nodes, e.g. `fault all add drop dir=in p=0.01 seed=7`,"
                    + " `fault n1 add drop dir=out phase=synack count=1`, `fault n2 add delay msg=handoff-ack ms=1500`,"
                    + " `fault n1 add drop port=7070` (cuts n1's control links), `fault all clear`."
                    + " Rules: see docs/RELIABILITY.md.")
    static final class Fault implements Callable<Integer> {
        @Parameters(index = "0", paramLabel = "NODE", description = "n1, n2 ... or all.")
        String node;

        @Parameters(index = "1..*", paramLabel = "COMMAND", description = "list | add RULE | remove ID | clear")
        List<String> command = new ArrayList<>();

        @Mixin
        StateDir state;

        @Override
        public Integer call() {
            try {
                Testbed bed = Testbed.attach(state.dir);
                String line = "fault " + (command.isEmpty() ? "list" : String.join(" ", command));
                for (NodeInfo n : bed.nodes()) {
                    if (node.equals("all") || node.equals(n.name())) {
                        System.out.println(n.name() + " " + bed.admin(n.number(), line));
                        if (!node.equals("all")) return 0;
                    }
                }
                if (node.equals("all")) return 0;
                System.err.println("no node " + node + " in this testbed");
                return 2;
            } catch (RuntimeException e) {
                System.err.println("baton testbed fault failed: " + e.getMessage());
                return 1;
            }
        }
    }

    /**
     * {@code baton testbed load}: many requests of mixed sizes to random entry nodes, from the client
     * namespace, each checked byte-exact ({@link LoadRun}). With {@code --worker} (what the testbed
     * itself runs inside the client namespace) it only runs the plan and prints the client's result.
     */
    @Command(
            name = "load",
            mixinStandardHelpOptions = true,
            description = "Sends requests of mixed sizes to random entry nodes from the client namespace, checks "
                    + "every response byte-exact (status, length, SHA-256) and reports latency and the handed-off "
                    + "share. Exits 1 if any request failed.")
    static final class Load implements Callable<Integer> {
        @Option(
                names = "--requests",
                defaultValue = "2000",
                paramLabel = "N",
                description = "Number of requests (default ${DEFAULT-VALUE}).")
        int requests;

        @Option(
                names = "--concurrency",
                defaultValue = "16",
                paramLabel = "C",
                description = "Requests in flight at once (default ${DEFAULT-VALUE}).")
        int concurrency;

        @Option(
                names = "--seed",
                defaultValue = "1",
                paramLabel = "S",
                description = "Seed of the choice of paths and entry nodes (default ${DEFAULT-VALUE}).")
        long seed;

        @Option(
                names = "--keep-alive",
                description = "Reuse connections (one per thread and entry node) instead of "
                        + "a new connection per request.")
        boolean keepAlive;

        @Option(
                names = "--timeout",
                defaultValue = "30",
                paramLabel = "SECONDS",
                description = "Limit of one request, connect to last byte (default ${DEFAULT-VALUE}).")
        long timeoutSeconds;

        @Option(
                names = "--max-time",
                defaultValue = "600",
                paramLabel = "SECONDS",
                description =
                        "No request is started after this (default ${DEFAULT-VALUE}); later ones count as failed.")
        long maxTimeSeconds;

        @Option(
                names = "--mix",
                paramLabel = "BOUND=WEIGHT,...",
                description =
                        "Size classes and weights, e.g. the default: 0=30,100=150,1k=220,10k=260,100k=280,1m=52,8m=8"
                                + " (a class holds the files up to its bound; files above the last are not asked for).")
        String mix;

        @Option(names = "--json", description = "Print the report as JSON.")
        boolean json;

        @Mixin
        StateDir state;

        @Option(
                names = "--worker",
                hidden = true,
                description = "Run the plan from this namespace and print the client's result as JSON.")
        boolean worker;

        @Override
        public Integer call() {
            LoadRun.Options options;
            try {
                options = new LoadRun.Options(
                        requests,
                        seed,
                        mix == null ? LoadMix.standard() : LoadMix.parse(mix),
                        new LoadClient.Options(
                                concurrency,
                                Duration.ofSeconds(timeoutSeconds),
                                keepAlive,
                                Duration.ofSeconds(maxTimeSeconds)));
            } catch (IllegalArgumentException e) {
                System.err.println("baton testbed load: " + e.getMessage());
                return 2;
            }
            try {
                if (worker) {
                    Testbed bed = Testbed.attach(state.dir);
                    LoadResult result = LoadClient.run(LoadRun.plan(bed.description(), options), options.client());
                    System.out.println(result.toJson());
                    return result.allOk() ? 0 : 1;
                }
                if (!requireRoot("baton testbed load")) {
                    return 2;
                }
                LoadRun.Report report = LoadRun.run(Testbed.attach(state.dir), options);
                System.out.print(json ? report.toJson() + "\n" : report.summary());
                return report.result().allOk() ? 0 : 1;
            } catch (RuntimeException e) {
                System.err.println("baton testbed load failed: " + e.getMessage());
                return 1;
            }
        }
    }

    /**
     * {@code baton testbed restart NODE [--kill]}: an upgrade rehearsed. The node's baton process
     * ends (SIGTERM after a handover, or SIGKILL as a crash) and starts again; on the in-kernel data
     * path the new process takes over its connections (docs/RELIABILITY.md).
     */
    @Command(
            name = "restart",
            mixinStandardHelpOptions = true,
            description = "Restarts one node's baton process, its namespace, server and connections left as they"
                    + " are: with --kill by SIGKILL (a crash), else by SIGTERM after a handover. On the in-kernel"
                    + " data path the new process takes over the node's connections.")
    static final class Restart implements Callable<Integer> {
        @Parameters(index = "0", paramLabel = "NODE", description = "n1, n2 ...")
        String node;

        @Option(names = "--kill", description = "End the process with SIGKILL, as a crash would.")
        boolean kill;

        @Mixin
        StateDir state;

        @Override
        public Integer call() {
            if (!requireRoot("baton testbed restart")) {
                return 2;
            }
            try {
                Testbed bed = Testbed.attach(state.dir);
                NodeInfo n = bed.nodes().stream()
                        .filter(x -> x.name().equals(node))
                        .findFirst()
                        .orElse(null);
                if (n == null) {
                    System.err.println("no node " + node + " in this testbed");
                    return 2;
                }
                long t0 = System.nanoTime();
                if (kill) bed.kill(n.number());
                else bed.stop(n.number());
                long ended = System.nanoTime();
                bed.restart(n.number());
                long ready = System.nanoTime();
                NodeStats c = bed.nodeStats(n.number());
                System.out.printf(
                        "%s: %s after %d ms, ready %d ms later; took over %d connections, reset %d"
                                + " handoffs in flight%n",
                        n.name(),
                        kill ? "killed" : "stopped",
                        (ended - t0) / 1_000_000,
                        (ready - ended) / 1_000_000,
                        c.counter(Counter.TAKEN_OVER),
                        c.counter(Counter.TAKEOVER_RESETS));
                return 0;
            } catch (RuntimeException e) {
                System.err.println("baton testbed restart failed: " + e.getMessage());
                return 1;
            }
        }
    }

    /** {@code --state-dir} of the commands that work on a testbed that is up. */
    static final class StateDir {
        @Option(
                names = "--state-dir",
                defaultValue = "/run/baton-testbed",
                paramLabel = "DIR",
                description = "The testbed's state directory (default ${DEFAULT-VALUE}).")
        Path dir;
    }

    /** {@code builtin} or {@code nginx} (any case), else null. */
    static Spec.Server parseServer(String name) {
        return switch (name.toLowerCase(Locale.ROOT)) {
            case "builtin" -> Spec.Server.BUILTIN;
            case "nginx" -> Spec.Server.NGINX;
            default -> null;
        };
    }

    /** A readable table of {@link Testbed#stats()}: one row per node. */
    public static String statsTable(TestbedStats stats) {
        StringBuilder s = new StringBuilder(String.format(
                "%-6s %-10s %8s %8s %8s %8s %9s %10s %12s %6s%n",
                "node",
                "peers up",
                "conns",
                "local",
                "h/o sent",
                "h/o acc",
                "fallbacks",
                "pkts fwd",
                "bytes others",
                "drops"));
        for (NodeStats n : stats.nodes()) {
            long drops = 0;
            for (long d : n.drops().byName().values()) drops += d;
            s.append(String.format(
                    "%-6s %-10s %8d %8d %8d %8d %9d %10d %12d %6d%n",
                    n.node(),
                    n.peersUp().isEmpty() ? "-" : String.join(",", n.peersUp()),
                    n.counter(Counter.CONNECTIONS_SEEN),
                    n.counter(Counter.SERVED_LOCALLY),
                    n.counter(Counter.HANDOFFS_SENT),
                    n.counter(Counter.HANDOFFS_ACCEPTED),
                    n.counter(Counter.FALLBACKS),
                    n.counter(Counter.PACKETS_FORWARDED),
                    n.counter(Counter.BYTES_SENT_FOR_OTHERS),
                    drops));
        }
        stats.unanswered().forEach((node, error) -> s.append(String.format("%-6s error: %s%n", node, error)));
        return s.toString();
    }

    /** True when running as root; otherwise prints why root is needed. */
    static boolean requireRoot(String what) {
        if (isRoot()) {
            return true;
        }
        System.err.println(
                what + " builds network namespaces and needs root: sudo ./baton " + what.substring("baton ".length()));
        return false;
    }

    /** The effective uid from /proc/self/status is 0. */
    public static boolean isRoot() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("Uid:")) {
                    return line.split("\\s+")[2].equals("0");
                }
            }
        } catch (IOException e) {
            return false;
        }
        return false;
    }
}
