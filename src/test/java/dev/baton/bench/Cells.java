package dev.baton.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** Made-up measurements for the tests of the pure pieces. */
final class Cells {
    private Cells() {}

    /** A cell with the given rate, latency and entry share, no errors, CPU 10 us per request on n1..n4. */
    static Measurement cell(BenchPath p, Workload w, double requestsPerSecond, double p50, double p99, double share) {
        return cell(p, w, requestsPerSecond, p50, p99, share, Map.of("n1", 10.0, "n2", 20.0, "n3", 30.0, "n4", 40.0));
    }

    /** As above, with the CPU per request of each node. */
    static Measurement cell(
            BenchPath p,
            Workload w,
            double requestsPerSecond,
            double p50,
            double p99,
            double share,
            Map<String, Double> cpu) {
        long requests = Math.round(requestsPerSecond * 8);
        long bytes = requests * (w == Workload.LARGE_KEEP_ALIVE ? 1 << 20 : 1300);
        double machine =
                cpu.values().stream().mapToDouble(Double::doubleValue).sum() + (p == BenchPath.HANDOFF ? 8 : 0);
        return new Measurement(
                p,
                w,
                requests,
                bytes,
                8.0,
                p50,
                p99,
                cpu,
                machine,
                "n1",
                Math.round(bytes * share),
                bytes,
                p == BenchPath.HANDOFF ? requests * 3 / 4 : 0,
                p == BenchPath.HANDOFF ? requests : 0,
                List.of());
    }

    /** Every path and workload: baton local 10k req/s, handoff 6k, proxies 8k; handoff shares 20%. */
    static List<Measurement> all() {
        List<Measurement> cells = new ArrayList<>();
        for (Workload w : Workload.values()) {
            cells.add(cell(BenchPath.DIRECT, w, 15_000, 1000, 3000, 1.0));
            cells.add(cell(BenchPath.LOCAL, w, 10_000, 1500, 4000, 1.0));
            cells.add(cell(BenchPath.HANDOFF, w, 6_000, 1650, 4600, 0.2));
            cells.add(cell(BenchPath.HAPROXY, w, 8_000, 2000, 5000, 1.01));
            cells.add(cell(BenchPath.NGINX, w, 5_000, 2000, 5000, 1.02));
        }
        return cells;
    }
}
