package dev.baton.e2e;

import static dev.baton.e2e.EndToEnd.assertExact;
import static dev.baton.e2e.EndToEnd.counter;
import static org.assertj.core.api.Assertions.assertThat;

import dev.baton.btcp.Counter;
import dev.baton.datapath.DatapathCounter;
import dev.baton.node.NodeStats;
import dev.baton.testbed.Client;
import dev.baton.testbed.NetCounters;
import dev.baton.testbed.NodeInfo;
import dev.baton.testbed.Spec;
import dev.baton.testbed.Testbed;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * The whole scheme (run once per web server by the subclasses) between real, unmodified kernels: three nodes with the built-in server, a real
 * curl client whose veth verifies checksums (receive offload off), sample content partitioned and
 * partly replicated. Each test checks who served what and that every byte is right; the last one
 * checks that no client or node TCP counter of a translation mistake moved during the run.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class HandoffScenarios {
    static final Path STATE = Path.of("/run/baton-testbed-e2e");
    Testbed bed;
    Client client;
    Map<String, NetCounters> before;

    /** The web server every node runs. */
    abstract Spec.Server server();

    /** How the nodes' packets meet their engines: as the environment says, unless a subclass says. */
    Spec.DataPath dataPath() {
        return Spec.DataPath.fromEnvironment();
    }

    /** Uploads {@code body} through {@code entry} to a path held by n2 and proves n2's server got it all. */
    abstract void uploadThroughHandoff(NodeInfo entry, byte[] body) throws Exception;

    /** Paths held by exactly one node: n1, n2, n3. */
    static final List<List<String>> ONLY = List.of(
            List.of("/index.html", "/img/logo.png", "/docs/guide.html"),
            List.of("/data/1k.bin", "/empty.txt", "/video/big.bin"),
            List.of("/api/data.json", "/img/photo.jpg", "/docs/a b%.txt"));

    @BeforeAll
    void up() {
        EndToEnd.requireRoot();
        bed = Testbed.up(Spec.defaults()
                .withNodes(3)
                .withServer(server())
                .withStateDir(STATE)
                .withDataPath(dataPath()));
        client = EndToEnd.client(bed);
        before = EndToEnd.troubleCounters(bed);
    }

    @AfterAll
    void down() {
        if (bed != null) bed.down();
    }

    NodeInfo node(int n) {
        return bed.node(n);
    }

    @Test
    @Order(1)
    void servesLocallyWhenTheEntryHoldsThePath() {
        long local = counter(bed, "n1", Counter.SERVED_LOCALLY);
        Client.Response r = client.get(node(1), "/index.html");
        assertExact(bed, r, "/index.html");
        assertThat(r.servedBy()).isEqualTo("n1");
        assertThat(r.via()).isEmpty();
        assertThat(counter(bed, "n1", Counter.SERVED_LOCALLY)).isEqualTo(local + 1);
    }

    @Test
    @Order(2)
    void handsOffToEachOtherNode() {
        for (int entry = 1; entry <= 3; entry++) {
            for (int holder = 1; holder <= 3; holder++) {
                if (holder == entry) continue;
                long sent = counter(bed, "n" + entry, Counter.HANDOFFS_SENT);
                long accepted = counter(bed, "n" + holder, Counter.HANDOFFS_ACCEPTED);
                String path = ONLY.get(holder - 1).get(0);
                Client.Response r = client.get(node(entry), path);
                assertExact(bed, r, path);
                assertThat(r.servedBy()).as(path + " entering n" + entry).isEqualTo("n" + holder);
                assertThat(r.via()).as("a handoff, not back-end forwarding").isEmpty();
                assertThat(counter(bed, "n" + entry, Counter.HANDOFFS_SENT)).isEqualTo(sent + 1);
                assertThat(counter(bed, "n" + holder, Counter.HANDOFFS_ACCEPTED))
                        .isEqualTo(accepted + 1);
            }
        }
    }

    @Test
    @Order(3)
    void handsOffA33MiBFileByteExact() {
        long before = counter(bed, "n2", Counter.BYTES_SENT_FOR_OTHERS);
        for (int entry : new int[] {1, 3}) {
            Client.Response r = client.get(node(entry), "/video/big.bin");
            assertExact(bed, r, "/video/big.bin");
            assertThat(r.servedBy()).isEqualTo("n2");
        }
        assertThat(counter(bed, "n2", Counter.BYTES_SENT_FOR_OTHERS) - before)
                .isGreaterThanOrEqualTo(2 * 33L * 1024 * 1024);
    }

    @Test
    @Order(4)
    void servesAReplicatedFileFromAnyHolder() {
        assertThat(client.get(node(2), "/shared/rep.bin").servedBy()).isEqualTo("n2");
        assertThat(client.get(node(3), "/shared/rep.bin").servedBy()).isEqualTo("n3");
        Client.Response r = client.get(node(1), "/shared/rep.bin");
        assertExact(bed, r, "/shared/rep.bin");
        assertThat(r.servedBy()).isIn("n2", "n3");
        assertThat(r.via()).isEmpty();
    }

    @Test
    @Order(5)
    void handsOffAZeroByteFile() {
        Client.Response r = client.get(node(3), "/empty.txt");
        assertExact(bed, r, "/empty.txt");
        assertThat(r.servedBy()).isEqualTo("n2");
    }

    @Test
    @Order(6)
    void routesPercentEncodedPathsAndIgnoresQueries() {
        Client.Response r = client.get(node(1), "/docs/a b%.txt");
        assertExact(bed, r, "/docs/a b%.txt");
        assertThat(r.servedBy()).isEqualTo("n3");
        Client.Response q = client.getUrl(node(2).baseUrl() + "/api/%64ata.json?x=1&y=%2F");
        assertThat(q.status()).isEqualTo(200);
        assertThat(q.sha256()).isEqualTo(EndToEnd.entry(bed, "/api/data.json").sha256());
        assertThat(q.servedBy()).isEqualTo("n3");
    }

    @Test
    @Order(7)
    void handsOffARequestWrittenOneByteAtATime() throws Exception {
        Path script = LoadTools.script(bed, "split-client.py");
        String out = EndToEnd.splitRequest(bed, script, node(1).ip(), "/data/1k.bin");
        var e = EndToEnd.entry(bed, "/data/1k.bin");
        // status, served by, via, bytes, sha256
        assertThat(out.split(" ", -1)).containsExactly("200", "n2", "", Long.toString(e.bytes()), e.sha256());
    }

    @Test
    @Order(8)
    void answersEveryRequestOfAKeepAliveConnectionWhereverItsContentLives() {
        List<String> paths = List.of(
                "/data/1k.bin", "/index.html", "/api/data.json", "/empty.txt", "/img/photo.jpg", "/shared/site.css");
        List<Client.Response> rs = client.getKeepAlive(node(1), paths);
        assertThat(rs).hasSize(paths.size());
        for (int i = 0; i < paths.size(); i++) assertExact(bed, rs.get(i), paths.get(i));
        assertThat(rs.stream().mapToInt(Client.Response::newConnections).sum())
                .as("one connection for all")
                .isEqualTo(1);
        // The first request decided the handoff to n2; later ones were fetched by n2 from their holders.
        assertThat(rs.get(0).servedBy()).isEqualTo("n2");
        assertThat(rs.get(1).servedBy()).isEqualTo("n1");
        assertThat(rs.get(1).via()).isEqualTo("n2");
        assertThat(rs.get(2).via()).isEqualTo("n2");
    }

    @Test
    @Order(9)
    void serves200ConcurrentConnectionsSpreadOverEntryNodesByteExact() {
        List<String> all = bed.content().entries().stream()
                .map(e -> e.path())
                .filter(p -> !p.equals("/video/big.bin"))
                .toList();
        Random random = new Random(7);
        List<CompletableFuture<List<Client.Response>>> runs = new ArrayList<>();
        List<List<String>> asked = new ArrayList<>();
        for (int n = 1; n <= 3; n++) {
            int count = n == 3 ? 66 : 67;
            List<String> paths = IntStream.range(0, count)
                    .mapToObj(i -> all.get(random.nextInt(all.size())))
                    .toList();
            asked.add(paths);
            NodeInfo entry = node(n);
            runs.add(CompletableFuture.supplyAsync(() -> client.getParallel(entry, paths, paths.size())));
        }
        int total = 0;
        for (int n = 0; n < 3; n++) {
            List<Client.Response> rs = runs.get(n).join();
            for (int i = 0; i < rs.size(); i++)
                assertExact(bed, rs.get(i), asked.get(n).get(i));
            total += rs.size();
        }
        assertThat(total).isEqualTo(200);
    }

    @Test
    @Order(10)
    void carriesA2MiBUploadOnAHandedOffConnection() throws Exception {
        byte[] body = new byte[2 * 1024 * 1024 + 17];
        new Random(11).nextBytes(body);
        uploadThroughHandoff(node(1), body);
    }

    @Test
    @Order(11)
    void keepsTwoConnectionsFromOneClientPortApart() throws Exception {
        // A client behind NAT may use one source port toward two nodes at once. n1 hands its
        // connection to n2, where it lives on n1's shadow address; the direct one to n2 does not clash.
        Path script = LoadTools.script(bed, "same-port.py");
        var r = bed.exec(
                bed.client().netns(),
                List.of("python3", script.toString(), node(1).ip(), node(2).ip(), "/data/1k.bin"),
                Duration.ofSeconds(60));
        assertThat(r.exitCode()).as(r.stderr()).isZero();
        String sha = EndToEnd.entry(bed, "/data/1k.bin").sha256();
        // via n1 (handed off), direct to n2, via n1 again on the same kept-alive connection
        assertThat(r.stdout().strip().split("\n")).containsExactly("200 n2 " + sha, "200 n2 " + sha, "200 n2 " + sha);
    }

    /**
     * The data path did what it is for. In the kernel: the programs' counters show they carried the
     * bulk of every role, and user space only the handful of packets per connection it must see. On
     * the TUN path: no programs, and the engines themselves sent the handed-off bytes.
     */
    @Test
    @Order(99)
    void theDataPathCarriedTheBulk() {
        long toChosen = 0, toClient = 0, toClientBytes = 0, localOut = 0, sentForOthers = 0;
        for (NodeStats n : bed.stats().nodes()) {
            NodeStats.DatapathStats d = n.datapath();
            assertThat(d != null)
                    .as("datapath stats of " + n.node() + " on the " + dataPath() + " path")
                    .isEqualTo(dataPath() == Spec.DataPath.KERNEL);
            toChosen += n.datapathCounter(DatapathCounter.TO_CHOSEN);
            toClient += n.datapathCounter(DatapathCounter.TO_CLIENT);
            toClientBytes += n.datapathCounter(DatapathCounter.TO_CLIENT_BYTES);
            localOut += n.datapathCounter(DatapathCounter.LOCAL_OUT);
            for (String program : List.of("uplink_ingress", "uplink_egress", "wire_ingress")) {
                assertThat(d != null && d.programs().containsKey(program))
                        .as("the kernel's statistics of " + program)
                        .isEqualTo(dataPath() == Spec.DataPath.KERNEL);
            }
            sentForOthers += n.counter(Counter.BYTES_SENT_FOR_OTHERS);
        }
        // the 33 MiB file handed off twice alone
        assertThat(sentForOthers).as("bytes the chosen nodes sent for others").isGreaterThan((2 * 33L) << 20);
        if (dataPath() == Spec.DataPath.TUN) return;
        assertThat(toChosen)
                .as("client packets an entry forwarded in the kernel")
                .isPositive();
        assertThat(toClient)
                .as("packets a chosen node sent the client in the kernel")
                .isPositive();
        assertThat(localOut)
                .as("packets of local connections passed in the kernel")
                .isPositive();
        assertThat(toClientBytes)
                .as("payload bytes sent for other nodes in the kernel")
                .isGreaterThan(33L << 20);
        assertThat(sentForOthers)
                .as("the engine's counter includes the kernel's")
                .isGreaterThanOrEqualTo(toClientBytes);
        // what the chosen nodes' engines still sent for others (handshakes, closes) is a sliver
        assertThat(toClientBytes)
                .as("share of the bytes sent for others that the kernel translated")
                .isGreaterThan(sentForOthers * 95 / 100);
    }

    @Test
    @Order(100)
    void movedNoClientOrNodeCounterOfABadRewrite() {
        EndToEnd.assertNoTrouble(bed, before);
    }
}
