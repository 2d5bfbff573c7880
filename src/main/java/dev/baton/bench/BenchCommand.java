package dev.baton.bench;

import dev.baton.testbed.TestbedCommand;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code baton bench}: the comparison of issue 4 in one command (needs root). */
@Command(
        name = "bench",
        mixinStandardHelpOptions = true,
        description = {
            "Builds a 4-node testbed (nginx origins, plus a direct path to each node that bypasses "
                    + "baton), starts HAProxy and an nginx proxy on n1, and measures the same workloads through "
                    + "(a) the direct path, (b) baton entering at the holder, (c) baton entering at each of the 4 nodes "
                    + "(3 in 4 handed off), (d) HAProxy and (e) nginx on n1: 1 KiB files on new and on kept-alive "
                    + "connections, 1 MiB files on kept-alive connections and 128 at once on new ones (wrk), and one 64 MiB"
                    + " transfer (curl); on the data path of $BATON_DATAPATH (tun or kernel, the default).",
            "Prints one line per measurement, then the issue's targets with pass/MISS and the gap; writes "
                    + "bench.md, bench.json and PNG bar charts into --out. Exits 1 if any request failed.",
            "Runs about 5 minutes with the defaults; tears the testbed down at the end."
        })
public final class BenchCommand implements Callable<Integer> {
    @Option(
            names = "--out",
            defaultValue = "bench-out",
            paramLabel = "DIR",
            description = "Where bench.md, bench.json and the PNGs go (default ${DEFAULT-VALUE}).")
    Path out;

    @Option(
            names = "--duration",
            defaultValue = "8",
            paramLabel = "SECONDS",
            description = "Length of each wrk measurement (default ${DEFAULT-VALUE}).")
    long seconds;

    @Option(
            names = "--connections",
            defaultValue = "32",
            paramLabel = "N",
            description = "wrk connections in all, split over 4 wrk processes (default ${DEFAULT-VALUE}).")
    int connections;

    @Option(
            names = "--nodes",
            defaultValue = "4",
            paramLabel = "N",
            description = "Nodes in the testbed, 2 to 8 (default ${DEFAULT-VALUE}); the wrk processes of (c) enter at"
                    + " n1..n4 in turn.")
    int nodes;

    @Option(
            names = "--quick",
            description = "2-second measurements and a 6-second warm-up (for tests; the numbers are rough).")
    boolean quick;

    @Option(
            names = "--state-dir",
            defaultValue = "/run/baton-bench",
            paramLabel = "DIR",
            description = "The bench testbed's state directory (default ${DEFAULT-VALUE}).")
    Path stateDir;

    @Override
    public Integer call() {
        if (!TestbedCommand.isRoot()) {
            System.err.println("baton bench builds network namespaces and needs root: sudo ./baton bench");
            return 2;
        }
        Bench.Options options;
        try {
            options = new Bench.Options(
                    Duration.ofSeconds(quick ? 2 : seconds),
                    connections,
                    out.toAbsolutePath(),
                    stateDir,
                    nodes,
                    quick ? Bench.QUICK_WARM_UP_LIMIT : Bench.WARM_UP_LIMIT);
        } catch (IllegalArgumentException e) {
            System.err.println("baton bench: " + e.getMessage());
            return 2;
        }
        try {
            BenchResult r = Bench.run(options, System.out::println);
            System.out.println();
            System.out.println("targets (issues 4 and 12):");
            for (Targets.Target t : r.targets()) {
                System.out.printf(
                        "  %-4s %-70s %14s  goal %-9s %s%n",
                        t.verdict(), t.name(), t.valueText(), t.goal(), t.gapText());
            }
            System.out.println();
            System.out.println("wrote " + options.out().resolve("bench.md") + ", bench.json, requests.png, "
                    + "throughput.png, latency.png");
            if (!r.errors().isEmpty()) {
                System.out.println(r.errors().size() + " measurement(s) had ERRORS:");
                r.errors().forEach(e -> System.out.println("  " + e));
                return 1;
            }
            return 0;
        } catch (RuntimeException e) {
            System.err.println("baton bench failed: " + e.getMessage());
            return 1;
        }
    }
}
