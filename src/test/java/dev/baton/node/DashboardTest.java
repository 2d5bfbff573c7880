package dev.baton.node;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpServer;
import dev.baton.control.ClusterKey;
import dev.baton.control.ControlListener;
import dev.baton.control.ControlMessage;
import dev.baton.control.ControlPlane;
import dev.baton.route.Member;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The dashboard's endpoints on loopback addresses: the serving node on 127.0.0.1, a peer that
 * answers (127.0.0.2), one that refuses (127.0.0.3), one that accepts and never answers
 * (127.0.0.4) and one that answers under another name (127.0.0.5), all on one port as the
 * members of a cluster are.
 */
class DashboardTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int BASE = 0x7f000001;

    private final List<AutoCloseable> open = new ArrayList<>();
    private final HttpClient client = HttpClient.newHttpClient();
    private HttpServer server;
    private int port;
    private RouteStats routes;
    private Dashboard dashboard;

    @BeforeEach
    void up() throws IOException {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 16);
        port = server.getAddress().getPort();
        Member self = new Member("n1", BASE, 1);
        List<Member> peers = new ArrayList<>();
        for (int i = 2; i <= 5; i++) peers.add(new Member("n" + i, BASE + i - 1, i));
        peer(2, "n2");
        ServerSocket silent = new ServerSocket(port, 8, InetAddress.getByName("127.0.0.4"));
        open.add(silent);
        List<Socket> accepted = new ArrayList<>();
        Thread.ofVirtual().start(() -> {
            try {
                while (true) accepted.add(silent.accept()); // held open, never answered
            } catch (IOException closed) {
                // the test is over
            }
        });
        open.add(() -> {
            for (Socket s : accepted) s.close();
        });
        peer(5, "nX");
        List<ControlPlane.PeerSpec> specs = peers.stream()
                .map(p -> new ControlPlane.PeerSpec(p.name(), Node.inet(p.address()), 7070))
                .toList();
        ControlPlane control = new ControlPlane(
                ControlPlane.Config.of("n1", Node.inet(BASE), specs), ClusterKey.random(), new ControlListener() {
                    @Override
                    public void onPeerUp(String peer, ControlMessage.Hello hello) {}

                    @Override
                    public void onPeerDown(String peer) {}

                    @Override
                    public void onMessage(String peer, ControlMessage m) {}
                });
        routes = new RouteStats(List.of(self, peers.get(0), peers.get(1), peers.get(2), peers.get(3)));
        NodeStats stats = NodeStats.parse("{\"node\":\"n1\",\"counters\":{\"handoffsCompleted\":4}}");
        dashboard = new Dashboard(self, peers, port, 1024, () -> stats, routes, control);
        dashboard.register(server);
        var threads = Executors.newFixedThreadPool(4);
        open.add(threads::shutdownNow);
        server.setExecutor(threads);
        server.start();
    }

    /** A peer at 127.0.0.{@code n} on the cluster's port whose {@code /api/node} says it is {@code name}. */
    private void peer(int n, String name) throws IOException {
        HttpServer p = HttpServer.create(new InetSocketAddress(InetAddress.getByName("127.0.0." + n), port), 8);
        p.createContext("/api/node", e -> {
            byte[] body = ("{\"node\":\"" + name + "\",\"counters\":{\"handoffsAccepted\":7}}")
                    .getBytes(StandardCharsets.UTF_8);
            e.sendResponseHeaders(200, body.length);
            e.getResponseBody().write(body);
            e.close();
        });
        p.start();
        open.add(() -> p.stop(0));
    }

    @AfterEach
    void down() throws Exception {
        server.stop(0);
        dashboard.close();
        for (AutoCloseable c : open.reversed()) c.close();
    }

    @Test
    void servesTheWholeClusterWithoutWaitingForPeersThatDoNotAnswer() throws Exception {
        routes.record("/data/1k.bin", new Member("n2", BASE + 1, 2));
        long start = System.nanoTime();
        HttpResponse<String> r = get("/api/cluster");
        long millis = (System.nanoTime() - start) / 1_000_000;

        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("Content-Type")).hasValue("application/json");
        assertThat(millis).as("a silent peer costs one peer timeout, not more").isLessThan(1_500);
        JsonNode cluster = JSON.readTree(r.body());
        assertThat(cluster.path("servedBy").asText()).isEqualTo("n1");
        JsonNode nodes = cluster.path("nodes");
        assertThat(nodes).hasSize(5);
        JsonNode n1 = nodes.get(0);
        assertThat(n1.path("state").asText()).isEqualTo("up");
        assertThat(n1.path("view").path("routedTo").path("n2").asLong()).isEqualTo(1);
        assertThat(n1.path("view").path("paths").get(0).path("path").asText()).isEqualTo("/data/1k.bin");
        assertThat(n1.path("view").path("links")).hasSize(4);

        JsonNode n2 = nodes.get(1);
        assertThat(n2.path("reachable").asBoolean()).isTrue();
        assertThat(n2.path("view").path("counters").path("handoffsAccepted").asLong())
                .isEqualTo(7);
        assertThat(n2.path("lastHeardMillis").asLong()).isPositive();
        // The control plane never started: every link is down, whatever HTTP says.
        assertThat(n2.path("state").asText()).isEqualTo("down");

        JsonNode n3 = nodes.get(2);
        assertThat(n3.path("reachable").asBoolean()).isFalse();
        assertThat(n3.path("error").asText()).isEqualTo("connection refused");
        assertThat(n3.path("lastHeardMillis").isNull()).isTrue();
        assertThat(n3.has("view")).isFalse();

        assertThat(nodes.get(3).path("error").asText()).isEqualTo("no answer within 300 ms");
        assertThat(nodes.get(4).path("error").asText()).isEqualTo("answered as 'nX'");
        assertThat(nodes.get(4).has("view")).isFalse();
    }

    @Test
    void reusesAClusterViewForHalfASecond() throws Exception {
        JsonNode a = JSON.readTree(get("/api/cluster").body());
        JsonNode b = JSON.readTree(get("/api/cluster").body());
        assertThat(b.path("generatedMillis").asLong())
                .isEqualTo(a.path("generatedMillis").asLong());
        Thread.sleep(Dashboard.REUSE.toMillis() + 50);
        JsonNode c = JSON.readTree(get("/api/cluster").body());
        assertThat(c.path("generatedMillis").asLong())
                .isGreaterThan(a.path("generatedMillis").asLong());
    }

    @Test
    void servesThePageAtTheRootAndAtDashboardOnly() throws Exception {
        for (String path : List.of("/", "/dashboard")) {
            HttpResponse<String> r = get(path);
            assertThat(r.statusCode()).isEqualTo(200);
            assertThat(r.headers().firstValue("Content-Type")).hasValue("text/html; charset=utf-8");
            assertThat(r.headers().firstValue("Content-Security-Policy").orElseThrow())
                    .contains("default-src 'none'");
            assertThat(r.body()).contains("<title>baton", "id=\"kpi-handoffs-rate\"", "api/cluster");
        }
        assertThat(get("/nothing").statusCode()).isEqualTo(404);
        assertThat(get("/dashboard/x").statusCode()).isEqualTo(404);
        assertThat(get("/api/node/x").statusCode()).isEqualTo(404);
        assertThat(get("/api/nodes").statusCode()).isEqualTo(404);
        assertThat(get("/api/node").statusCode()).isEqualTo(200);
        for (String path : List.of("/", "/api/node", "/api/cluster")) {
            HttpResponse<String> r = client.send(
                    HttpRequest.newBuilder(uri(path))
                            .POST(HttpRequest.BodyPublishers.ofString("x"))
                            .build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(r.statusCode()).as("POST " + path).isEqualTo(405);
            assertThat(r.headers().firstValue("Allow")).hasValue("GET, HEAD");
        }
    }

    @Test
    void thePageLoadsNothingFromElsewhere() throws IOException {
        String page;
        try (InputStream in = Dashboard.class.getResourceAsStream("dashboard.html")) {
            page = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        // The only absolute URL is the SVG namespace, which is a name, not a fetch.
        assertThat(page.replace("http://www.w3.org/2000/svg", ""))
                .doesNotContain("http://", "https://", "//cdn", "@import");
        assertThat(page).doesNotContainPattern("(src|href)\\s*=");
        // What the end-to-end test and operators' scripts read.
        assertThat(page)
                .contains(
                        "id=\"kpi-handoffs-total\"",
                        "id=\"kpi-up\"",
                        "id=\"topology\"",
                        "id=\"nodes\"",
                        "id=\"paths\"",
                        "id=\"drops\"",
                        "data-polls");
    }

    private HttpResponse<String> get(String path) throws IOException, InterruptedException {
        return client.send(HttpRequest.newBuilder(uri(path)).GET().build(), HttpResponse.BodyHandlers.ofString());
    }

    private URI uri(String path) {
        return URI.create("http://127.0.0.1:" + port + path);
    }
}
