package dev.baton.node;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.baton.control.ControlPlane;
import dev.baton.route.Member;
import dev.baton.wire.Bytes;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;
import java.util.function.ToIntFunction;

/**
 * The live dashboard every node serves next to its metrics: a page ({@code GET /} or
 * {@code /dashboard}, the resource {@code dashboard.html}: inline CSS and script, nothing fetched
 * from elsewhere) that polls {@code GET /api/cluster} every second and draws the whole cluster.
 *
 * <ul>
 *   <li>{@code GET /api/node}: this node's own numbers: its stats (the admin socket's), its control
 *       links, and what its routing decided ({@link RouteStats}: connections sent to each member,
 *       the busiest paths);</li>
 *   <li>{@code GET /api/cluster}: this node's view plus every peer's {@code /api/node}, fetched over
 *       HTTP in parallel, each within {@link #PEER_TIMEOUT}; a peer that does not answer in time is
 *       marked unreachable with the time it last answered, so any node can serve the page and none
 *       can stall it. Answers are reused for {@link #REUSE}: however many browsers watch, a node
 *       asks its peers at most twice a second.</li>
 * </ul>
 *
 * <p>Rates (handoffs per second, shares) are computed by the page from successive snapshots of
 * counters, each stamped with its own node's clock: the node keeps no history and no thread per
 * viewer, the numbers stay exact counters that a script can difference as Prometheus does, and a
 * peer that misses a poll leaves a gap instead of a wrong rate.
 *
 * <p>Everything here runs on the metrics server's threads, never on the packet loop's: the loop
 * pays one locked count per routed connection ({@link RouteStats#record}), nothing per packet.
 */
final class Dashboard implements AutoCloseable {
    /** How long the serving node waits for a peer's numbers. */
    static final Duration PEER_TIMEOUT = Duration.ofMillis(300);
    /** How long a cluster view is served again before the peers are asked anew. */
    static final Duration REUSE = Duration.ofMillis(500);
    /** Largest answer taken from a peer (its view is a few kilobytes). */
    static final long MAX_PEER_ANSWER = 1 << 20;
    /** Busiest paths each node reports. */
    static final int TOP_PATHS = 20;
    /** No resource leaves the node: scripts and styles are inline, data comes from this origin. */
    private static final String CSP = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
            + "connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

    private static final ObjectMapper JSON = new ObjectMapper();

    private final Member self;
    private final List<Member> peers;
    /** Where a peer's {@code /api/node} answers: its control address (on a real host, baton's namespace). */
    private final ToIntFunction<Member> reachAt;

    private final int metricsPort;
    private final int tableCapacity;
    private final Supplier<NodeStats> stats;
    private final RouteStats routes;
    private final ControlPlane control;
    private final long startedMillis = System.currentTimeMillis();
    private final byte[] page;
    private final HttpClient http;
    /** When each peer last answered, by this node's clock; one entry per peer at most. */
    private final Map<String, Long> lastAnswer = new ConcurrentHashMap<>();

    private ObjectNode lastView;
    private long lastViewNanos;

    /**
     * @param self this node, with its member index
     * @param peers the other members; each serves {@code /api/node} on {@code metricsPort}
     * @param stats this node's stats, as the admin socket's {@code stats} command answers
     */
    Dashboard(
            Member self,
            List<Member> peers,
            int metricsPort,
            int tableCapacity,
            Supplier<NodeStats> stats,
            RouteStats routes,
            ControlPlane control) {
        this(self, peers, Member::address, metricsPort, tableCapacity, stats, routes, control);
    }

    /** @param reachAt the address a peer's metrics server answers at (its control address) */
    Dashboard(
            Member self,
            List<Member> peers,
            ToIntFunction<Member> reachAt,
            int metricsPort,
            int tableCapacity,
            Supplier<NodeStats> stats,
            RouteStats routes,
            ControlPlane control) {
        this.self = self;
        this.peers = List.copyOf(peers);
        this.reachAt = reachAt;
        this.metricsPort = metricsPort;
        this.tableCapacity = tableCapacity;
        this.stats = stats;
        this.routes = routes;
        this.control = control;
        try (InputStream in = Dashboard.class.getResourceAsStream("dashboard.html")) {
            if (in == null) throw new IllegalStateException("dashboard.html is missing from the jar");
            page = in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException("reading dashboard.html", e);
        }
        http = HttpClient.newBuilder()
                .connectTimeout(PEER_TIMEOUT)
                .version(HttpClient.Version.HTTP_1_1)
                .followRedirects(HttpClient.Redirect.NEVER)
                .build();
    }

    /** Adds the page and the two JSON endpoints to {@code server} (which serves {@code /metrics}). */
    void register(HttpServer server) {
        server.createContext("/", exchange -> {
            try (exchange) {
                String path = exchange.getRequestURI().getPath();
                if (!path.equals("/") && !path.equals("/dashboard")) {
                    send(
                            exchange,
                            404,
                            "text/plain; charset=utf-8",
                            "not found; try /, /api/cluster, /api/node, /metrics\n");
                } else if (readable(exchange)) {
                    exchange.getResponseHeaders().set("Content-Security-Policy", CSP);
                    send(exchange, 200, "text/html; charset=utf-8", page);
                }
            }
        });
        server.createContext("/api/node", exchange -> json(exchange, "/api/node", this::nodeView));
        server.createContext("/api/cluster", exchange -> json(exchange, "/api/cluster", this::clusterView));
    }

    private static void json(HttpExchange exchange, String path, Supplier<JsonNode> view) throws IOException {
        try (exchange) {
            if (!exchange.getRequestURI().getPath().equals(path)) {
                send(exchange, 404, "text/plain; charset=utf-8", "not found\n");
            } else if (readable(exchange)) {
                exchange.getResponseHeaders().set("Cache-Control", "no-store");
                send(exchange, 200, "application/json", JSON.writeValueAsBytes(view.get()));
            }
        }
    }

    /** This node's own numbers. */
    ObjectNode nodeView() {
        // The stats as the admin socket writes them, and what the page shows beside them.
        ObjectNode view = NodeStats.JSON.valueToTree(stats.get());
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("startedMillis", startedMillis);
        m.put("nowMillis", System.currentTimeMillis());
        m.put("tableCapacity", tableCapacity);
        List<Map<String, Object>> links = new ArrayList<>();
        for (Member p : peers) {
            ControlPlane.PeerState s = control.peer(p.name());
            Map<String, Object> l = new LinkedHashMap<>();
            l.put("peer", p.name());
            l.put("up", s.up());
            l.put(
                    "sinceMillis",
                    s.connectedSince() == null ? null : s.connectedSince().toEpochMilli());
            l.put("reconnects", s.reconnects());
            links.add(l);
        }
        m.put("links", links);
        RouteStats.Snapshot r = routes.snapshot(TOP_PATHS);
        m.put("routed", r.routed());
        m.put("routedTo", r.routedTo());
        m.put("paths", r.paths());
        view.setAll((ObjectNode) JSON.valueToTree(m));
        return view;
    }

    /**
     * This node's view and every peer's, the peers asked in parallel; a fresh one at most every
     * {@link #REUSE}. Callers wait for one another here, at most a peer timeout each.
     */
    synchronized ObjectNode clusterView() {
        long now = System.nanoTime();
        if (lastView != null && now - lastViewNanos < REUSE.toNanos()) return lastView;
        Map<String, CompletableFuture<JsonNode>> asked = new LinkedHashMap<>();
        for (Member p : peers) asked.put(p.name(), ask(p));
        ObjectNode out = JSON.createObjectNode();
        out.put("servedBy", self.name());
        out.put("peerTimeoutMillis", PEER_TIMEOUT.toMillis());
        ArrayNode nodes = out.putArray("nodes");
        ObjectNode own = nodes.addObject();
        own.put("name", self.name());
        own.put("address", Bytes.ipv4ToString(self.address()));
        own.put("self", true);
        own.put("state", "up");
        own.put("reachable", true);
        own.put("lastHeardMillis", System.currentTimeMillis());
        own.set("view", nodeView());
        for (Member p : peers) {
            ObjectNode n = nodes.addObject();
            n.put("name", p.name());
            n.put("address", Bytes.ipv4ToString(p.address()));
            n.put("self", false);
            boolean linkUp = control.peer(p.name()).up();
            JsonNode view = null;
            String error = null;
            try {
                view = asked.get(p.name()).join();
                if (!view.path("node").asText().equals(p.name())) {
                    error = "answered as '" + view.path("node").asText() + "'";
                    view = null;
                } else {
                    lastAnswer.put(p.name(), System.currentTimeMillis());
                }
            } catch (CompletionException e) {
                error = describe(e.getCause());
            }
            // Up or down is what this node's control link says; the numbers are what the peer said.
            n.put("state", !linkUp ? "down" : view != null ? "up" : "unreachable");
            n.put("reachable", view != null);
            Long heard = lastAnswer.get(p.name());
            if (heard != null) n.put("lastHeardMillis", heard);
            else n.putNull("lastHeardMillis");
            if (error != null) n.put("error", error);
            if (view != null) n.set("view", view);
        }
        out.put("generatedMillis", System.currentTimeMillis());
        lastView = out;
        lastViewNanos = System.nanoTime();
        return out;
    }

    /**
     * Asks this node's own {@code /api/node} once, in the background, and forgets the answer: the
     * first request of an HTTP client and the first view built cost a JVM fresh from its start
     * several hundred milliseconds here, more than a peer is given, so a fresh cluster's dashboard
     * showed its peers unreachable (issue 12 names it); after this the first real ask is fast.
     */
    @SuppressWarnings("FutureReturnValueIgnored") // a warm-up: its answer and its failure are nothing
    void warmUp(InetSocketAddress listening) {
        String host = listening.getAddress().isAnyLocalAddress()
                ? "127.0.0.1"
                : listening.getAddress().getHostAddress();
        URI uri = URI.create("http://" + host + ":" + listening.getPort() + "/api/node");
        http.sendAsync(
                HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(5)).GET().build(),
                HttpResponse.BodyHandlers.discarding());
    }

    /** A peer's {@code /api/node}, completed (normally or not) within the peer timeout. */
    private CompletableFuture<JsonNode> ask(Member peer) {
        URI uri =
                URI.create("http://" + Bytes.ipv4ToString(reachAt.applyAsInt(peer)) + ":" + metricsPort + "/api/node");
        HttpRequest request =
                HttpRequest.newBuilder(uri).timeout(PEER_TIMEOUT).GET().build();
        return http.sendAsync(
                        request,
                        HttpResponse.BodyHandlers.limiting(HttpResponse.BodyHandlers.ofByteArray(), MAX_PEER_ANSWER))
                .orTimeout(PEER_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)
                .thenApply(r -> {
                    if (r.statusCode() != 200) throw new IllegalStateException("HTTP " + r.statusCode());
                    try {
                        JsonNode n = JSON.readTree(r.body());
                        if (n == null || !n.isObject()) throw new IllegalStateException("not a JSON object");
                        return n;
                    } catch (IOException e) {
                        throw new IllegalStateException("bad JSON: " + e.getMessage());
                    }
                });
    }

    private static String describe(Throwable t) {
        if (t instanceof TimeoutException || t instanceof HttpTimeoutException) {
            return "no answer within " + PEER_TIMEOUT.toMillis() + " ms";
        }
        if (t instanceof ConnectException) return "connection refused";
        if (t instanceof IllegalStateException) return t.getMessage();
        return t.getClass().getSimpleName() + (t.getMessage() == null ? "" : ": " + t.getMessage());
    }

    /** True for GET and HEAD; anything else is answered 405 here. */
    static boolean readable(HttpExchange exchange) throws IOException {
        String method = exchange.getRequestMethod();
        if (method.equals("GET") || method.equals("HEAD")) return true;
        exchange.getResponseHeaders().set("Allow", "GET, HEAD");
        exchange.sendResponseHeaders(405, -1);
        return false;
    }

    static void send(HttpExchange exchange, int status, String type, String body) throws IOException {
        send(exchange, status, type, body.getBytes(StandardCharsets.UTF_8));
    }

    /** Sends {@code body} (none to a HEAD request, with its length still announced by status). */
    static void send(HttpExchange exchange, int status, String type, byte[] body) throws IOException {
        exchange.getResponseHeaders().set("Content-Type", type);
        exchange.getResponseHeaders().set("X-Content-Type-Options", "nosniff");
        boolean head = exchange.getRequestMethod().equals("HEAD");
        exchange.sendResponseHeaders(status, head ? -1 : body.length == 0 ? -1 : body.length);
        if (!head && body.length > 0) {
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(body);
            }
        }
    }

    @Override
    public void close() {
        http.shutdownNow();
    }
}
