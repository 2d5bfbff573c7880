package dev.baton.e2e;

import static dev.baton.e2e.EndToEnd.assertExact;
import static org.assertj.core.api.Assertions.assertThat;

import dev.baton.testbed.Client;
import dev.baton.testbed.NetCounters;
import dev.baton.testbed.NodeInfo;
import dev.baton.testbed.Spec;
import dev.baton.testbed.Testbed;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * With SYN cookies always on (what a kernel does under a SYN flood), the entry's kernel keeps no
 * SYN-RECV entry and the chosen node's kernel validates the injected ACK's cookie: local service and
 * handoffs must both still work, byte-exact.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class SynCookiesIT {
    static final Path STATE = Path.of("/run/baton-testbed-cookies");
    Testbed bed;
    Client client;

    @BeforeAll
    void up() {
        EndToEnd.requireRoot();
        bed = Testbed.up(Spec.defaults().withNodes(2).withStateDir(STATE));
        client = EndToEnd.client(bed);
        for (NodeInfo n : bed.nodes()) {
            var r = bed.exec(n.netns(), List.of("sysctl", "-qw", "net.ipv4.tcp_syncookies=2"), Duration.ofSeconds(5));
            assertThat(r.exitCode()).as(r.stderr()).isZero();
        }
    }

    @AfterAll
    void down() {
        if (bed != null) bed.down();
    }

    @Test
    void servesLocallyAndHandsOffWhenEveryHandshakeUsesACookie() {
        var before1 = NetCounters.read(bed.node(1).netns());
        assertThat(before1.values()).containsKey("TcpExt.SyncookiesRecv");
        var before2 = NetCounters.read(bed.node(2).netns());
        Client.Response local = client.get(bed.node(1), "/index.html");
        assertExact(bed, local, "/index.html");
        assertThat(local.servedBy()).isEqualTo("n1");
        Client.Response handedOff = client.get(bed.node(1), "/video/big.bin");
        assertExact(bed, handedOff, "/video/big.bin");
        assertThat(handedOff.servedBy()).isEqualTo("n2");
        assertThat(NetCounters.read(bed.node(1).netns()).get("TcpExt.SyncookiesRecv")
                        - before1.get("TcpExt.SyncookiesRecv"))
                .as("the entry's kernel took a cookie")
                .isPositive();
        assertThat(NetCounters.read(bed.node(2).netns()).get("TcpExt.SyncookiesRecv")
                        - before2.get("TcpExt.SyncookiesRecv"))
                .as("the chosen kernel took the injected ACK's cookie")
                .isPositive();
    }
}
