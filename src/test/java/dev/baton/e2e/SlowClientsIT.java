package dev.baton.e2e;

import static dev.baton.e2e.EndToEnd.assertExact;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.baton.btcp.Counter;
import dev.baton.btcp.Drop;
import dev.baton.node.NodeStats;
import dev.baton.testbed.Client;
import dev.baton.testbed.NodeInfo;
import dev.baton.testbed.Spec;
import dev.baton.testbed.Testbed;
import dev.baton.testbed.TestbedStats;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * 1,000 connections spread over three nodes, each writing its request one byte per second (a
 * "slowloris"). Each entry holds them in its hold pool (1024 buffers) for the request timeout (5 s),
 * then gives them to its own server ({@code requestTimeout}); the built-in server closes each at its
 * request-head timeout (10 s after the first byte it saw), without a response. Meanwhile other
 * clients are served byte-exact and promptly, handoffs included, and afterwards every hold buffer is
 * free and the tables are empty again.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class SlowClientsIT {
    static final Path STATE = Path.of("/run/baton-testbed-slow");
    static final int SLOW = 1_000;
    static final int HOLD_BUFFERS = 1_024;
    /** {@code Btcp.Config.defaults} request timeout and the server's default head timeout. */
    static final double REQUEST_TIMEOUT_S = 5;

    static final double HEAD_TIMEOUT_S = 10;
    /** A slow client with neither a response nor a close by then is a hang. */
    static final int HANG_LIMIT_S = 40;

    Testbed bed;
    Client client;

    @BeforeAll
    void up() {
        EndToEnd.requireRoot();
        bed = Testbed.up(Spec.defaults().withNodes(3).withStateDir(STATE));
        client = new Client(bed.client().netns(), bed.stateDir().resolve("client"), Duration.ofSeconds(20));
    }

    @AfterAll
    void down() {
        if (bed != null) bed.down();
    }

    /** Local at n1, and handed off n1 to n2, n2 to n3, n3 to n1. */
    static final List<FloodIT.Probe> PROBES = FloodIT.PROBES;

    List<Client.Response> probe() {
        List<Client.Response> out = new ArrayList<>();
        for (FloodIT.Probe p : PROBES) {
            Client.Response r = client.get(bed.node(p.entry()), p.path());
            assertExact(bed, r, p.path());
            assertThat(r.servedBy()).as("server of " + p).isEqualTo(p.server());
            assertThat(r.via()).as("handed off, not relayed: " + p).isEmpty();
            out.add(r);
        }
        return out;
    }

    @Test
    void holdsSlowClientsBoundedThenServesThemLocallyWhileOthersAreServed() throws Exception {
        for (int i = 0; i < 3; i++) probe(); // warm up
        TestbedStats before = bed.stats();
        List<Client.Response> during = new ArrayList<>();
        String out;
        try (var sampler = new LoadTools.Sampler(bed, 200);
                var slow = new LoadTools.Background(
                        bed,
                        bed.stateDir().resolve("client/slow.out"),
                        List.of(
                                "python3",
                                LoadTools.script(bed, "slow_clients.py").toString(),
                                String.join(
                                        ",",
                                        bed.nodes().stream().map(NodeInfo::ip).toList()),
                                Integer.toString(SLOW),
                                "1",
                                Integer.toString(HANG_LIMIT_S),
                                "/index.html"))) {
            Thread.sleep(1_500); // all connected, their first bytes held
            long end = System.nanoTime() + Duration.ofSeconds(12).toNanos(); // through the hold and past it
            while (System.nanoTime() < end) during.addAll(probe());
            out = slow.await(Duration.ofSeconds(HANG_LIMIT_S + 20));
            // Served locally, each slow connection is tracked until both sides closed.
            Duration drained = LoadTools.await(Duration.ofSeconds(15), () -> {
                TestbedStats s = bed.stats();
                for (NodeInfo n : bed.nodes()) {
                    if (s.node(n.name()).activeConnections() > 2) return false;
                }
                return true;
            });
            System.out.printf(
                    "SlowClientsIT: slow clients %s; %s; their entries gone %s after they ended%n",
                    out.strip(), sampler.summary(), drained);
            assertThat(drained).as("the slow connections' entries freed").isNotNull();
            assertThat(sampler.failures)
                    .as("every stats query answered: no node hung")
                    .isZero();
            TestbedStats after = bed.stats();
            for (NodeInfo n : bed.nodes()) {
                int i = n.number() - 1;
                int mine = SLOW / 3 + (i < SLOW % 3 ? 1 : 0);
                NodeStats b = before.node(n.name());
                NodeStats a = after.node(n.name());
                long timeouts = a.counter(Counter.REQUEST_TIMEOUT) - b.counter(Counter.REQUEST_TIMEOUT);
                long headTimeouts = a.server().headTimeouts() - b.server().headTimeouts();
                System.out.printf(
                        "SlowClientsIT: %s had %d slow clients: requestTimeout %d, server headTimeouts %d,"
                                + " fewest free hold buffers %d, most tracked %d, tracked after %d (active %d), fallbacks %d%n",
                        n.name(),
                        mine,
                        timeouts,
                        headTimeouts,
                        sampler.minFreeHolds[i],
                        sampler.maxTracked[i],
                        a.trackedConnections(),
                        a.activeConnections(),
                        a.counter(Counter.FALLBACKS) - b.counter(Counter.FALLBACKS));
                assertThat(sampler.minFreeHolds[i])
                        .as(n.name() + ": its slow clients were held, one buffer each")
                        .isBetween((long) HOLD_BUFFERS - mine - PROBES.size(), (long) HOLD_BUFFERS - mine + 20);
                assertThat(timeouts)
                        .as(n.name() + ": every slow client went to local service at the request timeout")
                        .isEqualTo(mine);
                assertThat(headTimeouts)
                        .as(n.name() + ": its server closed each at its head timeout")
                        .isEqualTo(mine);
                assertThat(a.counter(Counter.FALLBACKS))
                        .as(n.name() + ": no handoff fell back")
                        .isEqualTo(b.counter(Counter.FALLBACKS));
                assertThat(a.drops().get(Drop.HOLD_POOL_EMPTY))
                        .isEqualTo(b.drops().get(Drop.HOLD_POOL_EMPTY));
                assertThat(a.freeHoldBuffers())
                        .as(n.name() + ": every hold buffer free again")
                        .isEqualTo(HOLD_BUFFERS);
                // What stays tracked are the probes' handed-off connections (TIME-WAIT 60 s, linger 10 s).
                assertThat(a.activeConnections())
                        .as(n.name() + ": slow connections forgotten")
                        .isLessThanOrEqualTo(2);
                // The probes' handed-off connections (TIME-WAIT 60 s, linger 10 s) may stay: at most one
                // entry per probe made, however many the machine managed in the 12 s.
                assertThat(a.trackedConnections())
                        .as(n.name() + ": only probe entries left")
                        .isLessThanOrEqualTo(during.size() + 3L * PROBES.size());
            }
        }
        JsonNode result = new ObjectMapper().readTree(out.strip());
        assertThat(result.path("connections").asInt()).isEqualTo(SLOW);
        // The server closes each without a response (FIN; a RST if a byte crossed the close);
        // nothing hangs, nothing is refused.
        assertThat(result.at("/outcomes/closed").asInt()
                        + result.at("/outcomes/reset").asInt())
                .as("closed by the server's head timeout: " + result)
                .isEqualTo(SLOW);
        assertThat(result.at("/minSeconds").asDouble())
                .as("held, then a full head timeout")
                .isGreaterThan(REQUEST_TIMEOUT_S + HEAD_TIMEOUT_S - 1);
        assertThat(result.at("/maxSeconds").asDouble()).isLessThan(REQUEST_TIMEOUT_S + HEAD_TIMEOUT_S + 8);
        assertThat(during).hasSizeGreaterThanOrEqualTo(PROBES.size());
        System.out.printf(
                "SlowClientsIT: curl during the slow clients (%d requests) %s%n", during.size(), FloodIT.times(during));
        for (Client.Response r : during) {
            assertThat(r.time())
                    .as("latency of " + r.url() + " beside the slow clients")
                    .isLessThan(Duration.ofSeconds(1));
        }
        probe();
    }
}
