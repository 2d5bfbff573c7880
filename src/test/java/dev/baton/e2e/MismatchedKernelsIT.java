package dev.baton.e2e;

import static dev.baton.e2e.EndToEnd.assertExact;
import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import dev.baton.btcp.Counter;
import dev.baton.btcp.Refusal;
import dev.baton.node.NodeStats;
import dev.baton.testbed.Client;
import dev.baton.testbed.ContentMap;
import dev.baton.testbed.NetCounters;
import dev.baton.testbed.Spec;
import dev.baton.testbed.Testbed;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Nodes whose kernels are set up differently (docs/KERNEL-FACTS.md). n1 announces a large window scale, n2 a
 * small one: n2's window field must be rescaled on the way to the client, or uploads overrun n2's
 * real window. n3 does not use timestamps at all: a handoff to it cannot be translated, so n3
 * refuses it and the entry serves the request itself.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class MismatchedKernelsIT {
    static final Path STATE = Path.of("/run/baton-testbed-mismatch");
    Testbed bed;
    Client client;
    Map<String, NetCounters> before;

    @BeforeAll
    void up() {
        EndToEnd.requireRoot();
        bed = Testbed.up(Spec.defaults().withNodes(3).withStateDir(STATE));
        client = EndToEnd.client(bed);
        sysctl(1, "net.ipv4.tcp_rmem=4096 131072 67108864"); // window scale 11
        sysctl(2, "net.ipv4.tcp_rmem=4096 65536 131072"); // window scale from rmem_max, at most 7
        sysctl(3, "net.ipv4.tcp_timestamps=0");
        before = EndToEnd.troubleCounters(bed);
    }

    @AfterAll
    void down() {
        if (bed != null) bed.down();
    }

    private void sysctl(int node, String setting) {
        var r = bed.exec(bed.node(node).netns(), List.of("sysctl", "-qw", setting), Duration.ofSeconds(5));
        assertThat(r.exitCode()).as(setting + ": " + r.stderr()).isZero();
    }

    @Test
    void rescalesTheWindowForUploadsAndDownloadsWhenWindowScalesDiffer() throws Exception {
        long beyond = NetCounters.read(bed.node(2).netns()).get("TcpExt.BeyondWindow");
        byte[] body = new byte[3 * 1024 * 1024];
        new Random(3).nextBytes(body);
        Path file = EndToEnd.scratch(bed, "upload.bin");
        Files.write(file, body);
        Client.Response up = client.post(bed.node(1), "/data/1k.bin", file);
        assertThat(up.servedBy()).isEqualTo("n2");
        String expected = "{\"bytes\":" + body.length + ",\"sha256\":\"" + ContentMap.sha256(body) + "\"}";
        assertThat(up.sha256()).isEqualTo(ContentMap.sha256(expected.getBytes(UTF_8)));
        Client.Response down = client.get(bed.node(1), "/video/big.bin");
        assertExact(bed, down, "/video/big.bin");
        assertThat(down.servedBy()).isEqualTo("n2");
        assertThat(NetCounters.read(bed.node(2).netns()).get("TcpExt.BeyondWindow"))
                .isEqualTo(beyond);
        EndToEnd.assertNoTrouble(bed, before);
    }

    @Test
    void servesLocallyWhenTheChosenKernelCannotMatchTheHandshake() {
        Client.Response r = client.get(bed.node(1), "/api/data.json"); // held by n3 only
        assertExact(bed, r, "/api/data.json");
        assertThat(r.servedBy()).as("the bytes still come from n3's file").isEqualTo("n3");
        assertThat(r.via())
                .as("fetched by n1's server: the handoff was refused")
                .isEqualTo("n1");
        NodeStats n1 = bed.stats().node("n1");
        assertThat(n1.refusals(Refusal.OPTION_MISMATCH)).isPositive();
        assertThat(n1.counter(Counter.FALLBACKS)).isPositive();
        EndToEnd.assertNoTrouble(bed, before);
    }
}
