package dev.baton.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The small pure pieces: /proc stat parsing, curl's line, the URLs of each path, the options. */
class BenchPiecesTest {
    @Test
    void cpuTicksAreUtimePlusStimeCountedFromTheLastParenthesis() {
        // A real nginx worker line, and one whose command name holds ") (" and spaces.
        String nginx = "4242 (nginx) S 4241 4241 4241 0 -1 4194624 123 0 0 0 1500 250 0 0 20 0 1 0 9999 "
                + "123456 789 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0";
        assertThat(Sampler.cpuTicksOfStat(nginx)).isEqualTo(1750);
        String odd = "77 (we ird) (x) R 1 77 77 0 -1 0 0 0 0 0 7 8 0 0 20 0 1 0 5 0 0";
        assertThat(Sampler.cpuTicksOfStat(odd)).isEqualTo(15);
        assertThatThrownBy(() -> Sampler.cpuTicksOfStat("garbage")).isInstanceOf(IllegalArgumentException.class);
        // cpu user nice system idle iowait irq softirq steal guest guest_nice: idle and iowait are not busy
        assertThat(Sampler.busyTicksOfProcStat("cpu  100 2 30 9000 50 4 60 7 0 0"))
                .isEqualTo(100 + 2 + 30 + 4 + 60 + 7);
        assertThatThrownBy(() -> Sampler.busyTicksOfProcStat("cpu0 1 2 3 4 5 6 7 8"))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> Sampler.cpuTicksOfStat("1 (x) S 1 2")).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void curlsLineIsReadAndAFailureKeepsItsError() {
        LoadGenerator.Transfer t = LoadGenerator.parseCurl("200 67108864 0.412345 162750000.000\n", "");
        assertThat(t.status()).isEqualTo(200);
        assertThat(t.bytes()).isEqualTo(67_108_864);
        assertThat(t.seconds()).isEqualTo(0.412345);
        assertThat(t.bytesPerSecond()).isEqualTo(162_750_000);
        assertThat(t.error()).isEmpty();
        LoadGenerator.Transfer failed = LoadGenerator.parseCurl("000 0 5.001 0", "curl exited with 28: timed out");
        assertThat(failed.status()).isZero();
        assertThat(failed.error()).contains("28");
        assertThat(LoadGenerator.parseCurl("", "").error()).contains("unexpected curl output");
    }

    @Test
    void eachPathHasItsEntries() {
        assertThat(Bench.urls(BenchPath.DIRECT, Workload.SMALL_CLOSE))
                .containsOnly("http://10.200.2.2/bench/n2/1k-00.bin")
                .hasSize(Bench.CLIENTS);
        assertThat(Bench.urls(BenchPath.LOCAL, Workload.LARGE_KEEP_ALIVE))
                .containsOnly("http://10.200.1.2/bench/n2/1m-0.bin");
        assertThat(Bench.urls(BenchPath.HANDOFF, Workload.SMALL_KEEP_ALIVE))
                .containsExactly(
                        "http://10.200.1.1/bench/n2/1k-00.bin", "http://10.200.1.2/bench/n2/1k-00.bin",
                        "http://10.200.1.3/bench/n2/1k-00.bin", "http://10.200.1.4/bench/n2/1k-00.bin");
        // The single transfer enters at n1, which lacks the file: it must be handed off.
        assertThat(Bench.urls(BenchPath.HANDOFF, Workload.HUGE_SINGLE).getFirst())
                .isEqualTo("http://10.200.1.1/bench/n2/64m.bin");
        assertThat(Bench.urls(BenchPath.HAPROXY, Workload.SMALL_CLOSE).getFirst())
                .isEqualTo("http://10.200.2.1:8001/bench/n2/1k-00.bin");
        assertThat(Bench.urls(BenchPath.NGINX, Workload.SMALL_CLOSE).getFirst())
                .isEqualTo("http://10.200.2.1:8002/bench/n2/1k-00.bin");
    }

    @Test
    void onTwoNodesTheHandoffProcessesTakeTurnsAtBothEntries() {
        assertThat(Bench.urls(BenchPath.HANDOFF, Workload.SMALL_KEEP_ALIVE, 2))
                .containsExactly(
                        "http://10.200.1.1/bench/n2/1k-00.bin", "http://10.200.1.2/bench/n2/1k-00.bin",
                        "http://10.200.1.1/bench/n2/1k-00.bin", "http://10.200.1.2/bench/n2/1k-00.bin");
        assertThat(Bench.cyclePaths(BenchPath.HANDOFF, Workload.SMALL_CLOSE, 8))
                .hasSize(8)
                .endsWith("/bench/n8/1k-00.bin");
        Path out = Path.of("/tmp/x");
        assertThatThrownBy(() -> new Bench.Options(Duration.ofSeconds(8), 32, out, out, 1))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new Bench.Options(Duration.ofSeconds(8), 32, out, out, 9))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void handoffOnNewConnectionsCyclesThroughEveryNodesFile() {
        // One file of each of the four nodes in turn: whatever the entry, three requests in four
        // are handed off, request by request.
        assertThat(Bench.cyclePaths(BenchPath.HANDOFF, Workload.SMALL_CLOSE))
                .containsExactly(
                        "/bench/n1/1k-00.bin", "/bench/n2/1k-00.bin", "/bench/n3/1k-00.bin", "/bench/n4/1k-00.bin");
        // Keep-alive (the first request decides) and every other path ask for the URL's own file.
        assertThat(Bench.cyclePaths(BenchPath.HANDOFF, Workload.SMALL_KEEP_ALIVE))
                .isEmpty();
        assertThat(Bench.cyclePaths(BenchPath.LOCAL, Workload.SMALL_CLOSE)).isEmpty();
        assertThat(Bench.cyclePaths(BenchPath.HAPROXY, Workload.SMALL_CLOSE)).isEmpty();
    }

    @Test
    void theCycleScriptTakesItsPathsFromTheCommandLine() {
        assertThat(WrkOutput.CYCLE_SCRIPT)
                .startsWith(WrkOutput.DONE_SCRIPT)
                .contains("init = function(args)")
                .contains("request = function()")
                .contains("wrk.format(nil, paths[next])");
    }

    @Test
    void optionsRefuseConnectionsThatDoNotSplitEvenly() {
        Path out = Path.of("/tmp/x");
        assertThatThrownBy(() -> new Bench.Options(Duration.ofSeconds(8), 30, out, out))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new Bench.Options(Duration.ofMillis(500), 32, out, out))
                .isInstanceOf(IllegalArgumentException.class);
        assertThat(new Bench.Options(Duration.ofSeconds(2), 8, out, out).connections())
                .isEqualTo(8);
    }

    @Test
    void theProgressLineShowsErrors() {
        Measurement ok = Cells.cell(BenchPath.HANDOFF, Workload.SMALL_CLOSE, 6000, 1650, 4600, 0.2);
        assertThat(Bench.line(3, 20, ok))
                .contains("[ 3/20]")
                .contains("(c) baton, handoff")
                .contains("6,000 req/s")
                .contains("p50   1.65 ms")
                .contains("entry  20.0%")
                .endsWith("errors 0");
        Measurement bad = new Measurement(
                BenchPath.NGINX,
                Workload.HUGE_SINGLE,
                0,
                0,
                0,
                0,
                0,
                Map.of(),
                0,
                "n1",
                0,
                0,
                0,
                0,
                List.of("status 502"));
        assertThat(Bench.line(20, 20, bad)).endsWith("ERRORS: status 502");
    }
}
