package dev.baton.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.baton.btcp.Counter;
import dev.baton.node.NodeStats;
import dev.baton.testbed.Client;
import dev.baton.testbed.Commands;
import dev.baton.testbed.NginxConfig;
import dev.baton.testbed.ProcessResult;
import dev.baton.testbed.Testbed;
import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;

/**
 * Real hosts played by network namespaces on one LAN (a bridge) with a client, for the real-host
 * tests ({@link RealHostIT}, {@link RealHostKernelIT}): each host's namespace stands for a host's
 * root namespace, its {@code eth0} a veth on the LAN ({@link #UPLINK}), and runs
 * {@code baton node --config} as a daemon would (nsenter: the host's mount namespace).
 */
final class LanHosts {
    static final String LAN = "baton-lan";
    static final String CLIENT = "baton-hc";
    static final String UPLINK = "baton-up"; // each host's "eth0"
    static final String CLIENT_IP = "10.201.0.100";
    static final int MIB = 1 << 20;
    static final ObjectMapper JSON = new ObjectMapper();

    /**
     * One host: its namespace, own address, the service address baton serves, its server's
     * namespace (null: the server runs in the host's own); {@code arp}: the host answers ARP for
     * its service address on the LAN (else the network routes that address to the host's own).
     */
    record Host(int n, String netns, String ownIp, String serviceIp, boolean arp, String serverNetns, Path dir) {
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

    private LanHosts() {}

    /** The LAN, the client on it, each host's namespace with its uplink and own address, a cluster key. */
    static Path build(Path state, List<Host> hosts) throws IOException {
        Files.createDirectories(state);
        Path key = state.resolve("cluster.key");
        byte[] secret = new byte[32];
        new SecureRandom().nextBytes(secret);
        Files.write(key, secret);
        Files.setPosixFilePermissions(key, PosixFilePermissions.fromString("rw-------"));

        Testbed.createNetns(LAN);
        ip(LAN, "link add baton-br type bridge", "link set baton-br up");
        Testbed.createNetns(CLIENT);
        ip(
                CLIENT,
                "link add " + UPLINK + " type veth peer name baton-lc netns " + LAN,
                "addr add " + CLIENT_IP + "/24 dev " + UPLINK,
                "link set " + UPLINK + " up");
        ip(LAN, "link set baton-lc master baton-br", "link set baton-lc up");
        for (Host h : hosts) {
            Testbed.createNetns(h.netns());
            String lanEnd = "baton-l" + h.n();
            ip(
                    h.netns(),
                    "link add " + UPLINK + " type veth peer name " + lanEnd + " netns " + LAN,
                    "addr add " + h.ownIp() + "/24 dev " + UPLINK,
                    "link set " + UPLINK + " up");
            ip(LAN, "link set " + lanEnd + " master baton-br", "link set " + lanEnd + " up");
            Files.createDirectories(h.docroot());
        }
        // The veths' checksum offloads would let a wrong checksum through to the client unchecked.
        List<String> ends = new ArrayList<>(List.of(CLIENT));
        hosts.forEach(h -> ends.add(h.netns()));
        for (String ns : ends) {
            Commands.check(
                    Commands.inNetns(ns, List.of("ethtool", "-K", UPLINK, "rx", "off", "tx", "off")),
                    Duration.ofSeconds(10));
        }
        return key;
    }

    /** Starts {@code h}'s node and waits for its ready file. */
    static Process start(Host h) throws Exception {
        Files.deleteIfExists(h.dir().resolve("ready"));
        // nsenter, not ip netns exec: a daemon on a real host runs in the host's mount namespace, where
        // the server namespace it makes and the bpffs stay visible (ip netns exec would give it a private one).
        List<String> argv = new ArrayList<>(List.of("setsid", "nsenter", "--net=/run/netns/" + h.netns()));
        argv.addAll(Testbed.javaCommand());
        argv.addAll(List.of("node", "--config", h.config().toString()));
        Process p = new ProcessBuilder(argv)
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(
                        h.dir().resolve("node.log").toFile()))
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                .start();
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (!Files.exists(h.dir().resolve("ready"))) {
            assertThat(p.isAlive())
                    .as("node of " + h.netns() + " alive; log: " + log(h))
                    .isTrue();
            assertThat(System.nanoTime())
                    .as("node of " + h.netns() + " ready in 20 s; log: " + log(h))
                    .isLessThan(deadline);
            Thread.sleep(50);
        }
        return p;
    }

    /** {@code h}'s node refuses to start, exit status 1, with one line that says all of {@code says}. */
    static void assertRefused(Host h, String... says) {
        List<String> argv = new ArrayList<>(Testbed.javaCommand());
        argv.addAll(List.of("node", "--config", h.config().toString()));
        argv.addAll(0, List.of("nsenter", "--net=/run/netns/" + h.netns()));
        ProcessResult r = Commands.run(argv, Duration.ofSeconds(30));
        assertThat(r.exitCode())
                .as("exit of a refused node; stderr " + r.stderr())
                .isEqualTo(1);
        for (String s : says) assertThat(r.stderr()).contains(s);
        assertThat(r.stderr()).as("one line, no stack trace").doesNotContain("\tat ");
    }

    /** nginx serving {@code h}'s docroot on port 80 in {@code netns}; its pid. */
    static long startNginx(Host h, String netns) throws IOException {
        Path conf = h.dir().resolve("nginx.conf");
        Path pid = h.dir().resolve("nginx.pid");
        Files.createDirectories(h.dir().resolve("nginx"));
        Files.writeString(
                conf,
                "user root;\nworker_processes 1;\ndaemon on;\npid " + pid + ";\nerror_log "
                        + h.dir().resolve("nginx-error.log") + ";\nevents { worker_connections 256; }\nhttp {\n"
                        + "    access_log off;\n    sendfile on;\n"
                        + NginxConfig.tempPaths(h.dir().resolve("nginx"))
                        + "    server {\n        listen 80;\n        root " + h.docroot() + ";\n"
                        + "        add_header X-Baton-Node n" + h.n() + " always;\n    }\n}\n");
        Commands.check(Commands.inNetns(netns, List.of("nginx", "-c", conf.toString())), Duration.ofSeconds(10));
        return Long.parseLong(Files.readString(pid).strip());
    }

    /** Waits up to 20 s until {@code h} has its one peer's control link up. */
    static void awaitLinkUp(Host h) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (true) {
            List<String> up = stats(h).peersUp();
            if (up.size() == 1) return;
            assertThat(System.nanoTime())
                    .as("the control link up at " + h.netns() + ": " + up + "; log: " + log(h))
                    .isLessThan(deadline);
            Thread.sleep(100);
        }
    }

    /** {@code h}'s stats as {@code baton status --json} prints them. */
    static NodeStats stats(Host h) throws IOException {
        List<String> argv = new ArrayList<>(Testbed.javaCommand());
        argv.addAll(List.of("status", "--admin-socket", h.adminSocket().toString(), "--json"));
        return NodeStats.parse(Commands.check(argv, Duration.ofSeconds(20)).stdout());
    }

    static long counter(Host h, Counter c) throws IOException {
        return stats(h).counter(c);
    }

    /** Bytes {@code h}'s uplink has sent. */
    static long txBytes(Host h) throws IOException {
        String json = Commands.check(
                        List.of("ip", "-n", h.netns(), "-s", "-j", "link", "show", UPLINK), Duration.ofSeconds(5))
                .stdout();
        return JSON.readTree(json)
                .get(0)
                .path("stats64")
                .path("tx")
                .path("bytes")
                .asLong();
    }

    static void assertExact(Client.Response r, Path file, String servedBy) throws Exception {
        byte[] expected = Files.readAllBytes(file);
        assertThat(r.error()).as("curl error for " + r.url()).isEmpty();
        assertThat(r.status()).as("status of " + r.url()).isEqualTo(200);
        assertThat(r.bytes()).isEqualTo(expected.length);
        assertThat(r.sha256())
                .isEqualTo(HexFormat.of()
                        .formatHex(MessageDigest.getInstance("SHA-256").digest(expected)));
        assertThat(r.servedBy()).as("served by").isEqualTo(servedBy);
    }

    /** Stops the nodes and the nginx ({@code nginxPid}, may be null) a test started. */
    static void stopAll(List<Process> nodes, Long nginxPid) {
        for (Process p : nodes) stop(p);
        if (nginxPid != null) ProcessHandle.of(nginxPid).ifPresent(ProcessHandle::destroy);
    }

    /** SIGTERM (the node's shutdown hook undoes what it did to the host), SIGKILL after 10 s. */
    static void stop(Process p) {
        p.destroy();
        try {
            if (!p.waitFor(10, TimeUnit.SECONDS)) p.destroyForcibly();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    static String log(Host h) {
        try {
            return Files.readString(h.dir().resolve("node.log"));
        } catch (IOException e) {
            return "(no log)";
        }
    }

    static void write(Path file, int size, long seed) throws IOException {
        byte[] b = new byte[size];
        new Random(seed).nextBytes(b);
        Files.write(file, b);
    }

    /**
     * Removes what a test (or a crashed run of it) made: the namespaces it names and so their
     * devices and the processes' sockets (as the testbed sweeps its own), then {@code state}.
     */
    static void sweep(Path state, List<String> namespaces) throws IOException {
        List<String> present = Commands.check(List.of("ip", "netns", "list"), Duration.ofSeconds(5))
                .stdout()
                .lines()
                .map(l -> l.split(" ")[0])
                .toList();
        List<String> all = new ArrayList<>(namespaces);
        all.addAll(List.of(CLIENT, LAN));
        Testbed.sweepNamespaces(all.stream().filter(present::contains).toList());
        deleteTree(state);
    }

    static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) return;
        try (var walk = Files.walk(dir)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
        }
    }

    static void ip(String netns, String... commands) {
        for (String c : commands) {
            List<String> argv = new ArrayList<>(List.of("ip", "-n", netns));
            argv.addAll(List.of(c.split(" ")));
            Commands.check(argv, Duration.ofSeconds(10));
        }
    }
}
