package dev.baton.node;

import static org.assertj.core.api.Assertions.assertThat;

import dev.baton.route.Member;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class RouteStatsTest {
    private static final Member N1 = new Member("n1", 0x0ac80101, 1);
    private static final Member N2 = new Member("n2", 0x0ac80102, 2);
    private static final Member N3 = new Member("n3", 0x0ac80103, 3);

    @Test
    void countsDecisionsPerMemberAndPathsWithWhereTheyWent() {
        RouteStats r = new RouteStats(List.of(N2, N1, N3)); // self first elsewhere: order does not matter
        for (int i = 0; i < 5; i++) r.record("/data/1k.bin", N2);
        r.record("/index.html", N1);
        r.record("/shared/site.css", N1);
        r.record("/shared/site.css", N3);
        r.record(null, N1);

        RouteStats.Snapshot s = r.snapshot(2);
        assertThat(s.routed()).isEqualTo(9);
        assertThat(s.routedTo()).containsExactly(Map.entry("n1", 3L), Map.entry("n2", 5L), Map.entry("n3", 1L));
        assertThat(s.paths()).hasSize(2);
        assertThat(s.paths().getFirst()).isEqualTo(new RouteStats.PathCount("/data/1k.bin", 5, 0, Map.of("n2", 5L)));
        assertThat(s.paths().get(1).path()).isEqualTo("/shared/site.css");
        assertThat(s.paths().get(1).servedBy()).containsExactly(Map.entry("n1", 1L), Map.entry("n3", 1L));
    }

    @Test
    void keepsAtMostItsTrackedPaths() {
        RouteStats r = new RouteStats(List.of(N1, N2));
        for (int i = 0; i < 10_000; i++) r.record("/scan/" + i, N1);
        assertThat(r.snapshot(1_000).paths()).hasSize(RouteStats.TRACKED_PATHS);
        assertThat(r.snapshot(1_000).routed()).isEqualTo(10_000);
    }

    @Test
    void aSnapshotIsACopy() {
        RouteStats r = new RouteStats(List.of(N1, N2));
        r.record("/a", N2);
        RouteStats.Snapshot before = r.snapshot(5);
        r.record("/a", N2);
        assertThat(before.routedTo().get("n2")).isEqualTo(1);
        assertThat(before.paths().getFirst().count()).isEqualTo(1);
        assertThat(r.snapshot(5).paths().getFirst().count()).isEqualTo(2);
    }
}
