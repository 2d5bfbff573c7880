package dev.baton.e2e;

import static dev.baton.e2e.LanHosts.CLIENT;
import static dev.baton.e2e.LanHosts.JSON;
import static dev.baton.e2e.LanHosts.MIB;
import static dev.baton.e2e.LanHosts.UPLINK;
import static dev.baton.e2e.LanHosts.assertExact;
import static dev.baton.e2e.LanHosts.assertRefused;
import static dev.baton.e2e.LanHosts.awaitLinkUp;
import static dev.baton.e2e.LanHosts.counter;
import static dev.baton.e2e.LanHosts.ip;
import static dev.baton.e2e.LanHosts.start;
import static dev.baton.e2e.LanHosts.startNginx;
import static dev.baton.e2e.LanHosts.stop;
import static dev.baton.e2e.LanHosts.txBytes;
import static dev.baton.e2e.LanHosts.write;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.baton.btcp.Counter;
import dev.baton.config.NodeConfigWriter;
import dev.baton.e2e.LanHosts.Host;
import dev.baton.testbed.Client;
import dev.baton.testbed.Commands;
import dev.baton.testbed.MachineLock;
import dev.baton.testbed.Testbed;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The real-host layout (docs/DEPLOYMENT.md, "On a real host"), on two hosts played by network
 * namespaces on one LAN (a bridge) with a client: each host runs {@code baton node --config} in its
 * own namespace (standing for the host's root namespace, its {@code eth0} a veth on the LAN), and
 * baton itself makes the server's namespace, moves its kernel TUN there and routes the service
 * address to its wire TUN. Both ways a network reaches a service address: h1's is routed to h1's
 * own address (by a route on the client and h2, as a router would), h2's sits on the LAN and h2
 * answers ARP for it. Nothing else is set up but what the docs ask of a host: forwarding on,
 * reverse-path filtering loose. h1 runs the built-in server (baton opens its listener in the
 * server's namespace), h2 nginx, started in the namespace baton made.
 *
 * <p>Checked: a handed-off 1 MiB response goes from h2's uplink straight to the client (h1's uplink
 * sends a small fraction of it), and the other way; the control link runs between the hosts' own
 * addresses; h1's dashboard, on h1's own address, shows both nodes; baton killed and started again
 * on h2 serves with the nginx that kept running; a host that does not forward or filters strictly
 * is refused with the fix in the message; a stopped node takes back its ARP answer.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class RealHostIT {
    static final Path STATE = Path.of("/run/baton-hosts");

    /** Both ways a network reaches a service address: h1's is routed to h1, h2's is on the LAN. */
    final Host h1 = host(1, "10.201.1.21", false);

    final Host h2 = host(2, "10.201.0.22", true);
    final List<Process> nodes = new ArrayList<>();
    Long nginxPid;
    Client client;

    @BeforeAll
    void up() throws Exception {
        EndToEnd.requireRoot();
        MachineLock.acquire(MachineLock.WAIT);
        sweep();
        Path key = LanHosts.build(STATE, List.of(h1, h2));
        // What docs/DEPLOYMENT.md asks of a host: forwarding, and loose filtering (rp_filter=2).
        for (Host h : List.of(h1, h2)) {
            Testbed.sysctl(h.netns(), "net.ipv4.ip_forward=1", "net.ipv4.conf.all.rp_filter=2");
        }
        // h1's service address is routed to h1's own, as a router (or BGP) would do it for the LAN.
        for (String ns : List.of(CLIENT, h2.netns())) ip(ns, "route add " + h1.serviceIp() + "/32 via " + h1.ownIp());
        write(h1.docroot().resolve("one.bin"), MIB, 1);
        write(h2.docroot().resolve("two.bin"), MIB, 2);
        Files.writeString(h1.docroot().resolve("index.html"), "<h1>h1</h1>\n");
        for (Host h : List.of(h1, h2))
            Files.writeString(h.config(), config(h, key, h.equals(h1) ? "builtin" : "external"));

        client = new Client(CLIENT, STATE.resolve("client"), Duration.ofSeconds(30));
    }

    @AfterAll
    void down() throws IOException {
        try {
            LanHosts.stopAll(nodes, nginxPid);
            sweep();
        } finally {
            MachineLock.release();
        }
    }

    @Test
    void twoHostsHandOffOverTheirLanAndAnswerDirectly() throws Exception {
        // A host that does not forward, or filters strictly, is refused before anything changes.
        Testbed.sysctl(h1.netns(), "net.ipv4.ip_forward=0");
        assertRefused(h1, "net.ipv4.ip_forward is off", "sysctl -w net.ipv4.ip_forward=1");
        Testbed.sysctl(h1.netns(), "net.ipv4.ip_forward=1", "net.ipv4.conf.all.rp_filter=1");
        assertRefused(h1, "rp_filter is 1 (strict)", "rp_filter=2");
        Testbed.sysctl(h1.netns(), "net.ipv4.conf.all.rp_filter=2");
        assertThat(Files.exists(Path.of("/run/netns", h1.serverNetns())))
                .as("nothing made by a refused start")
                .isFalse();

        nodes.add(start(h1));
        nodes.add(start(h2));
        nginxPid = startNginx(h2, h2.serverNetns()); // in the namespace baton made for h2's server
        awaitLinkUp(h1);
        awaitLinkUp(h2);

        // The control link runs between the hosts' own addresses, not through the TUNs.
        String sockets = Commands.check(
                        Commands.inNetns(h1.netns(), List.of("ss", "-tn", "state", "established")),
                        Duration.ofSeconds(5))
                .stdout();
        assertThat(sockets).contains(h1.ownIp() + ":").contains(h2.ownIp() + ":7070");

        // Local: h1's built-in server, listening inside h1's server namespace.
        Client.Response local = client.getUrl(h1.url("/one.bin"));
        assertExact(local, h1.docroot().resolve("one.bin"), "n1");

        // Handed off from h1 to h2 (nginx); the response leaves h2's uplink straight to the client.
        long h1Before = txBytes(h1);
        long h2Before = txBytes(h2);
        Client.Response handed = client.getUrl(h1.url("/two.bin"));
        assertExact(handed, h2.docroot().resolve("two.bin"), "n2");
        long h1Sent = txBytes(h1) - h1Before;
        long h2Sent = txBytes(h2) - h2Before;
        assertThat(h2Sent).as("bytes h2's uplink sent").isGreaterThan(MIB);
        assertThat(h1Sent)
                .as("bytes h1's uplink sent (the handshake, ARP, the control messages)")
                .isLessThan(MIB / 10);
        assertThat(counter(h1, Counter.HANDOFFS_COMPLETED)).isGreaterThanOrEqualTo(1);
        assertThat(counter(h2, Counter.HANDOFFS_ACCEPTED)).isGreaterThanOrEqualTo(1);

        // And the other way: entered at h2, handed to h1's built-in server in its namespace.
        assertExact(client.getUrl(h2.url("/one.bin")), h1.docroot().resolve("one.bin"), "n1");
        assertThat(counter(h2, Counter.HANDOFFS_COMPLETED)).isGreaterThanOrEqualTo(1);

        // The dashboard on h1's own address shows both nodes: h2's numbers asked at h2's own address.
        String view = Commands.check(
                        Commands.inNetns(
                                CLIENT,
                                List.of(
                                        "curl",
                                        "-sS",
                                        "--max-time",
                                        "5",
                                        "http://" + h1.ownIp() + ":9180/api/cluster")),
                        Duration.ofSeconds(10))
                .stdout();
        JsonNode seen = JSON.readTree(view).path("nodes");
        assertThat(seen).as(view).hasSize(2);
        for (JsonNode n : seen)
            assertThat(n.path("reachable").asBoolean())
                    .as(n.path("name") + " in " + view)
                    .isTrue();

        // baton on h2 dies (kill -9) and is started again (systemd's Restart=on-failure): nginx, in
        // the namespace that outlives baton, goes on with the same listener; the new TUN takes over.
        Process crashed = nodes.remove(1);
        crashed.destroyForcibly();
        assertThat(crashed.waitFor(10, TimeUnit.SECONDS)).isTrue();
        nodes.add(start(h2));
        awaitLinkUp(h1);
        awaitLinkUp(h2);
        assertExact(client.getUrl(h1.url("/two.bin")), h2.docroot().resolve("two.bin"), "n2");
        assertExact(client.getUrl(h2.url("/two.bin")), h2.docroot().resolve("two.bin"), "n2");
        assertThat(ProcessHandle.of(nginxPid)).as("h2's nginx, never restarted").isPresent();

        // A stopped node takes back its ARP answer for the service address.
        assertThat(neighProxies(h1)).as("routed to h1: no ARP answer").isBlank();
        assertThat(neighProxies(h2)).contains(h2.serviceIp());
        stop(nodes.get(1));
        assertThat(neighProxies(h2)).doesNotContain(h2.serviceIp());
    }

    private String config(Host h, Path key, String server) {
        NodeConfigWriter w = new NodeConfigWriter("n" + h.n(), key, h.docroot());
        for (Host m : List.of(h1, h2)) {
            w.member(new NodeConfigWriter.Member("n" + m.n(), m.serviceIp(), m.ownIp(), null));
        }
        w.builtinServer(server.equals("builtin")).serverNamespace(h.serverNetns());
        if (h.arp()) w.uplink(UPLINK);
        return w.adminSocket(h.adminSocket())
                .readyFile(h.dir().resolve("ready"))
                .metricsAddress(h.ownIp()) // not the service address: baton's own
                .yaml();
    }

    private static Host host(int n, String serviceIp, boolean arp) {
        return new Host(
                n, "baton-h" + n, "10.201.0.1" + n, serviceIp, arp, "baton-h" + n + "-srv", STATE.resolve("h" + n));
    }

    private String neighProxies(Host h) {
        return Commands.check(List.of("ip", "-n", h.netns(), "neigh", "show", "proxy"), Duration.ofSeconds(5))
                .stdout();
    }

    private void sweep() throws IOException {
        LanHosts.sweep(STATE, List.of(h1.serverNetns(), h2.serverNetns(), h1.netns(), h2.netns()));
    }
}
