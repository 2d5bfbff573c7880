package dev.baton.e2e;

import static dev.baton.e2e.EndToEnd.assertExact;
import static org.assertj.core.api.Assertions.assertThat;

import dev.baton.btcp.Counter;
import dev.baton.btcp.Drop;
import dev.baton.datapath.DatapathCounter;
import dev.baton.node.NodeStats;
import dev.baton.testbed.Client;
import dev.baton.testbed.Names;
import dev.baton.testbed.NetCounters;
import dev.baton.testbed.NodeInfo;
import dev.baton.testbed.Spec;
import dev.baton.testbed.Testbed;
import dev.baton.testbed.TestbedStats;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * A SYN flood from spoofed addresses at every node, half of it at n1, from a Python raw socket in
 * the client's namespace at {@link #FLOOD_RATE} SYNs a second (replies go into a blackhole route on
 * the router). While it
 * runs, a real curl client is still served byte-exact, locally and through handoffs; the kernels
 * answer the flood with SYN cookies and the handoff still works with cookies on both ends; no node's
 * connection table fills (half-open entries take at most half of it, the oldest evicted first), node
 * memory stays bounded, and every half-open entry is gone once the SYN timeout has passed.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class FloodIT {
    static final Path STATE = Path.of("/run/baton-testbed-flood");
    /** The node's table ({@code Btcp.Config.defaults}) and the half of it half-open entries may take. */
    static final int TABLE = 65_536;

    static final int MAX_HALF_OPEN = TABLE / 2;
    /** The issue asks for at least this many SYNs. */
    static final int MIN_SYNS = 50_000;

    static final int FLOOD_SECONDS = 10;
    /**
     * SYNs per second: 150,000 in the flood, three times the count, at a rate this two-CPU
     * machine's three nodes, nginx and the flood's own sender can share. Unbounded, the sender made
     * 28,000-38,000 a second here and a node's packet loop fell behind: on the TUN path its control
     * link's packets were dropped with the flood's in the TUN's queue, the link was declared dead
     * and a committed handoff was abandoned (a probe reset, CI runs 2 of 3); on the in-kernel data
     * path the real SYNs queued with the flood's (median 3.6 s). README, "Not supported".
     */
    static final int FLOOD_RATE = 15_000;
    /** {@code Btcp.Config.defaults} SYN timeout: a half-open entry is forgotten after it. */
    static final Duration SYN_TIMEOUT = Duration.ofSeconds(30);
    /** How much a node's resident memory may grow through the flood. */
    static final long RSS_GROWTH_BOUND_KIB = 128 * 1024;
    /** Where the spoofed sources live (syn_flood.py); the router drops replies to them. */
    static final String SPOOFED_NET = "10.200.64.0/18";

    Testbed bed;
    Client client;

    @BeforeAll
    void up() {
        EndToEnd.requireRoot();
        bed = Testbed.up(Spec.defaults().withNodes(3).withStateDir(STATE));
        client = new Client(bed.client().netns(), bed.stateDir().resolve("client"), Duration.ofSeconds(20));
        var r = bed.exec(
                Names.ROUTER_NETNS, List.of("ip", "route", "add", "blackhole", SPOOFED_NET), Duration.ofSeconds(5));
        assertThat(r.exitCode()).as(r.stderr()).isZero();
    }

    @AfterAll
    void down() {
        if (bed != null) bed.down();
    }

    /** A request to an entry node and the node expected to serve it. */
    record Probe(int entry, String path, String server) {}

    /** n1 serves /index.html itself; the other three are handed off, the last two to and from n1. */
    static final List<Probe> PROBES = List.of(
            new Probe(1, "/index.html", "n1"),
            new Probe(1, "/data/1k.bin", "n2"),
            new Probe(2, "/api/data.json", "n3"),
            new Probe(3, "/docs/guide.html", "n1"));

    /**
     * Runs every probe once; asserts each byte-exact and served by the right node. A request to be
     * handed off that was served by its entry instead (relayed from the holder: {@code X-Baton-Via})
     * goes to {@code relayed} if given, else fails; one handed off is counted in {@code handoffs}.
     */
    List<Client.Response> probe(Map<Integer, Integer> handoffs, List<Client.Response> relayed) {
        List<Client.Response> out = new ArrayList<>();
        for (Probe p : PROBES) {
            Client.Response r = client.get(bed.node(p.entry()), p.path());
            assertExact(bed, r, p.path());
            assertThat(r.servedBy()).as("server of " + p).isEqualTo(p.server());
            if (!r.via().isEmpty()) {
                assertThat(relayed)
                        .as("handed off, not relayed: " + p + " " + r.time() + "; entry stats "
                                + bed.stats().node("n" + p.entry()))
                        .isNotNull();
                relayed.add(r);
            } else if (!p.server().equals("n" + p.entry())) {
                handoffs.merge(p.entry(), 1, Integer::sum);
            }
            out.add(r);
        }
        return out;
    }

    @Test
    void servesRealClientsByteExactThroughASynFloodWithBoundedMemory() throws Exception {
        List<Client.Response> warm = new ArrayList<>();
        for (int i = 0; i < 3; i++) warm.addAll(probe(new HashMap<>(), null));
        Map<Integer, Integer> handoffs = new HashMap<>(); // handoffs asked of each entry during the flood
        var trouble = EndToEnd.troubleCounters(bed);
        TestbedStats before = bed.stats();
        Map<String, NetCounters> kernelBefore = new HashMap<>();
        long[] rssBefore = new long[3];
        for (NodeInfo n : bed.nodes()) {
            kernelBefore.put(n.name(), NetCounters.read(n.netns()));
            rssBefore[n.number() - 1] = LoadTools.rssKib(LoadTools.nodePid(bed, n));
        }

        List<Client.Response> during = new ArrayList<>();
        List<Client.Response> relayed = new ArrayList<>();
        String floodOut;
        Duration drained;
        try (var sampler = new LoadTools.Sampler(bed, 200);
                var flood = new LoadTools.Background(
                        bed,
                        bed.stateDir().resolve("client/flood.out"),
                        List.of(
                                "python3",
                                LoadTools.script(bed, "syn_flood.py").toString(),
                                String.join(
                                        ",",
                                        bed.node(1).ip(),
                                        bed.node(1).ip(),
                                        bed.node(2).ip(),
                                        bed.node(3).ip()),
                                Integer.toString(FLOOD_SECONDS),
                                "10000000",
                                Integer.toString(FLOOD_RATE)))) {
            Thread.sleep(2_000); // the flood is under way
            while (flood.alive()) during.addAll(probe(handoffs, relayed));
            floodOut = flood.await(Duration.ofSeconds(FLOOD_SECONDS + 20));

            // Every half-open entry goes within the SYN timeout of the last SYN.
            drained = LoadTools.await(SYN_TIMEOUT.plusSeconds(10), () -> {
                TestbedStats s = bed.stats();
                for (NodeInfo n : bed.nodes()) {
                    if (s.node(n.name()).halfOpenConnections() != 0) return false;
                }
                return true;
            });
            System.out.printf(
                    "FloodIT: flood %s; during the flood %s; half-open gone %s after the flood's end%n",
                    floodOut.strip(),
                    sampler.summary(),
                    drained == null ? "never" : (drained.toMillis() / 1000.0) + " s");
            assertThat(drained)
                    .as("half-open entries freed within the SYN timeout")
                    .isNotNull();
            assertThat(sampler.failures)
                    .as("every stats query answered during the flood")
                    .isZero();
            TestbedStats after = bed.stats();
            long seen = 0;
            for (NodeInfo n : bed.nodes()) {
                int i = n.number() - 1;
                NodeStats b = before.node(n.name());
                NodeStats a = after.node(n.name());
                long nodeSeen = a.counter(Counter.CONNECTIONS_SEEN) - b.counter(Counter.CONNECTIONS_SEEN);
                long evicted = a.counter(Counter.HALF_OPEN_EVICTED) - b.counter(Counter.HALF_OPEN_EVICTED);
                NetCounters k = NetCounters.read(n.netns()).minus(kernelBefore.get(n.name()));
                long rssAfter = LoadTools.rssKib(LoadTools.nodePid(bed, n));
                System.out.printf(
                        "FloodIT: %s saw %d SYNs, evicted %d half-open, tableFull %d, badChecksum %d;"
                                + " kernel SyncookiesSent %d SyncookiesRecv %d ListenDrops %d; RSS %d -> max %d -> %d MiB%n",
                        n.name(),
                        nodeSeen,
                        evicted,
                        a.drops().get(Drop.TABLE_FULL),
                        a.drops().get(Drop.BAD_CHECKSUM),
                        k.get("TcpExt.SyncookiesSent"),
                        k.get("TcpExt.SyncookiesRecv"),
                        k.get("TcpExt.ListenDrops"),
                        rssBefore[i] / 1024,
                        sampler.maxRssKib[i] / 1024,
                        rssAfter / 1024);
                seen += nodeSeen;
                assertThat(a.drops().get(Drop.TABLE_FULL))
                        .as(n.name() + ": the flood never filled the table")
                        .isEqualTo(b.drops().get(Drop.TABLE_FULL));
                assertThat(a.drops().get(Drop.BAD_CHECKSUM))
                        .as(n.name() + ": the flood's SYNs were valid")
                        .isEqualTo(b.drops().get(Drop.BAD_CHECKSUM));
                assertThat(sampler.maxTracked[i]).as(n.name() + " table peak").isLessThanOrEqualTo(TABLE);
                assertThat(sampler.maxHalfOpen[i])
                        .as(n.name() + " half-open peak")
                        .isLessThanOrEqualTo(MAX_HALF_OPEN);
                assertThat(k.get("TcpExt.SyncookiesSent"))
                        .as(n.name() + ": its kernel answered with cookies")
                        .isPositive();
                assertThat(Math.max(sampler.maxRssKib[i], rssAfter) - rssBefore[i])
                        .as(n.name() + " RSS growth, KiB")
                        .isLessThan(RSS_GROWTH_BOUND_KIB);
                assertThat(a.counter(Counter.HANDOFFS_COMPLETED) - b.counter(Counter.HANDOFFS_COMPLETED))
                        .as(n.name() + ": the handoffs it completed as entry are the probes handed off")
                        .isEqualTo((long) handoffs.getOrDefault(n.number(), 0));
                // What is left are the probes' handoffs, lingering at their entries and in TIME-WAIT
                // at their chosen nodes: at most one entry per probe.
                assertThat(a.trackedConnections())
                        .as(n.name() + " tracked after the drain")
                        .isLessThanOrEqualTo(warm.size() + during.size());
                assertThat(a.freeHoldBuffers()).isEqualTo(1024);
            }
            assertThat(seen).as("SYNs that reached the nodes").isGreaterThanOrEqualTo(MIN_SYNS);
            assertThat(handoffs.getOrDefault(1, 0))
                    .as("requests handed off by n1 during the flood")
                    .isPositive();
            NodeStats a1 = after.node(bed.node(1).name());
            NodeStats b1 = before.node(bed.node(1).name());
            if (bed.dataPath() == Spec.DataPath.KERNEL) {
                // The programs pass a SYN to the kernel and keep it in their LRU handshakes map; only
                // a request to hand off brings one up: the flood never reaches the engine.
                long inKernel =
                        a1.datapathCounter(DatapathCounter.HANDSHAKES) - b1.datapathCounter(DatapathCounter.HANDSHAKES);
                assertThat(inKernel)
                        .as("n1's handshakes taken in the kernel (half the flood's SYNs)")
                        .isGreaterThan(MIN_SYNS / 2);
                assertThat(sampler.maxHalfOpen[0])
                        .as("n1's engine half-open peak")
                        .isLessThan(100);
            } else {
                assertThat(sampler.maxHalfOpen[0])
                        .as("n1 reached the half-open bound")
                        .isGreaterThan(MAX_HALF_OPEN - 1000);
                assertThat(a1.counter(Counter.HALF_OPEN_EVICTED) - b1.counter(Counter.HALF_OPEN_EVICTED))
                        .as("n1 evicted its oldest half-open entries")
                        .isPositive();
            }
            // Kernel SYN cookies keep working with the handoff: n1's kernel completed local
            // connections from cookies, n2's kernel accepted handed-in ones from cookies.
            assertThat(NetCounters.read(bed.node(1).netns())
                            .minus(kernelBefore.get("n1"))
                            .get("TcpExt.SyncookiesRecv"))
                    .as("n1 served a real client from a SYN cookie")
                    .isPositive();
            assertThat(NetCounters.read(bed.node(3).netns())
                            .minus(kernelBefore.get("n3"))
                            .get("TcpExt.SyncookiesRecv"))
                    .as("n3 took a handed-in connection from a SYN cookie")
                    .isPositive();
        }
        assertThat(during).as("real requests during the flood").hasSizeGreaterThanOrEqualTo(PROBES.size());
        List<Client.Response> afterwards = probe(new HashMap<>(), null);
        int asked = handoffs.values().stream().mapToInt(Integer::intValue).sum() + relayed.size();
        System.out.printf(
                "FloodIT: curl before the flood %s; during (%d requests, %d to hand off, %d of them"
                        + " served by the entry instead) %s; after %s%n",
                times(warm), during.size(), asked, relayed.size(), times(during), times(afterwards));
        // A handoff falls back to the entry's own server (relayed from the holder, still byte-exact)
        // only when the flood cost the client a packet: a SYN/ACK retransmitted after 1 s while
        // 32,768 newer SYNs evicted its half-open entry, or a control message lost past the 1 s
        // handoff timeout. Never otherwise, and rarely.
        for (Client.Response r : relayed) {
            assertThat(r.time())
                    .as("a fallback only after a retransmission: " + r.url())
                    .isGreaterThan(Duration.ofMillis(900));
        }
        assertThat(relayed.size())
                .as("fallbacks among " + asked + " handoffs")
                .isLessThanOrEqualTo(Math.max(1, asked / 10));
        // A real SYN lost in the flood costs a 1 s retransmission (2 s, 4 s for more): the median
        // stays low; every request completed within curl's limit (asserted by probe()).
        List<Long> ms = during.stream().map(r -> r.time().toMillis()).sorted().toList();
        assertThat(ms.get(ms.size() / 2))
                .as("median latency during the flood, ms")
                .isLessThan(500);
        EndToEnd.assertNoTrouble(bed, trouble);
    }

    static String times(List<Client.Response> rs) {
        List<Long> ms = rs.stream().map(r -> r.time().toMillis()).sorted().toList();
        if (ms.isEmpty()) return "none";
        return "p50 " + ms.get(ms.size() / 2) + " ms, max " + ms.getLast() + " ms";
    }
}
