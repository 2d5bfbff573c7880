package dev.baton.testbed;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.baton.btcp.Counter;
import dev.baton.node.NodeStats;
import dev.baton.testbed.LoadResult.Failure;
import dev.baton.testbed.LoadResult.Kind;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/** The accounting of a load run: counts, bytes, percentiles, the failure list, node counter deltas. */
class LoadResultTest {
    @Test
    void countsOkAndFailedAndAddsUpBytes() {
        LoadResult.Recorder rec = new LoadResult.Recorder(5);
        rec.ok(100, 1_000_000, false);
        rec.ok(0, 2_000_000, true);
        rec.ok(50, 3_000_000, true);
        rec.failed(new Failure(3, "/x", "n2", Kind.HASH, "wrong"));
        rec.failed(new Failure(4, "/y", "n1", Kind.TIMEOUT, "slow"));
        rec.connected();
        rec.connected();
        LoadResult r = rec.result(Duration.ofSeconds(2));
        assertThat(r.requests()).isEqualTo(5);
        assertThat(r.ok()).isEqualTo(3);
        assertThat(r.failed()).isEqualTo(2);
        assertThat(r.allOk()).isFalse();
        assertThat(r.bytes()).isEqualTo(150);
        assertThat(r.servedElsewhere()).isEqualTo(2);
        assertThat(r.connections()).isEqualTo(2);
        assertThat(r.failuresByKind()).containsOnly(Map.entry(Kind.HASH, 1), Map.entry(Kind.TIMEOUT, 1));
        assertThat(r.requestsPerSecond()).isEqualTo(1.5);
        assertThat(r.bytesPerSecond()).isEqualTo(75.0);
    }

    @Test
    void aRunWithNothingMissingIsAllOkAndOneNotRunIsNot() {
        LoadResult.Recorder rec = new LoadResult.Recorder(2);
        rec.ok(1, 1, false);
        rec.ok(1, 1, false);
        assertThat(rec.result(Duration.ofMillis(1)).allOk()).isTrue();
        LoadResult.Recorder short1 = new LoadResult.Recorder(2);
        short1.ok(1, 1, false);
        short1.failed(new Failure(1, "/a", "n1", Kind.NOT_RUN, ""));
        assertThat(short1.result(Duration.ofMillis(1)).allOk()).isFalse();
    }

    @Test
    void percentilesAreNearestRankOfTheGoodResponses() {
        LoadResult.Recorder rec = new LoadResult.Recorder(200);
        List<Integer> ms = new ArrayList<>(IntStream.rangeClosed(1, 200).boxed().toList());
        Collections.shuffle(ms, new Random(1));
        ms.forEach(m -> rec.ok(1, m * 1_000_000L, false));
        LoadResult r = rec.result(Duration.ofSeconds(1));
        assertThat(r.p50()).isEqualTo(Duration.ofMillis(100));
        assertThat(r.p99()).isEqualTo(Duration.ofMillis(198));
        assertThat(r.max()).isEqualTo(Duration.ofMillis(200));
        assertThat(new LoadResult.Recorder(3).result(Duration.ZERO).p99()).isEqualTo(Duration.ZERO);
        assertThat(LoadResult.percentile(new long[] {7}, 0.99)).isEqualTo(Duration.ofNanos(7));
    }

    @Test
    void listsTheFirstTwentyFailuresByPlanIndexAndCountsAll() {
        LoadResult.Recorder rec = new LoadResult.Recorder(100);
        // Threads finish out of order: the list must still be the lowest indexes.
        for (int i = 99; i >= 0; i--) rec.failed(new Failure(i, "/p" + i, "n1", i % 2 == 0 ? Kind.SHORT : Kind.IO, ""));
        LoadResult r = rec.result(Duration.ofSeconds(1));
        assertThat(r.firstFailures())
                .extracting(Failure::index)
                .containsExactlyElementsOf(
                        IntStream.range(0, LoadResult.MAX_LISTED).boxed().toList());
        assertThat(r.failuresByKind()).containsOnly(Map.entry(Kind.SHORT, 50), Map.entry(Kind.IO, 50));
        assertThat(r.failed()).isEqualTo(100);
    }

    @Test
    void survivesTheTripThroughJson() {
        LoadResult.Recorder rec = new LoadResult.Recorder(3);
        rec.ok(10, 1_500_000, true);
        rec.ok(20, 2_500_000, false);
        rec.failed(new Failure(2, "/a b%.txt", "n3", Kind.HASH, "sha256 aa, expected bb"));
        rec.connected();
        LoadResult r = rec.result(Duration.ofMillis(1234));
        assertThat(LoadResult.fromJson(r.toJson())).isEqualTo(r);
    }

    @Test
    void reportSumsNodeCounterChangesAndComputesTheHandedOffShare() throws Exception {
        TestbedStats before = NodeStats.JSON.readValue("""
                {"nodes":[{"node":"n1","counters":{"connectionsSeen":10,"handoffsCompleted":5},"drops":{"internalError":0,"badChecksum":1}},
                          {"node":"n2","counters":{"connectionsSeen":0,"handoffsCompleted":0},"drops":{"internalError":0,"badChecksum":0}}],
                 "unanswered":{"n3":"timed out"}}""", TestbedStats.class);
        TestbedStats after = NodeStats.JSON.readValue("""
                {"nodes":[{"node":"n1","counters":{"connectionsSeen":110,"handoffsCompleted":80},"drops":{"internalError":0,"badChecksum":1}},
                          {"node":"n2","counters":{"connectionsSeen":100,"handoffsCompleted":70},"drops":{"internalError":2,"badChecksum":0}},
                          {"node":"n3","counters":{"connectionsSeen":9}}]}""", TestbedStats.class);
        List<String> unanswered = new ArrayList<>();
        Map<Counter, Long> counters = LoadRun.counterDeltas(before, after, unanswered);
        assertThat(counters)
                .containsEntry(Counter.CONNECTIONS_SEEN, 200L)
                .containsEntry(Counter.HANDOFFS_COMPLETED, 145L);
        assertThat(counters.values().stream().mapToLong(Long::longValue).sum()).isEqualTo(345L);
        assertThat(unanswered).containsExactly("n3");
        Map<String, Long> drops = LoadRun.dropDeltas(before, after);
        assertThat(drops).containsOnly(Map.entry("internalError", 2L));
        LoadRun.Report report = new LoadRun.Report(
                LoadRun.Options.defaults().withRequests(200),
                1,
                150,
                new LoadResult.Recorder(200).result(Duration.ofSeconds(1)),
                counters,
                Map.of("internalError", 2L),
                unanswered,
                Map.of(
                        "baton-client",
                        LoadRun.moved(
                                NetCounters.parse("Tcp: RetransSegs InSegs\nTcp: 5 9\n"),
                                NetCounters.parse("Tcp: RetransSegs InSegs\nTcp: 8 20\n"))),
                Duration.ofSeconds(2));
        assertThat(report.tcp().get("baton-client")).containsExactly(Map.entry("Tcp.RetransSegs", 3L));
        assertThat(report.handedOffShare()).isEqualTo(0.725);
        assertThat(report.plannedRemoteShare()).isEqualTo(0.75);
        assertThat(report.summary())
                .contains("handed off 72.5%")
                .contains("internalError=2")
                .contains("no stats from: n3")
                .contains("failed 200")
                .contains("kernel TCP in baton-client: {Tcp.RetransSegs=3}");
        assertThat(report.toJson().path("result").path("failed").asInt()).isEqualTo(200);
    }

    @Test
    void theWorkerIsAskedForTheSameRunAndItsAnswerIsRead() {
        LoadRun.Options o = LoadRun.Options.defaults()
                .withRequests(7)
                .withSeed(9)
                .withClient(new LoadClient.Options(3, Duration.ofMillis(1500), true, Duration.ofSeconds(60)));
        List<String> args = LoadRun.workerArguments(Path.of("/run/x"), o);
        assertThat(String.join(" ", args))
                .isEqualTo("testbed load --worker --state-dir /run/x --requests 7 --seed 9"
                        + " --mix 0=30,100=150,1k=220,10k=260,100k=280,1m=52,8m=8 --concurrency 3 --timeout 2 --max-time 60"
                        + " --keep-alive");
        LoadResult.Recorder rec = new LoadResult.Recorder(1);
        rec.ok(3, 5_000, false); // the JSON keeps microseconds
        LoadResult r = rec.result(Duration.ofMillis(1));
        String stdout = "some log line\n" + r.toJson() + "\n";
        assertThat(LoadRun.parseWorkerOutput(new ProcessResult(List.of("w"), 0, stdout, "")))
                .isEqualTo(r);
        assertThatThrownBy(() -> LoadRun.parseWorkerOutput(new ProcessResult(List.of("w"), 1, "", "boom")))
                .hasMessageContaining("boom");
        assertThatThrownBy(() -> LoadRun.parseWorkerOutput(new ProcessResult(List.of("w"), 137, stdout, "")))
                .hasMessageContaining("exit 137");
    }
}
