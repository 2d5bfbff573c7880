package dev.baton.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.baton.node.NodeStats;
import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** {@code baton drain}'s refusals and its one-line account of a drain. */
class DrainCommandTest {
    private final StringWriter err = new StringWriter();

    private int run(String... args) {
        CommandLine cmd = Main.commandLine();
        cmd.setErr(new PrintWriter(err, true));
        String[] all = new String[args.length + 1];
        all[0] = "drain";
        System.arraycopy(args, 0, all, 1, args.length);
        return cmd.execute(all);
    }

    @Test
    void offTakesNeitherStatusNorWaitAndTheNodeMustBeNamed() {
        assertThat(run("--admin-socket", "/run/x.sock", "--off", "--wait")).isEqualTo(2);
        assertThat(err.toString()).contains("--off takes neither --status nor --wait");
        assertThat(run("--wait")).isEqualTo(2);
        assertThat(err.toString()).contains("give --config FILE or --admin-socket PATH");
    }

    @Test
    void aNodeThatIsNotRunningIsSaidInOneLine() {
        assertThat(run("--admin-socket", "/nonexistent/admin.sock")).isEqualTo(1);
        assertThat(err.toString())
                .contains("baton drain: no answer on /nonexistent/admin.sock (is the node running?)")
                .doesNotContain("\tat ");
    }

    @Test
    void describesEachState() throws Exception {
        ObjectMapper json = NodeStats.JSON;
        assertThat(DrainCommand.describe(json.readValue(
                        "{\"state\":\"draining\",\"openConnections\":3,\"millis\":1250}", NodeStats.DrainState.class)))
                .isEqualTo("draining: 3 connections open (1.3 s)");
        assertThat(DrainCommand.describe(json.readValue(
                        "{\"state\":\"drained\",\"openConnections\":0,\"millis\":4000}", NodeStats.DrainState.class)))
                .isEqualTo("drained: no connection open (4.0 s)");
        assertThat(DrainCommand.describe(
                        json.readValue("{\"state\":\"off\",\"openConnections\":1}", NodeStats.DrainState.class)))
                .isEqualTo("not draining: taking new connections and handoffs; 1 connection open");
    }
}
