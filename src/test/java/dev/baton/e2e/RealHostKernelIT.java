package dev.baton.e2e;

import static dev.baton.e2e.LanHosts.CLIENT;
import static dev.baton.e2e.LanHosts.MIB;
import static dev.baton.e2e.LanHosts.UPLINK;
import static dev.baton.e2e.LanHosts.assertExact;
import static dev.baton.e2e.LanHosts.assertRefused;
import static dev.baton.e2e.LanHosts.awaitLinkUp;
import static dev.baton.e2e.LanHosts.counter;
import static dev.baton.e2e.LanHosts.start;
import static dev.baton.e2e.LanHosts.startNginx;
import static dev.baton.e2e.LanHosts.stats;
import static dev.baton.e2e.LanHosts.stop;
import static dev.baton.e2e.LanHosts.txBytes;
import static dev.baton.e2e.LanHosts.write;
import static org.assertj.core.api.Assertions.assertThat;

import dev.baton.btcp.Counter;
import dev.baton.config.NodeConfigWriter;
import dev.baton.datapath.DatapathCounter;
import dev.baton.e2e.LanHosts.Host;
import dev.baton.node.NodeStats;
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
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The real-host layout of the in-kernel data path (docs/DEPLOYMENT.md, "On a real host, in the
 * kernel"), on two hosts played by network namespaces on one LAN with a client ({@link LanHosts}):
 * each host's address is on its own {@code eth0} and is the service address, its web server runs
 * in the host's namespace as it would without baton (h1 the built-in server, h2 nginx, started
 * before baton), and baton attaches its programs to that {@code eth0}. The host is prepared as a
 * stock Ubuntu one is: loose reverse-path filtering (rp_filter=2), forwarding off.
 *
 * <p>Checked: a host that filters strictly is refused with the fix in one line; h2's nginx serves
 * before baton starts, and a transfer it began then ends byte-exact after baton attached; a handed-off 8 MiB response goes from h2's uplink straight to the client
 * (h1's uplink sends a small fraction of it), and the other way, translated by the programs;
 * baton makes no namespace; a stopped node leaves no program on the uplink, a transfer under way
 * when it stopped ends byte-exact, and its host goes on serving its own content with no part of
 * baton in the path.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class RealHostKernelIT {
    static final Path STATE = Path.of("/run/baton-hosts-kernel");
    static final Path PINS = Path.of("/sys/fs/bpf/baton-hosts");

    final Host h1 = host(1);
    final Host h2 = host(2);
    final List<Process> nodes = new ArrayList<>();
    Long nginxPid;
    Client client;

    @BeforeAll
    void up() throws Exception {
        EndToEnd.requireRoot();
        MachineLock.acquire(MachineLock.WAIT);
        sweep();
        Testbed.mountBpfFs();
        Path key = LanHosts.build(STATE, List.of(h1, h2));
        for (Host h : List.of(h1, h2))
            Testbed.sysctl(h.netns(), "net.ipv4.conf.all.rp_filter=2", "net.ipv4.ip_forward=0");
        write(h1.docroot().resolve("one.bin"), MIB, 1);
        write(h2.docroot().resolve("two.bin"), 8 * MIB, 2); // long enough to be handed down
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
    void twoHostsHandOffOnTheirOwnUplinksWithTheServersInTheHosts() throws Exception {
        Testbed.sysctl(h1.netns(), "net.ipv4.conf.all.rp_filter=1");
        assertRefused(h1, "rp_filter is 1 (strict)", "rp_filter=2");
        Testbed.sysctl(h1.netns(), "net.ipv4.conf.all.rp_filter=2");
        assertThat(tcFilters(h1)).as("nothing attached by a refused start").isBlank();

        // The host serves without baton: nginx in h2's own namespace, on its own address.
        nginxPid = startNginx(h2, h2.netns());
        assertExact(client.getUrl(h2.url("/two.bin")), h2.docroot().resolve("two.bin"), "n2");

        // A connection the host's server has before baton starts goes on once baton attaches: its
        // packets are no flow of baton's, which passes them as they are (8 MiB at 1 MiB/s, 8 s).
        SlowClient before = SlowClient.start(CLIENT, STATE.resolve("client"), h2.serviceIp(), "/two.bin", "1M");
        awaitReading(before);
        nodes.add(start(h1));
        nodes.add(start(h2));
        awaitLinkUp(h1);
        awaitLinkUp(h2);
        assertThat(before.exited()).as("still under way when baton was up").isNotDone();
        before.assertExact(h2.docroot().resolve("two.bin"));
        assertThat(tcFilters(h1)).as("h1's programs on its uplink").contains("uplink_ingress");

        assertExact(client.getUrl(h1.url("/one.bin")), h1.docroot().resolve("one.bin"), "n1");

        // Handed off from h1 to h2's nginx; the response leaves h2's uplink straight to the client.
        long h1Before = txBytes(h1);
        long h2Before = txBytes(h2);
        assertExact(client.getUrl(h1.url("/two.bin")), h2.docroot().resolve("two.bin"), "n2");
        long h1Sent = txBytes(h1) - h1Before;
        long h2Sent = txBytes(h2) - h2Before;
        assertThat(h2Sent).as("bytes h2's uplink sent").isGreaterThan(8 * MIB);
        assertThat(h1Sent)
                .as("bytes h1's uplink sent (the client's ACKs forwarded, the control messages)")
                .isLessThan(8 * MIB / 10);
        assertThat(counter(h1, Counter.HANDOFFS_COMPLETED)).isGreaterThanOrEqualTo(1);
        assertThat(counter(h2, Counter.HANDOFFS_ACCEPTED)).isGreaterThanOrEqualTo(1);
        assertThat(datapathCounter(h2, DatapathCounter.TO_CLIENT_BYTES))
                .as("bytes h2's programs translated for h1")
                .isGreaterThan(4 * MIB);
        assertThat(datapathCounter(h1, DatapathCounter.TO_CHOSEN))
                .as("client packets h1's programs forwarded to h2")
                .isPositive();

        // And the other way: entered at h2, handed to h1's built-in server.
        assertExact(client.getUrl(h2.url("/one.bin")), h1.docroot().resolve("one.bin"), "n1");

        List<String> namespaces = Commands.check(List.of("ip", "netns", "list"), Duration.ofSeconds(5))
                .stdout()
                .lines()
                .map(l -> l.split(" ")[0])
                .filter(n -> n.startsWith("baton-h"))
                .sorted()
                .toList();
        assertThat(namespaces).as("baton made no namespace").containsExactly("baton-h1", "baton-h2", "baton-hc");

        // Stopped, baton leaves the host as it found it: no program on the uplink, nginx serving, and
        // a connection its programs carried (local, handed down) goes on without them.
        SlowClient during = SlowClient.start(CLIENT, STATE.resolve("client"), h2.serviceIp(), "/two.bin", "1M");
        awaitReading(during);
        stop(nodes.remove(1));
        assertThat(during.exited()).as("still under way when baton stopped").isNotDone();
        during.assertExact(h2.docroot().resolve("two.bin"));
        assertThat(tcFilters(h2)).as("h2's programs detached").isBlank();
        assertExact(client.getUrl(h2.url("/two.bin")), h2.docroot().resolve("two.bin"), "n2");
        assertThat(ProcessHandle.of(nginxPid)).as("h2's nginx, never restarted").isPresent();
    }

    /** Until the slow client's body has its first bytes (the connection is established and serving). */
    private static void awaitReading(SlowClient s) throws Exception {
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (Files.size(s.body()) < 64 * 1024) {
            assertThat(s.exited()).as("slow_get ended before it read").isNotDone();
            assertThat(System.nanoTime()).as("slow_get reading within 10 s").isLessThan(deadline);
            Thread.sleep(20);
        }
    }

    private static Host host(int n) {
        String ip = "10.201.0.2" + n; // the host's own address is its service address
        return new Host(n, "baton-h" + n, ip, ip, false, null, STATE.resolve("h" + n));
    }

    private String config(Host h, Path key, String server) {
        NodeConfigWriter w = new NodeConfigWriter("n" + h.n(), key, h.docroot());
        for (Host m : List.of(h1, h2)) w.member("n" + m.n(), m.serviceIp());
        return w.builtinServer(server.equals("builtin"))
                .adminSocket(h.adminSocket())
                .readyFile(h.dir().resolve("ready"))
                .datapath(UPLINK, PINS.resolve("n" + h.n()))
                .yaml();
    }

    private static String tcFilters(Host h) {
        return Commands.check(
                        List.of("tc", "-n", h.netns(), "filter", "show", "dev", UPLINK, "ingress"),
                        Duration.ofSeconds(5))
                .stdout()
                .strip();
    }

    private static long datapathCounter(Host h, DatapathCounter c) throws IOException {
        NodeStats s = stats(h);
        assertThat(s.datapath()).as("datapath stats of " + h.netns()).isNotNull();
        return s.datapathCounter(c);
    }

    private void sweep() throws IOException {
        LanHosts.sweep(STATE, List.of(h1.netns(), h2.netns()));
        LanHosts.deleteTree(PINS);
    }
}
