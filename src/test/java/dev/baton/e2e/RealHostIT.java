package dev.baton.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.baton.testbed.Client;
import dev.baton.testbed.Commands;
import dev.baton.testbed.MachineLock;
import dev.baton.testbed.NginxConfig;
import dev.baton.testbed.ProcessResult;
import dev.baton.testbed.Testbed;
import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
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
    static final String LAN = "baton-lan";
    static final String CLIENT = "baton-hc";
    static final String UPLINK = "baton-up"; // each host's "eth0"
    static final String CLIENT_IP = "10.201.0.100";
    static final int MIB = 1 << 20;
    static final ObjectMapper JSON = new ObjectMapper();

    /**
     * One host: its namespace, own address, the service address baton serves, its server's
     * namespace; {@code arp}: the host answers ARP for its service address on the LAN (else the
     * network routes that address to the host's own).
     */
    record Host(int n, String netns, String ownIp, String serviceIp, boolean arp, String serverNetns, Path dir) {
        static Host of(int n, String serviceIp, boolean arp) {
            return new Host(n, "baton-h" + n, "10.201.0.1" + n, serviceIp, arp, "baton-h" + n + "-srv",
                    STATE.resolve("h" + n));
        }

        Path docroot() {
            return dir.resolve("www");
        }

        Path config() {
            return dir.resolve("baton.yaml");
        }

        Path adminSocket() {
            return dir.resolve("admin.sock");
        }

        String url(String path) {
            return "http://" + serviceIp + path;
        }
    }

    /** Both ways a network reaches a service address: h1's is routed to h1, h2's is on the LAN. */
    final Host h1 = Host.of(1, "10.201.1.21", false);
    final Host h2 = Host.of(2, "10.201.0.22", true);
    final List<Process> nodes = new ArrayList<>();
    Long nginxPid;
    Client client;

    @BeforeAll
    void up() throws Exception {
        EndToEnd.requireRoot();
        MachineLock.acquire(MachineLock.WAIT);
        sweep();
        Files.createDirectories(STATE);
        Path key = STATE.resolve("cluster.key");
        byte[] secret = new byte[32];
        new java.security.SecureRandom().nextBytes(secret);
        Files.write(key, secret);
        Files.setPosixFilePermissions(key, PosixFilePermissions.fromString("rw-------"));

        Testbed.createNetns(LAN);
        ip(LAN, "link add baton-br type bridge", "link set baton-br up");
        Testbed.createNetns(CLIENT);
        ip(CLIENT, "link add " + UPLINK + " type veth peer name baton-lc netns " + LAN,
                "addr add " + CLIENT_IP + "/24 dev " + UPLINK, "link set " + UPLINK + " up");
        ip(LAN, "link set baton-lc master baton-br", "link set baton-lc up");
        for (Host h : List.of(h1, h2)) {
            Testbed.createNetns(h.netns());
            String lanEnd = "baton-l" + h.n();
            ip(h.netns(), "link add " + UPLINK + " type veth peer name " + lanEnd + " netns " + LAN,
                    "addr add " + h.ownIp() + "/24 dev " + UPLINK, "link set " + UPLINK + " up");
            ip(LAN, "link set " + lanEnd + " master baton-br", "link set " + lanEnd + " up");
            // What docs/DEPLOYMENT.md asks of a host: forwarding, and loose filtering (rp_filter=2).
            Testbed.sysctl(h.netns(), "net.ipv4.ip_forward=1", "net.ipv4.conf.all.rp_filter=2");
            Files.createDirectories(h.docroot());
        }
        // h1's service address is routed to h1's own, as a router (or BGP) would do it for the LAN.
        for (String ns : List.of(CLIENT, h2.netns())) ip(ns, "route add " + h1.serviceIp() + "/32 via " + h1.ownIp());
        // The veths' checksum offloads would let a wrong checksum through to the client unchecked.
        for (String[] end : new String[][] {{CLIENT, UPLINK}, {h1.netns(), UPLINK}, {h2.netns(), UPLINK}}) {
            Commands.check(Commands.inNetns(end[0], List.of("ethtool", "-K", end[1], "rx", "off", "tx", "off")),
                    Duration.ofSeconds(10));
        }
        write(h1.docroot().resolve("one.bin"), MIB, 1);
        write(h2.docroot().resolve("two.bin"), MIB, 2);
        Files.writeString(h1.docroot().resolve("index.html"), "<h1>h1</h1>\n");
        for (Host h : List.of(h1, h2)) Files.writeString(h.config(), config(h, key, h == h1 ? "builtin" : "external"));

        client = new Client(CLIENT, STATE.resolve("client"), Duration.ofSeconds(30));
    }

    @AfterAll
    void down() throws IOException {
        try {
            for (Process p : nodes) stop(p);
            if (nginxPid != null) ProcessHandle.of(nginxPid).ifPresent(ProcessHandle::destroy);
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
        assertThat(Files.exists(Path.of("/run/netns", h1.serverNetns()))).as("nothing made by a refused start").isFalse();

        nodes.add(start(h1));
        nodes.add(start(h2));
        startNginx(h2); // in the namespace baton made for h2's server
        awaitLinkUp(h1);
        awaitLinkUp(h2);

        // The control link runs between the hosts' own addresses, not through the TUNs.
        String sockets = Commands.check(Commands.inNetns(h1.netns(), List.of("ss", "-tn", "state", "established")),
                Duration.ofSeconds(5)).stdout();
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
        assertThat(h1Sent).as("bytes h1's uplink sent (the handshake, ARP, the control messages)").isLessThan(MIB / 10);
        assertThat(counter(h1, "handoffsCompleted")).isGreaterThanOrEqualTo(1);
        assertThat(counter(h2, "handoffsAccepted")).isGreaterThanOrEqualTo(1);

        // And the other way: entered at h2, handed to h1's built-in server in its namespace.
        assertExact(client.getUrl(h2.url("/one.bin")), h1.docroot().resolve("one.bin"), "n1");
        assertThat(counter(h2, "handoffsCompleted")).isGreaterThanOrEqualTo(1);

        // The dashboard on h1's own address shows both nodes: h2's numbers asked at h2's own address.
        String view = Commands.check(Commands.inNetns(CLIENT, List.of("curl", "-sS", "--max-time", "5",
                "http://" + h1.ownIp() + ":9180/api/cluster")), Duration.ofSeconds(10)).stdout();
        JsonNode seen = JSON.readTree(view).path("nodes");
        assertThat(seen).as(view).hasSize(2);
        for (JsonNode n : seen) assertThat(n.path("reachable").asBoolean()).as(n.path("name") + " in " + view).isTrue();

        // baton on h2 dies (kill -9) and is started again (systemd's Restart=on-failure): nginx, in
        // the namespace that outlives baton, goes on with the same listener; the new TUN takes over.
        Process crashed = nodes.remove(1);
        crashed.destroyForcibly();
        assertThat(crashed.waitFor(10, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
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
        StringBuilder y = new StringBuilder();
        y.append("cluster:\n  key: ").append(key).append("\n  members:\n");
        for (Host m : List.of(h1, h2)) {
            y.append("    - name: n").append(m.n()).append('\n');
            y.append("      address: ").append(m.serviceIp()).append('\n');
            y.append("      controlAddress: ").append(m.ownIp()).append('\n');
        }
        y.append("node:\n");
        y.append("  name: n").append(h.n()).append('\n');
        y.append("  docroot: ").append(h.docroot()).append('\n');
        y.append("  server: ").append(server).append('\n');
        y.append("  serverNamespace: ").append(h.serverNetns()).append('\n');
        if (h.arp()) y.append("  uplink: ").append(UPLINK).append('\n');
        y.append("  adminSocket: ").append(h.adminSocket()).append('\n');
        y.append("  readyFile: ").append(h.dir().resolve("ready")).append('\n');
        y.append("  metricsAddress: ").append(h.ownIp()).append('\n'); // not the service address: baton's own
        return y.toString();
    }

    private Process start(Host h) throws Exception {
        Files.deleteIfExists(h.dir().resolve("ready"));
        // nsenter, not ip netns exec: a daemon on a real host runs in the host's mount namespace, where
        // the server namespace it makes stays visible (ip netns exec would give it a private one).
        List<String> argv = new ArrayList<>(List.of("setsid", "nsenter", "--net=/run/netns/" + h.netns()));
        argv.addAll(Testbed.javaCommand());
        argv.addAll(List.of("node", "--config", h.config().toString()));
        Process p = new ProcessBuilder(argv).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(h.dir().resolve("node.log").toFile()))
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))).start();
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (!Files.exists(h.dir().resolve("ready"))) {
            assertThat(p.isAlive()).as("node of " + h.netns() + " alive; log: " + log(h)).isTrue();
            assertThat(System.nanoTime()).as("node of " + h.netns() + " ready in 20 s; log: " + log(h))
                    .isLessThan(deadline);
            Thread.sleep(50);
        }
        return p;
    }

    private void assertRefused(Host h, String... says) throws Exception {
        List<String> argv = new ArrayList<>(Testbed.javaCommand());
        argv.addAll(List.of("node", "--config", h.config().toString()));
        argv.addAll(0, List.of("nsenter", "--net=/run/netns/" + h.netns()));
        ProcessResult r = Commands.run(argv, Duration.ofSeconds(30));
        assertThat(r.exitCode()).as("exit of a refused node; stderr " + r.stderr()).isEqualTo(1);
        for (String s : says) assertThat(r.stderr()).contains(s);
        assertThat(r.stderr()).as("one line, no stack trace").doesNotContain("\tat ");
    }

    private void startNginx(Host h) throws IOException {
        Path conf = h.dir().resolve("nginx.conf");
        Path pid = h.dir().resolve("nginx.pid");
        Files.createDirectories(h.dir().resolve("nginx"));
        Files.writeString(conf, "user root;\nworker_processes 1;\ndaemon on;\npid " + pid + ";\nerror_log "
                + h.dir().resolve("nginx-error.log") + ";\nevents { worker_connections 256; }\nhttp {\n"
                + "    access_log off;\n    sendfile on;\n" + NginxConfig.tempPaths(h.dir().resolve("nginx"))
                + "    server {\n        listen 80;\n        root " + h.docroot() + ";\n"
                + "        add_header X-Baton-Node n" + h.n() + " always;\n    }\n}\n");
        Commands.check(Commands.inNetns(h.serverNetns(), List.of("nginx", "-c", conf.toString())), Duration.ofSeconds(10));
        nginxPid = Long.parseLong(Files.readString(pid).strip());
    }

    private void awaitLinkUp(Host h) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (true) {
            JsonNode up = stats(h).path("peersUp");
            if (up.size() == 1) return;
            assertThat(System.nanoTime()).as("the control link up at " + h.netns() + ": " + up + "; log: " + log(h))
                    .isLessThan(deadline);
            Thread.sleep(100);
        }
    }

    private JsonNode stats(Host h) throws IOException {
        List<String> argv = new ArrayList<>(Testbed.javaCommand());
        argv.addAll(List.of("status", "--admin-socket", h.adminSocket().toString(), "--json"));
        return JSON.readTree(Commands.check(argv, Duration.ofSeconds(20)).stdout());
    }

    private long counter(Host h, String name) throws IOException {
        return stats(h).path("counters").path(name).asLong(-1);
    }

    private static long txBytes(Host h) throws IOException {
        String json = Commands.check(List.of("ip", "-n", h.netns(), "-s", "-j", "link", "show", UPLINK),
                Duration.ofSeconds(5)).stdout();
        return JSON.readTree(json).get(0).path("stats64").path("tx").path("bytes").asLong();
    }

    private static String neighProxies(Host h) {
        return Commands.check(List.of("ip", "-n", h.netns(), "neigh", "show", "proxy"), Duration.ofSeconds(5)).stdout();
    }

    private static void assertExact(Client.Response r, Path file, String servedBy) throws Exception {
        byte[] expected = Files.readAllBytes(file);
        assertThat(r.error()).as("curl error for " + r.url()).isEmpty();
        assertThat(r.status()).as("status of " + r.url()).isEqualTo(200);
        assertThat(r.bytes()).isEqualTo(expected.length);
        assertThat(r.sha256()).isEqualTo(HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(expected)));
        assertThat(r.servedBy()).as("served by").isEqualTo(servedBy);
    }

    private static void stop(Process p) {
        p.destroy(); // SIGTERM: the node's shutdown hook undoes what it did to the host
        try {
            if (!p.waitFor(10, java.util.concurrent.TimeUnit.SECONDS)) p.destroyForcibly();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static String log(Host h) {
        try {
            return Files.readString(h.dir().resolve("node.log"));
        } catch (IOException e) {
            return "(no log)";
        }
    }

    private static void write(Path file, int size, long seed) throws IOException {
        byte[] b = new byte[size];
        new Random(seed).nextBytes(b);
        Files.write(file, b);
    }

    /**
     * Removes what this test (or a crashed run of it) made: the nodes and nginx in its namespaces,
     * the namespaces and so their devices (as the testbed sweeps its own), its state.
     */
    private void sweep() throws IOException {
        List<String> present = Commands.check(List.of("ip", "netns", "list"), Duration.ofSeconds(5)).stdout().lines()
                .map(l -> l.split(" ")[0]).toList();
        Testbed.sweepNamespaces(List.of(h1.serverNetns(), h2.serverNetns(), h1.netns(), h2.netns(), CLIENT, LAN)
                .stream().filter(present::contains).toList());
        if (Files.exists(STATE)) {
            try (var walk = Files.walk(STATE)) {
                for (Path p : walk.sorted(java.util.Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
            }
        }
    }

    private static void ip(String netns, String... commands) {
        for (String c : commands) {
            List<String> argv = new ArrayList<>(List.of("ip", "-n", netns));
            argv.addAll(List.of(c.split(" ")));
            Commands.check(argv, Duration.ofSeconds(10));
        }
    }
}
