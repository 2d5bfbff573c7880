package dev.baton.e2e;

import static dev.baton.e2e.EndToEnd.assertExact;
import static org.assertj.core.api.Assertions.assertThat;

import dev.baton.btcp.Counter;
import dev.baton.control.ControlCounter;
import dev.baton.node.NodeStats;
import dev.baton.testbed.Client;
import dev.baton.testbed.Names;
import dev.baton.testbed.Spec;
import dev.baton.testbed.Testbed;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * A rogue process inside n1's namespace (so its packets carry n1's address, the one n2 accepts
 * control connections from) connects to n2's control port, says Hello as n1, and sends a handoff
 * request with a forged Auth, with no Auth, and with n2's own Auth reflected. n2 must count each
 * failure, accept no handoff, keep its real link to n1, and the testbed must keep serving curl
 * byte-exact, handoffs included.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ControlAuthIT {
    static final Path STATE = Path.of("/run/baton-testbed-auth");
    Testbed bed;
    Client client;
    Path script;

    @BeforeAll
    void up() throws Exception {
        EndToEnd.requireRoot();
        bed = Testbed.up(Spec.defaults().withNodes(2).withStateDir(STATE));
        client = EndToEnd.client(bed);
        script = LoadTools.script(bed, "rogue.py");
    }

    @AfterAll
    void down() {
        if (bed != null) bed.down();
    }

    @Test
    void theTestbedKeyIsPrivate() throws Exception {
        Path key = bed.clusterKey();
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(key)))
                .isEqualTo("rw-------");
        assertThat(Files.size(key)).isEqualTo(32);
    }

    @Test
    void aRogueOnAMembersAddressCannotHandOffOrCutTheLink() throws Exception {
        stillServes(); // a handoff works before: the counters below would move if one were accepted
        NodeStats n1Before = bed.stats().node("n1");
        NodeStats n2Before = bed.stats().node("n2");
        assertThat(n2Before.peersUp()).contains("n1");

        for (String how : List.of("forged-auth", "no-auth", "reflected-auth")) {
            var r = bed.exec(
                    bed.node(1).netns(),
                    List.of(
                            "python3",
                            script.toString(),
                            how,
                            bed.node(1).ip(),
                            bed.node(2).ip(),
                            Integer.toString(Names.CONTROL_PORT)),
                    Duration.ofSeconds(30));
            assertThat(r.exitCode()).as(how + ": " + r.stderr()).isZero();
            // n2 answered Hello (so the rogue passed the address check) and then closed the connection.
            assertThat(r.stdout().strip()).as(how).isEqualTo("hello-answered closed");
        }

        NodeStats n1 = bed.stats().node("n1");
        NodeStats n2 = bed.stats().node("n2");
        assertThat(n2.control().get(ControlCounter.AUTH_FAILED)
                        - n2Before.control().get(ControlCounter.AUTH_FAILED))
                .isEqualTo(3);
        assertThat(n2.control().get(ControlCounter.UNKNOWN_ADDRESS)
                        - n2Before.control().get(ControlCounter.UNKNOWN_ADDRESS))
                .as("the rogue came from n1's address")
                .isZero();
        for (Counter c : List.of(Counter.HANDOFFS_ACCEPTED, Counter.HANDOFFS_REFUSED)) {
            assertThat(n2.counter(c)).as(c + " at n2").isEqualTo(n2Before.counter(c));
        }
        assertThat(n2.peersUp()).contains("n1");
        assertThat(n1.peersUp()).contains("n2");
        assertThat(n2.control().get(ControlCounter.RECONNECTS))
                .as("the real link was never replaced")
                .isEqualTo(n2Before.control().get(ControlCounter.RECONNECTS));
        assertThat(n1.control().get(ControlCounter.RECONNECTS))
                .isEqualTo(n1Before.control().get(ControlCounter.RECONNECTS));
        assertThat(n2.control().get(ControlCounter.BAD_MAC)).isZero();
        stillServes();
    }

    private void stillServes() {
        assertExact(bed, client.get(bed.node(1), "/index.html"), "/index.html");
        Client.Response r = client.get(bed.node(1), "/data/1k.bin");
        assertExact(bed, r, "/data/1k.bin");
        assertThat(r.servedBy()).isEqualTo("n2");
    }
}
