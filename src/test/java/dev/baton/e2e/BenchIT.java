package dev.baton.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.baton.bench.Bench;
import dev.baton.bench.BenchPath;
import dev.baton.bench.BenchResult;
import dev.baton.bench.Measurement;
import dev.baton.bench.Workload;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code baton bench --quick} end to end: a four-node nginx testbed with direct paths, HAProxy and
 * the nginx proxy on n1, every path through every workload (2-second wrk runs). The numbers of a
 * quick run on a shared machine are rough, so this checks what must hold whatever the speed: every
 * cell served without a single error, the single transfer byte-exact and handed off in (c), the
 * proxies carrying all the bytes through n1 while baton's entry does not, and the reports written.
 */
class BenchIT {
    static final Path STATE = Path.of("/run/baton-bench-it");
    static final long HUGE = 64L << 20;

    @Test
    void quickBenchServesEveryPathAndWorkloadWithoutErrorsAndWritesItsReports(@TempDir Path out) throws Exception {
        EndToEnd.requireRoot();
        List<String> progress = new ArrayList<>();
        long start = System.nanoTime();
        BenchResult r = Bench.run(
                new Bench.Options(Duration.ofSeconds(2), 32, out, STATE, 4, Bench.QUICK_WARM_UP_LIMIT), line -> {
                    progress.add(line);
                    System.out.println("BenchIT: " + line);
                });
        System.out.printf("BenchIT: %.0f s%n", (System.nanoTime() - start) / 1e9);
        assertThat(Files.exists(STATE.resolve("testbed.json")))
                .as("the testbed is down again")
                .isFalse();

        assertThat(r.errors()).as("errors of any cell").isEmpty();
        assertThat(r.measurements()).hasSize(BenchPath.values().length * Workload.values().length);
        assertThat(progress)
                .filteredOn(l -> l.startsWith("warm-up ("))
                .hasSize(5)
                .allMatch(l -> l.endsWith(": ok"));
        // The JIT warm-up: rounds of (c) until the quick run's limit, each reported.
        assertThat(progress)
                .filteredOn(l -> l.startsWith("warm-up round"))
                .hasSizeBetween(1, 3)
                .allMatch(l -> l.contains("req/s") && l.contains("JIT compiled"));
        assertThat(progress).filteredOn(l -> l.startsWith("[")).hasSize(25);
        // (c)'s rate in the first 5 s of the cluster's life, measured and said (issue 12)
        assertThat(r.setup().get("first 5 s"))
                .matches("\\(c\\) on new connections: [1-9][0-9,]* req/s over the first"
                        + " 5 s of load, begun [0-9.]+ s after the nodes were up.*");
        for (Measurement m : r.measurements()) {
            String cell = m.path().label() + ", " + m.workload().label();
            assertThat(m.requests()).as("requests of " + cell).isPositive();
            assertThat(m.requestsPerSecond()).as("req/s of " + cell).isPositive();
            assertThat(m.bytes()).as("bytes of " + cell).isGreaterThanOrEqualTo(m.requests() * sizeOf(m.workload()));
            assertThat(m.p50Micros()).as("p50 of " + cell).isPositive().isLessThanOrEqualTo(m.p99Micros());
            assertThat(m.cpuMicrosPerRequest()).as("CPU of " + cell).containsOnlyKeys("n1", "n2", "n3", "n4");
            // n2 serves every request on every path: its processes used CPU (visible over a wrk run; one
            // transfer of a fraction of a second may stay below the 10 ms tick of /proc/PID/stat).
            if (m.workload().usesWrk()) {
                assertThat(m.cpuMicrosPerRequest().get("n2"))
                        .as("n2's CPU in " + cell)
                        .isPositive();
            }
        }
        for (BenchPath p : BenchPath.values()) {
            Measurement t = r.cell(p, Workload.HUGE_SINGLE);
            assertThat(t.requests()).isEqualTo(Bench.HUGE_TRANSFERS);
            assertThat(t.bytes()).as("64 MiB transfers through " + p.label()).isEqualTo(Bench.HUGE_TRANSFERS * HUGE);
            assertThat(t.p50Micros())
                    .as("the median transfer's time")
                    .isPositive()
                    .isLessThanOrEqualTo(t.p99Micros());
        }
        // The single transfers of (c) entered at n1, which lacks the file: they were handed off.
        assertThat(r.cell(BenchPath.HANDOFF, Workload.HUGE_SINGLE).handedOff()).isEqualTo(Bench.HUGE_TRANSFERS);
        // The direct path is steered as baton's uplink is (a NIC's receive-side scaling), on every CPU.
        Matcher steering = Pattern.compile(".*n2's uplink (\\p{XDigit}+)/(\\p{XDigit}+), n2's direct path"
                        + " (\\p{XDigit}+)/(\\p{XDigit}+)")
                .matcher(r.setup().get("steering"));
        assertThat(steering.matches()).as(r.setup().get("steering")).isTrue();
        assertThat(steering.group(1))
                .isNotEqualTo("0")
                .isEqualTo(steering.group(2))
                .isEqualTo(steering.group(3))
                .isEqualTo(steering.group(4));
        assertThat(r.cell(BenchPath.LOCAL, Workload.SMALL_CLOSE).handedOff()).isZero();
        Measurement close = r.cell(BenchPath.HANDOFF, Workload.SMALL_CLOSE);
        // Each wrk asks for n1's, n2's, n3's and n4's file in turn: three requests in four go elsewhere.
        assertThat((double) close.handedOff() / close.connectionsSeen())
                .as("(c)'s handed-off share on new connections")
                .isBetween(0.65, 0.85);
        assertThat(close.entryShare())
                .as("what the entries carried of handed-off connections")
                .isBetween(0.0, 0.3);
        for (Workload w : List.of(Workload.LARGE_KEEP_ALIVE, Workload.HUGE_SINGLE)) {
            // Every response byte passes n1 with a proxy; with baton, n1 only forwards the client's packets.
            for (BenchPath proxy : List.of(BenchPath.HAPROXY, BenchPath.NGINX)) {
                assertThat(r.cell(proxy, w).entryShare())
                        .as(proxy.label() + ", " + w.label())
                        .isBetween(0.9, 1.15);
            }
            assertThat(r.cell(BenchPath.HANDOFF, w).entryShare())
                    .as("(c), " + w.label())
                    .isBetween(0.0, 0.2);
        }
        assertThat(r.targets())
                .hasSize(31)
                .allSatisfy(t -> assertThat(t.measured()).as(t.name()).isTrue());

        for (String f : List.of("bench.md", "bench.json", "requests.png", "throughput.png", "latency.png")) {
            assertThat(out.resolve(f)).as(f).isNotEmptyFile();
        }
        String md = Files.readString(out.resolve("bench.md"));
        assertThat(md).contains("| (c) baton, handoff |").contains("## Targets").contains("No errors.");
        JsonNode json = new ObjectMapper().readTree(out.resolve("bench.json").toFile());
        assertThat(json.path("measurements").size()).isEqualTo(25);
        for (String png : List.of("requests.png", "throughput.png", "latency.png")) {
            BufferedImage image = ImageIO.read(out.resolve(png).toFile());
            assertThat(image).as(png + " decodes").isNotNull();
            assertThat(image.getWidth()).isPositive();
        }
    }

    static long sizeOf(Workload w) {
        return switch (w) {
            case SMALL_CLOSE, SMALL_KEEP_ALIVE -> 1024;
            case LARGE_KEEP_ALIVE, LARGE_CONCURRENT -> 1 << 20;
            case HUGE_SINGLE -> HUGE;
        };
    }
}
