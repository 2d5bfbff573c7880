package dev.baton.node;

import static org.assertj.core.api.Assertions.assertThat;

import dev.baton.route.Member;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** A drain's states, as the admin socket reports them; the routing side is ContentAwarePolicyTest's. */
class DrainTest {
    private final ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor();
    private final AtomicInteger open = new AtomicInteger(2);
    private final ClusterState cluster =
            new ClusterState(new Member("n1", 0x0a000001), List.of(new Member("n2", 0x0a000002)), List.of(), () -> 0);
    private final Drain drain = new Drain(cluster, open::get, () -> scheduler);

    @AfterEach
    void stop() {
        scheduler.shutdownNow();
    }

    @Test
    void drainingUntilNothingIsOpenThenDrainedAndOffAgain() {
        assertThat(drain.state().state()).isEqualTo("off");
        assertThat(drain.state().openConnections()).isEqualTo(2);
        NodeStats.DrainState on = drain.set(true);
        assertThat(on.state()).isEqualTo("draining");
        assertThat(on.openConnections()).isEqualTo(2);
        assertThat(cluster.isDraining("n1"))
                .as("what the routing and the heartbeats read")
                .isTrue();
        open.set(0);
        assertThat(drain.state().state()).isEqualTo("drained");
        open.set(1); // a client still sent here: draining again until it is done
        assertThat(drain.state().state()).isEqualTo("draining");
        NodeStats.DrainState off = drain.set(false);
        assertThat(off.state()).isEqualTo("off");
        assertThat(off.millis()).isNull();
        assertThat(cluster.isDraining("n1")).isFalse();
    }

    @Test
    void peersThatSaySoAreListed() {
        cluster.load("n2", 0, true);
        assertThat(drain.state().peersDraining()).isEqualTo(List.of("n2"));
    }
}
