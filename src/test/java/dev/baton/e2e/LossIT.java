package dev.baton.e2e;

import static dev.baton.e2e.EndToEnd.assertExact;
import static org.assertj.core.api.Assertions.assertThat;

import dev.baton.testbed.Client;
import dev.baton.testbed.Names;
import dev.baton.testbed.NetCounters;
import dev.baton.testbed.Spec;
import dev.baton.testbed.Testbed;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * 1% random loss on every packet the router forwards (nftables, both directions, client traffic,
 * forwarded traffic and the control channel alike): every phase of a handoff sees retransmissions
 * (the SYN/ACK, the held ACK and request, forwarded client packets, the chosen node's data), and
 * SACK edges must be translated or the client discards them (docs/KERNEL-FACTS.md).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class LossIT {
    static final Path STATE = Path.of("/run/baton-testbed-loss");
    static final String LOSS = """
            table inet baton_loss {
              chain forward {
                type filter hook forward priority 0; policy accept;
                numgen random mod 100 < 1 drop
              }
            }
            """;
    Testbed bed;
    Client client;
    Map<String, NetCounters> before;

    @BeforeAll
    void up() throws Exception {
        EndToEnd.requireRoot();
        assertThat(Testbed.findOnPath("nft"))
                .as("nft must be installed (apt-get install nftables)")
                .isPresent();
        bed = Testbed.up(Spec.defaults().withNodes(3).withStateDir(STATE));
        client = EndToEnd.client(bed);
        Path rules = EndToEnd.scratch(bed, "loss.nft");
        Files.writeString(rules, LOSS);
        var r = bed.exec(Names.ROUTER_NETNS, List.of("nft", "-f", rules.toString()), Duration.ofSeconds(10));
        assertThat(r.exitCode()).as("nft: " + r.stderr()).isZero();
        before = EndToEnd.troubleCounters(bed);
    }

    @AfterAll
    void down() {
        if (bed != null) bed.down();
    }

    @Test
    void handsOffA33MiBFileByteExactThroughLoss() {
        long recoveries = NetCounters.read(bed.node(2).netns()).get("TcpExt.TCPSackRecovery");
        Client.Response r = client.get(bed.node(1), "/video/big.bin");
        assertExact(bed, r, "/video/big.bin");
        assertThat(r.servedBy()).isEqualTo("n2");
        assertThat(NetCounters.read(bed.node(2).netns()).get("TcpExt.TCPSackRecovery"))
                .as("the loss was real: n2 recovered with SACK")
                .isGreaterThan(recoveries);
        EndToEnd.assertNoTrouble(bed, before);
    }

    @Test
    void completesEveryHandoffOfManyShortConnectionsThroughLoss() {
        List<String> paths = new ArrayList<>();
        for (int i = 0; i < 60; i++)
            paths.add(List.of("/data/1k.bin", "/api/data.json", "/img/logo.png").get(i % 3));
        List<Client.Response> rs = client.getParallel(bed.node(1), paths, 20);
        for (int i = 0; i < rs.size(); i++) assertExact(bed, rs.get(i), paths.get(i));
        EndToEnd.assertNoTrouble(bed, before);
    }
}
