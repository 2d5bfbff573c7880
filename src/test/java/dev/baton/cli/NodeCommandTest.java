package dev.baton.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code baton node}'s refusals, which all come before anything starts. */
class NodeCommandTest {
    @TempDir
    Path dir;

    private final StringWriter err = new StringWriter();

    private int run(String... args) {
        CommandLine cmd = new CommandLine(new NodeCommand());
        cmd.setErr(new PrintWriter(err, true));
        return cmd.execute(args);
    }

    @Test
    void aConfigFileAndTheFlagsItSettlesAreNotMixed() throws Exception {
        Path f = Files.writeString(dir.resolve("c.yaml"), "cluster: {}\n");
        assertThat(run("--config", f.toString(), "--name", "n1")).isEqualTo(2);
        assertThat(err.toString()).contains("--name comes from the config file " + f);
    }

    @Test
    void withoutAConfigFileTheIdentityFlagsAreRequired() {
        assertThat(run("--name", "n1")).isEqualTo(2);
        assertThat(err.toString()).contains("give --config FILE").contains("missing: --ip");
    }

    @Test
    void aBadConfigFileIsReportedWithItsLineAndNothingStarts() throws Exception {
        Path f = Files.writeString(dir.resolve("c.yaml"), "cluster:\n  key: k\n  members: 7\nnode:\n  name: a\n  docroot: .\n");
        assertThat(run("--config", f.toString())).isEqualTo(2);
        assertThat(err.toString()).contains(f + ":2:").contains("cluster.key");
    }
}
