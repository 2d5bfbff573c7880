package dev.baton.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class TargetsTest {
    static Targets.Target find(List<Targets.Target> targets, String start) {
        return targets.stream()
                .filter(t -> t.name().startsWith(start))
                .findFirst()
                .orElseThrow(() -> new AssertionError("no target " + start + " in " + targets));
    }

    @Test
    void computesEveryTargetFromTheCells() {
        List<Targets.Target> t = Targets.compute(BenchResult.cells(Cells.all()));
        // issue 4: 2 latency + 4 wrk workloads x 3 req/s + 5 shares;
        // issue 12: 5 local vs direct + 2 bulk handoffs vs direct + the transfer vs 2 proxies + 128 x 1 MiB
        // and the entries' CPU per handed-off request against the server's, by process and by the machine
        assertThat(t).hasSize(2 + 12 + 5 + 5 + 2 + 2 + 1 + 1 + 1);
        Targets.Target machine = find(t, "machine CPU the handoff adds");
        // (c) 100 + 8 us of machine CPU per request against (a)'s 100: 8 / (3 in 4 handed off) / n2's 20
        assertThat(machine.value()).isCloseTo(8 / 0.75 / 20, within(1e-9));
        assertThat(machine.goal()).isEqualTo("<= 5.0%");
        Targets.Target cpu = find(t, "entry nodes' CPU per handed-off request");
        // (n1 10 + n3 30 + n4 40 us per request of the run) / 3 in 4 handed off / n2's 20 us
        assertThat(cpu.value()).isCloseTo(80 / 0.75 / 20, within(1e-9));
        assertThat(cpu.goal()).isEqualTo("<= 5.0%");
        Targets.Target local = find(t, "req/s (b) / (a), 1 KiB, new connection");
        assertThat(local.value()).isCloseTo(10_000.0 / 15_000, within(1e-9));
        assertThat(local.goal()).isEqualTo(">= 0.950x");
        assertThat(find(t, "MB/s (b) / (a), one 64 MiB").value()).isCloseTo(10_000.0 / 15_000, within(1e-9));
        Targets.Target many = find(t, "req/s (c) / (a), 128 concurrent 1 MiB");
        assertThat(many.value()).isCloseTo(0.4, within(1e-9));
        assertThat(many.goal()).isEqualTo(">= 0.800x");
        assertThat(find(t, "req/s (c) / (a), 1 MiB, keep-alive").goal()).isEqualTo(">= 0.900x");
        assertThat(find(t, "MB/s (c) / (d), one 64 MiB").value()).isCloseTo(0.75, within(1e-9));
        Targets.Target p50 = find(t, "handoff overhead, p50");
        assertThat(p50.value()).isCloseTo(150, within(1e-9));
        assertThat(p50.pass()).isFalse();
        assertThat(p50.gapText()).isEqualTo("50 us over");
        Targets.Target p99 = find(t, "handoff overhead, p99");
        assertThat(p99.value()).isCloseTo(600, within(1e-9));
        assertThat(p99.verdict()).isEqualTo("MISS");
        Targets.Target vsLocal = find(t, "req/s (c) / (b), 1 KiB, new connection");
        assertThat(vsLocal.value()).isCloseTo(0.6, within(1e-9));
        assertThat(vsLocal.goal()).isEqualTo(">= 0.800x");
        assertThat(vsLocal.gapText()).isEqualTo("0.200x short");
        Targets.Target vsHaproxy = find(t, "req/s (c) / (d), 1 MiB");
        assertThat(vsHaproxy.value()).isCloseTo(0.75, within(1e-9));
        assertThat(vsHaproxy.pass()).isFalse();
        Targets.Target vsNginx = find(t, "req/s (c) / (e), 1 KiB, keep-alive");
        assertThat(vsNginx.value()).isCloseTo(1.2, within(1e-9));
        assertThat(vsNginx.pass()).isTrue();
        assertThat(vsNginx.goal()).isEqualTo("> 1.000x");
        assertThat(vsNginx.gapText()).isEqualTo("0.200x to spare");
        Targets.Target bulk = find(t, "MB/s (c) / (a), one 64 MiB");
        assertThat(bulk.value()).isCloseTo(0.4, within(1e-9));
        assertThat(bulk.goal()).isEqualTo(">= 0.900x");
        Targets.Target share = find(t, "entry node's share of response bytes, (c), 1 MiB");
        assertThat(share.value()).isCloseTo(0.2, within(1e-6));
        assertThat(share.valueText()).isEqualTo("20.0%");
        assertThat(share.goal()).isEqualTo("<= 3.0%");
        assertThat(share.note()).isEqualTo("(d): 101.0%");
        assertThat(share.pass()).isFalse();
    }

    @Test
    void passesWhenTheNumbersAreGood() {
        List<Measurement> cells = new ArrayList<>();
        for (Workload w : Workload.values()) {
            cells.add(Cells.cell(
                    BenchPath.DIRECT,
                    w,
                    10_000,
                    1000,
                    3000,
                    1.0,
                    Map.of("n1", 10.0, "n2", 1_000.0, "n3", 10.0, "n4", 10.0)));
            cells.add(Cells.cell(BenchPath.LOCAL, w, 10_000, 1000, 3000, 1.0));
            cells.add(Cells.cell(
                    BenchPath.HANDOFF,
                    w,
                    9_500,
                    1080,
                    3400,
                    0.02,
                    Map.of("n1", 10.0, "n2", 1_000.0, "n3", 10.0, "n4", 10.0)));
            cells.add(Cells.cell(BenchPath.HAPROXY, w, 8_000, 2000, 5000, 1.0));
            cells.add(Cells.cell(BenchPath.NGINX, w, 8_500, 2000, 5000, 1.0));
        }
        List<Targets.Target> t = Targets.compute(BenchResult.cells(cells));
        assertThat(t).allSatisfy(x -> assertThat(x.pass()).as(x.name()).isTrue());
        assertThat(find(t, "handoff overhead, p50").gapText()).isEqualTo("20 us to spare");
    }

    @Test
    void aCellWithErrorsOrMissingIsNotMeasuredAndNeverPasses() {
        List<Measurement> cells = new ArrayList<>(Cells.all());
        cells.removeIf(m -> m.path() == BenchPath.LOCAL && m.workload() == Workload.SMALL_CLOSE);
        Measurement h = cells.stream()
                .filter(m -> m.path() == BenchPath.HANDOFF && m.workload() == Workload.HUGE_SINGLE)
                .findFirst()
                .orElseThrow();
        cells.remove(h);
        cells.add(new Measurement(
                h.path(),
                h.workload(),
                h.requests(),
                h.bytes(),
                h.seconds(),
                h.p50Micros(),
                h.p99Micros(),
                Map.of(),
                0,
                "n1",
                0,
                0,
                0,
                0,
                List.of("received 5 bytes, expected 67108864")));
        List<Targets.Target> t = Targets.compute(BenchResult.cells(cells));
        Targets.Target p50 = find(t, "handoff overhead, p50");
        assertThat(p50.measured()).isFalse();
        assertThat(p50.pass()).isFalse();
        assertThat(p50.verdict()).isEqualTo("n/a");
        assertThat(p50.valueText()).isEqualTo("not measured");
        assertThat(find(t, "MB/s (c) / (a)").measured()).isFalse();
        assertThat(find(t, "entry node's share of response bytes, (c), one 64 MiB")
                        .measured())
                .isFalse();
    }
}
