package dev.baton.node;

import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.IntSupplier;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A node's drain ({@code drain}, {@code drain off}, {@code drain status}): the flag its routing and
 * heartbeats read ({@link ClusterState#isDraining}), and a watch that says once, in the log, when
 * nothing is open any more. The routing does the work (a draining node is every policy's last
 * resort, {@link dev.baton.route.ContentAwarePolicy}); connections in flight are never touched.
 */
final class Drain {
    private static final Logger LOG = LoggerFactory.getLogger(Drain.class);
    /** How often a draining node looks whether it has finished. */
    private static final long CHECK_MILLIS = 100;

    private final ClusterState cluster;
    private final IntSupplier openConnections;
    private final Supplier<ScheduledExecutorService> scheduler;
    private long startNanos;
    private boolean drainedLogged;
    /** Which drain a watch belongs to: the watch of a drain turned off (and on again) stops. */
    private int generation;

    Drain(ClusterState cluster, IntSupplier openConnections, Supplier<ScheduledExecutorService> scheduler) {
        this.cluster = cluster;
        this.openConnections = openConnections;
        this.scheduler = scheduler;
    }

    /** Starts ({@code on}) or ends a drain; either again is no change. Returns the state. */
    @SuppressWarnings("FutureReturnValueIgnored") // watch() cannot throw: it reads and logs
    synchronized NodeStats.DrainState set(boolean on) {
        boolean was = cluster.isDraining(cluster.self());
        if (on && !was) {
            startNanos = System.nanoTime();
            drainedLogged = false;
            int g = ++generation;
            LOG.info("draining: {} connections open", openConnections.getAsInt());
            scheduler.get().schedule(() -> watch(g), CHECK_MILLIS, TimeUnit.MILLISECONDS);
        } else if (!on && was) {
            LOG.info("drain off: taking new connections and handoffs again");
        }
        cluster.draining(on);
        return state();
    }

    /** {@code off}, {@code draining} (connections still open) or {@code drained}; open connections; peers draining. */
    synchronized NodeStats.DrainState state() {
        int open = openConnections.getAsInt();
        boolean draining = cluster.isDraining(cluster.self());
        return new NodeStats.DrainState(
                !draining ? "off" : open == 0 ? "drained" : "draining",
                open,
                draining ? (System.nanoTime() - startNanos) / 1_000_000 : null,
                cluster.peersDraining());
    }

    @SuppressWarnings("FutureReturnValueIgnored") // watch() cannot throw: it reads and logs
    private void watch(int g) {
        synchronized (this) {
            if (!cluster.isDraining(cluster.self()) || g != generation) return;
            if (!drainedLogged && openConnections.getAsInt() == 0) {
                drainedLogged = true;
                LOG.info(
                        "drained: no connection open, {} ms after the drain began",
                        (System.nanoTime() - startNanos) / 1_000_000);
            }
        }
        ScheduledExecutorService s = scheduler.get();
        if (!s.isShutdown()) s.schedule(() -> watch(g), CHECK_MILLIS, TimeUnit.MILLISECONDS);
    }
}
