package dev.baton.testbed;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/** A two-node testbed with nginx as each node's web server ({@code --server nginx}). Needs root and nginx. */
class TestbedNginxIT {
    private static final Path STATE = Path.of("/run/baton-testbed-it");

    @Test
    void runsNginxInEveryNodeNamespaceAndStopsIt() {
        assertThat(TestbedCommand.isRoot())
                .as("the testbed builds network namespaces: run as root (sudo ./baton test)")
                .isTrue();
        assertThat(Testbed.findOnPath("nginx").isPresent())
                .as("nginx is not installed (apt-get install nginx)")
                .isTrue();
        List<Testbed.Started> nginx;
        try (Testbed bed = Testbed.up(
                Spec.defaults().withNodes(2).withServer(Spec.Server.NGINX).withStateDir(STATE))) {
            nginx = bed.processes().stream()
                    .filter(p -> p.kind().equals("nginx"))
                    .toList();
            assertThat(nginx).extracting(Testbed.Started::node).containsExactly("n1", "n2");
            assertThat(Files.exists(STATE.resolve("nginx-n1.conf"))).isTrue();
            for (Testbed.Started p : nginx) {
                assertThat(Testbed.commandLine(p.pid())).contains("nginx", STATE.toString());
            }
            ContentEntry rep = bed.content().find("/shared/rep.bin").orElseThrow();
            Client.Response r = bed.newClient().get(bed.node(2), "/shared/rep.bin");
            assertThat(r.error()).isEmpty();
            assertThat(r.status()).isEqualTo(200);
            assertThat(r.sha256()).isEqualTo(rep.sha256());
            assertThat(r.servedBy()).isIn(rep.holders());
        }
        assertThat(nginx).allSatisfy(p -> assertThat(ProcessHandle.of(p.pid())).isEmpty());
        assertThat(Testbed.batonNamespaces()).isEmpty();
    }
}
