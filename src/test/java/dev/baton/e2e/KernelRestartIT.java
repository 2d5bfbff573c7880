package dev.baton.e2e;

import static dev.baton.e2e.EndToEnd.assertExact;
import static org.assertj.core.api.Assertions.assertThat;

import dev.baton.btcp.Counter;
import dev.baton.datapath.DatapathCounter;
import dev.baton.testbed.Spec;
import dev.baton.testbed.Testbed;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * A restart loses nothing on the in-kernel data path (issue 12 item 3), with nginx: n1's baton
 * process ends in the middle of three transfers, one in each of its roles (served here, handed off
 * by n1 to n2, handed in to n1 by n2), and starts again. The programs and maps outlive it and carry
 * the flows meanwhile; the new process takes the connections over and keeps the incarnation, so
 * n2 reads the gap as a cut link. Each transfer is read at a fixed rate (slow_get.py) so that it is
 * under way throughout, and must end byte-exact.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class KernelRestartIT {
    static final Path STATE = Path.of("/run/baton-testbed-restart");
    Testbed bed;

    @BeforeAll
    void up() {
        EndToEnd.requireRoot();
        assertThat(Testbed.findOnPath("nginx"))
                .as("nginx must be installed (apt-get install nginx)")
                .isPresent();
        bed = Testbed.up(Spec.defaults()
                .withNodes(3)
                .withServer(Spec.Server.NGINX)
                .withStateDir(STATE)
                .withDataPath(Spec.DataPath.KERNEL));
    }

    @AfterAll
    void down() {
        if (bed != null) bed.down();
    }

    @Test
    void aKilledNodesNextProcessLosesNoConnectionInAnyRole() throws Exception {
        restartMidTransfer(true);
    }

    @Test
    void aStoppedNodeHandsItsConnectionsToItsNextProcess() throws Exception {
        restartMidTransfer(false);
    }

    private void restartMidTransfer(boolean kill) throws Exception {
        long resetsAtN2 = EndToEnd.counter(bed, "n2", Counter.ORPHANS_RESET);
        long localBefore = EndToEnd.datapathCounter(bed, "n1", DatapathCounter.DECIDED_LOCAL);
        // 1 MiB at 100 KB/s: about ten seconds, the restart in the middle
        SlowClient local = SlowClient.start(bed, 1, "/mix/n1/1m.bin", "100K");
        SlowClient handedOff = SlowClient.handedOff(bed, 1, "/mix/n2/1m.bin", "100K");
        SlowClient handedIn = SlowClient.handedOff(bed, 2, "/mix/n1/1m.bin", "100K");
        Thread.sleep(1_500);
        assertThat(local.exited()).as("still under way at the restart").isNotDone();
        long t0 = System.nanoTime();
        if (kill) bed.kill(1);
        else bed.stop(1);
        long ended = System.nanoTime();
        bed.restart(1);
        long ready = System.nanoTime();
        System.out.println("KernelRestartIT: n1 " + (kill ? "killed" : "stopped") + " in " + (ended - t0) / 1_000_000
                + " ms, ready " + (ready - ended) / 1_000_000 + " ms later");
        for (SlowClient s : List.of(local, handedOff, handedIn)) {
            assertThat(s.exited())
                    .as(s.path() + " still under way after the restart")
                    .isNotDone();
        }

        for (SlowClient s : List.of(local, handedOff, handedIn)) s.assertExact(bed);
        long taken = EndToEnd.counter(bed, "n1", Counter.TAKEN_OVER); // the new process's count
        System.out.println("KernelRestartIT: n1 took over " + taken + " connections; n2 kept "
                + EndToEnd.counter(bed, "n2", Counter.ORPHANS_KEPT) + " orphans, reset "
                + (EndToEnd.counter(bed, "n2", Counter.ORPHANS_RESET) - resetsAtN2));
        // The two shared transfers, and any earlier connection still closing; the local one the
        // programs decided in the kernel (its handshake and flow are pinned) needs no takeover.
        assertThat(taken).as("connections taken over").isGreaterThanOrEqualTo(2);
        assertThat(EndToEnd.datapathCounter(bed, "n1", DatapathCounter.DECIDED_LOCAL) - localBefore)
                .as("the local transfer, decided in the kernel (its counters are pinned too)")
                .isEqualTo(1);
        assertThat(EndToEnd.counter(bed, "n2", Counter.ORPHANS_RESET))
                .as("n2 reset nothing it shared with n1")
                .isEqualTo(resetsAtN2);
        // and the new process serves new connections, handoffs included
        assertExact(bed, EndToEnd.client(bed).get(bed.node(1), "/data/1k.bin"), "/data/1k.bin");
        assertExact(bed, EndToEnd.client(bed).get(bed.node(1), "/index.html"), "/index.html");
    }
}
