package dev.baton.node;

import com.sun.net.httpserver.HttpServer;
import dev.baton.btcp.Btcp;
import dev.baton.btcp.Counter;
import dev.baton.btcp.Drop;
import dev.baton.btcp.Refusal;
import dev.baton.control.ControlCounter;
import dev.baton.control.ControlPlane;
import dev.baton.control.FrameException;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Timer;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.ThreadPoolExecutor.CallerRunsPolicy;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import java.util.function.LongSupplier;
import java.util.function.ToDoubleFunction;

/**
 * The node's Prometheus endpoint ({@code GET /metrics}, Micrometer's registry in the text format):
 * what the stats command shows, as metrics.
 *
 * <ul>
 *   <li>{@code baton_btcp_total{counter}}: the BTCP's counters (connections seen, handoffs sent,
 *       completed, accepted, refused, fallbacks, bytes forwarded ...);</li>
 *   <li>{@code baton_drops_total{reason}}: every counted drop, the BTCP's and the packet loop's;</li>
 *   <li>{@code baton_refusals_total{reason}}: refusals this node received as entry;</li>
 *   <li>{@code baton_handoff_seconds}: a histogram of handoff latency, from the entry's handoff
 *       request to the chosen node's ack;</li>
 *   <li>{@code baton_connections{state}} and {@code baton_table_capacity{table}}: table occupancy
 *       (active, open, tracked and half-open connections against the connection table; free hold
 *       buffers against the pool); {@code baton_draining}: 1 during a drain;</li>
 *   <li>{@code baton_peer_up{peer}}, {@code baton_peer_frames_total{peer,direction}},
 *       {@code baton_peer_reconnects_total{peer}}: each control link; {@code baton_control_total{counter}}:
 *       the control plane's counters.</li>
 * </ul>
 * Every value is read when scraped (the BTCP's counters are opaque reads of the loop's own); only
 * the histogram is recorded as handoffs complete, on the packet loop's thread.
 */
final class NodeMetrics implements AutoCloseable {
    /** Buckets of the handoff histogram: from a fast handoff on one host to a timeout. */
    private static final Duration[] HANDOFF_BUCKETS = {
        Duration.ofNanos(100_000), Duration.ofNanos(250_000), Duration.ofNanos(500_000), Duration.ofMillis(1),
        Duration.ofNanos(2_500_000), Duration.ofMillis(5), Duration.ofMillis(10), Duration.ofMillis(25),
        Duration.ofMillis(50), Duration.ofMillis(100), Duration.ofMillis(250), Duration.ofMillis(1000)
    };

    private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    private final Timer handoff;
    private HttpServer server;
    private Dashboard dashboard;
    private ExecutorService executor;
    private final BooleanSupplier draining;

    NodeMetrics(
            String node,
            Btcp btcp,
            PacketLoop loop,
            ControlPlane control,
            List<String> peers,
            LongSupplier policyErrors,
            BooleanSupplier draining) {
        registry.config().commonTags("node", node);
        var counters = btcp.counters();
        for (Counter c : Counter.values()) {
            FunctionCounter.builder("baton.btcp", counters, x -> x.get(c))
                    .tag("counter", c.metric())
                    .description("BTCP counters (the stats command's counters)")
                    .register(registry);
        }
        for (Drop d : Drop.values()) {
            drop(d.metric(), counters, x -> x.get(d));
        }
        drop(LoopDrop.INBOX_FULL.key(), loop, l -> l.inboxDropped());
        drop(LoopDrop.TUN_WRITE_FAILED.key(), loop, l -> l.writeFailures());
        drop(LoopDrop.BAD_TUN_FRAME.key(), loop, l -> l.badFrames());
        drop(LoopDrop.INTERNAL_ERROR.key(), loop, l -> l.internalErrors());
        drop(LoopDrop.POLICY_ERROR.key(), policyErrors, s -> s.getAsLong());
        for (Refusal r : Refusal.values()) {
            FunctionCounter.builder("baton.refusals", counters, x -> x.get(r))
                    .tag("reason", r.name())
                    .description("refusals received as entry")
                    .register(registry);
        }
        handoff = Timer.builder("baton.handoff")
                .description("handoff latency: the entry's request to the chosen node's ack")
                .serviceLevelObjectives(HANDOFF_BUCKETS)
                .minimumExpectedValue(HANDOFF_BUCKETS[0])
                .maximumExpectedValue(Duration.ofSeconds(5))
                .register(registry);
        btcp.onHandoffLatency(nanos -> handoff.record(nanos, TimeUnit.NANOSECONDS));
        connections("active", btcp, b -> b.activeConnections());
        connections("tracked", btcp, b -> b.trackedConnections());
        connections("halfOpen", btcp, b -> b.halfOpenConnections());
        connections("open", btcp, b -> b.openConnections());
        // Micrometer holds a gauge's object weakly: the lambda alone would be collected (NaN).
        this.draining = draining;
        Gauge.builder("baton.draining", this, m -> m.draining.getAsBoolean() ? 1 : 0)
                .description("1 while the node drains (baton drain): it finishes what it has")
                .register(registry);
        Gauge.builder("baton.hold.buffers.free", btcp, b -> b.freeHoldBuffers())
                .description("hold buffers free for connections whose request is being read")
                .register(registry);
        Gauge.builder("baton.table.capacity", btcp, b -> b.config().limits().maxConnections())
                .tag("table", "connections")
                .register(registry);
        Gauge.builder("baton.table.capacity", btcp, b -> b.config().limits().holdBuffers())
                .tag("table", "holdBuffers")
                .register(registry);
        for (String peer : peers) {
            Gauge.builder("baton.peer.up", control, p -> p.peer(peer).up() ? 1 : 0)
                    .tag("peer", peer)
                    .description("1 while the control link to the peer is up")
                    .register(registry);
            FunctionCounter.builder(
                            "baton.peer.frames", control, p -> p.peer(peer).framesIn())
                    .tag("peer", peer)
                    .tag("direction", "in")
                    .register(registry);
            FunctionCounter.builder(
                            "baton.peer.frames", control, p -> p.peer(peer).framesOut())
                    .tag("peer", peer)
                    .tag("direction", "out")
                    .register(registry);
            FunctionCounter.builder(
                            "baton.peer.reconnects", control, p -> p.peer(peer).reconnects())
                    .tag("peer", peer)
                    .register(registry);
        }
        for (ControlCounter c : ControlCounter.values()) {
            FunctionCounter.builder("baton.control", control, p -> p.get(c))
                    .tag("counter", c.key())
                    .description("control plane counters")
                    .register(registry);
        }
        for (FrameException.Reason r : FrameException.Reason.values()) {
            FunctionCounter.builder("baton.control", control, p -> p.malformed(r))
                    .tag("counter", ControlCounter.MALFORMED.key() + "." + r)
                    .description("control plane counters")
                    .register(registry);
        }
    }

    private <T> void drop(String reason, T source, ToDoubleFunction<T> value) {
        FunctionCounter.builder("baton.drops", source, value)
                .tag("reason", reason)
                .description("packets and events dropped, by reason")
                .register(registry);
    }

    private void connections(String state, Btcp btcp, ToDoubleFunction<Btcp> value) {
        Gauge.builder("baton.connections", btcp, value)
                .tag("state", state)
                .description("connections in the BTCP's table")
                .register(registry);
    }

    /** The text a scrape gets. */
    String scrape() {
        return registry.scrape();
    }

    /**
     * Serves {@code GET /metrics} on {@code address}, and {@code dashboard}'s page and endpoints.
     * Four threads: a dashboard's cluster view waits up to a peer timeout for the peers, and
     * meanwhile a scrape, or a peer asking for this node's own view (for its dashboard), must not
     * wait behind it.
     */
    void serve(InetSocketAddress address, Dashboard dashboard) throws IOException {
        HttpServer s = HttpServer.create(address, 16);
        s.createContext("/metrics", exchange -> {
            try (exchange) {
                if (!exchange.getRequestURI().getPath().equals("/metrics")) {
                    Dashboard.send(exchange, 404, "text/plain; charset=utf-8", "not found\n");
                } else if (Dashboard.readable(exchange)) {
                    Dashboard.send(
                            exchange,
                            200,
                            "text/plain; version=0.0.4; charset=utf-8",
                            scrape().getBytes(StandardCharsets.UTF_8));
                }
            }
        });
        dashboard.register(s);
        this.dashboard = dashboard;
        AtomicInteger threads = new AtomicInteger();
        // Bounded: past 256 waiting requests the server's own thread answers the next one itself and
        // accepts nothing meanwhile (backpressure instead of a queue a flood could grow).
        executor = new ThreadPoolExecutor(
                4,
                4,
                0,
                TimeUnit.MILLISECONDS,
                new ArrayBlockingQueue<>(256),
                r -> {
                    Thread t = new Thread(r, "metrics-" + threads.incrementAndGet());
                    t.setDaemon(true);
                    return t;
                },
                new CallerRunsPolicy());
        s.setExecutor(executor);
        s.start();
        server = s;
    }

    /** Warms the dashboard's client up (Dashboard.warmUp); after the node is ready, off its start's path. */
    void warmUp() {
        if (server != null && dashboard != null) dashboard.warmUp(server.getAddress());
    }

    @Override
    public void close() {
        if (server != null) server.stop(0);
        if (executor != null) executor.shutdownNow();
        if (dashboard != null) dashboard.close();
        registry.close();
    }
}
