package dev.baton.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class WrkResultTest {
    /** A run whose 199 quantiles are {@code base + level} microseconds (level 0.5 .. 99.5). */
    static WrkResult run(long requests, double base) {
        List<Double> q = new ArrayList<>();
        for (int i = 1; i <= 199; i++) q.add(base + i / 2.0);
        return new WrkResult(requests, requests * 100, 2.0, 0, 0, 0, 0, 0, base + 50, base + 99, q);
    }

    @Test
    void oneRunsPooledQuantilesAreItsOwn() {
        WrkResult r = run(1000, 0);
        assertThat(WrkResult.pooledQuantile(List.of(r), 50)).isEqualTo(50);
        assertThat(WrkResult.pooledQuantile(List.of(r), 99)).isEqualTo(99);
        assertThat(WrkResult.pooledQuantile(List.of(r), 0.5)).isEqualTo(0.5);
    }

    @Test
    void mergeAddsCountsAndPoolsLatencyByRequests() {
        // A slow run with 3x the requests of a fast one: the pooled median lies in the slow run's range.
        WrkResult fast = run(1000, 0);
        WrkResult slow = new WrkResult(
                3000, 300_000, 2.5, 2, 1, 0, 0, 3, 0, 0, run(3000, 1000).quantilesMicros());
        WrkResult m = WrkResult.merge(List.of(fast, slow));
        assertThat(m.requests()).isEqualTo(4000);
        assertThat(m.bytes()).isEqualTo(400_000);
        assertThat(m.seconds()).isEqualTo(2.5);
        assertThat(m.non2xx()).isEqualTo(2);
        assertThat(m.connectErrors()).isEqualTo(1);
        assertThat(m.timeouts()).isEqualTo(3);
        assertThat(m.errors()).isEqualTo(6);
        // 25% of requests are fast (0..100 us); the median of all is the slow run's 33.3rd percentile.
        assertThat(m.p50Micros()).isBetween(1033.0, 1034.0);
        assertThat(m.p99Micros()).isBetween(1098.5, 1099.0);
        // Equal runs pool to the same quantiles.
        WrkResult twice = WrkResult.merge(List.of(run(500, 0), run(500, 0)));
        assertThat(twice.p50Micros()).isEqualTo(50);
        assertThat(twice.p99Micros()).isEqualTo(99);
    }

    @Test
    void runsWithoutQuantilesCannotBeMerged() {
        WrkResult bare = new WrkResult(10, 10, 1, 0, 0, 0, 0, 0, 5, 9, List.of());
        assertThatThrownBy(() -> WrkResult.merge(List.of(bare, run(10, 0))))
                .isInstanceOf(IllegalArgumentException.class);
        assertThat(WrkResult.merge(List.of(bare))).isSameAs(bare);
        assertThatThrownBy(() -> WrkResult.merge(List.of())).isInstanceOf(IllegalArgumentException.class);
    }
}
