package dev.baton.e2e;

import static dev.baton.e2e.EndToEnd.assertExact;
import static dev.baton.e2e.EndToEnd.drop;
import static org.assertj.core.api.Assertions.assertThat;

import dev.baton.btcp.Counter;
import dev.baton.btcp.Drop;
import dev.baton.control.ControlCounter;
import dev.baton.datapath.DatapathCounter;
import dev.baton.node.NodeStats;
import dev.baton.testbed.Client;
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
 * Hostile input from the client's namespace (raw packets built by hand, garbage on the control port,
 * unparseable and oversized requests) is dropped and counted, or served locally, and never takes a
 * node down or disturbs other connections.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class BadInputIT {
    static final Path STATE = Path.of("/run/baton-testbed-bad");
    Testbed bed;
    Client client;
    Path script;

    @BeforeAll
    void up() throws Exception {
        EndToEnd.requireRoot();
        bed = Testbed.up(Spec.defaults().withNodes(2).withStateDir(STATE));
        client = EndToEnd.client(bed);
        script = LoadTools.script(bed, "hostile.py");
    }

    @AfterAll
    void down() {
        if (bed != null) bed.down();
    }

    private String hostile(String what) {
        var r = bed.exec(
                bed.client().netns(),
                List.of("python3", script.toString(), what, bed.node(1).ip()),
                Duration.ofSeconds(30));
        assertThat(r.exitCode()).as(what + ": " + r.stderr()).isZero();
        return r.stdout().strip();
    }

    @Test
    void dropsAndCountsMalformedSegmentsAndKeepsServing() throws Exception {
        long truncated = drop(bed, "n1", Drop.BAD_TCP_HEADER);
        long options = drop(bed, "n1", Drop.BAD_TCP_OPTIONS);
        long checksum = drop(bed, "n1", Drop.BAD_CHECKSUM);
        hostile("truncated"); // 10 bytes of TCP header
        hostile("offset"); // data offset 60 bytes in a 20-byte segment
        hostile("options"); // timestamps option with length 3
        hostile("checksum"); // a SYN with a wrong checksum
        // Raw packets travel asynchronously: wait (bounded) until the node has counted them.
        long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
        while (drop(bed, "n1", Drop.BAD_CHECKSUM) == checksum && System.nanoTime() < deadline) Thread.sleep(50);
        assertThat(drop(bed, "n1", Drop.BAD_TCP_HEADER) - truncated).isEqualTo(2);
        assertThat(drop(bed, "n1", Drop.BAD_TCP_OPTIONS) - options).isEqualTo(1);
        assertThat(drop(bed, "n1", Drop.BAD_CHECKSUM) - checksum).isEqualTo(1);
        stillServes();
    }

    @Test
    void closesGarbageOnTheControlPortAndKeepsTheLinks() throws Exception {
        assertThat(hostile("control")).isEqualTo("closed");
        NodeStats n1 = bed.stats().node("n1");
        assertThat(n1.control().get(ControlCounter.UNKNOWN_ADDRESS)).isPositive();
        assertThat(n1.peersUp()).contains("n2");
        stillServes();
    }

    @Test
    void servesUnparseableAndOversizedRequestsLocally() throws Exception {
        long invalid = EndToEnd.counter(bed, "n1", Counter.REQUEST_INVALID);
        long inKernel = EndToEnd.datapathCounter(bed, "n1", DatapathCounter.DECIDED_LOCAL);
        assertThat(hostile("garbage-request")).startsWith("HTTP/1.1 400");
        assertThat(hostile("huge-header")).matches("HTTP/1.1 4(31|00).*");
        // The huge head asks for n1's /index.html in its first segment: on the in-kernel path the
        // programs pass it to the server from its request line, which refuses the rest itself.
        boolean kernel = bed.dataPath() == Spec.DataPath.KERNEL;
        assertThat(EndToEnd.counter(bed, "n1", Counter.REQUEST_INVALID) - invalid)
                .isEqualTo(kernel ? 1 : 2);
        assertThat(EndToEnd.datapathCounter(bed, "n1", DatapathCounter.DECIDED_LOCAL) - inKernel)
                .isEqualTo(kernel ? 1 : 0);
        stillServes();
    }

    private void stillServes() {
        assertExact(bed, client.get(bed.node(1), "/index.html"), "/index.html");
        Client.Response r = client.get(bed.node(1), "/data/1k.bin");
        assertExact(bed, r, "/data/1k.bin");
        assertThat(r.servedBy()).isEqualTo("n2");
    }
}
