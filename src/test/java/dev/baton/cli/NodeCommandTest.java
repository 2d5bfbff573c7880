package dev.baton.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
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
    void tuningOptionsOverrideTheFileAndFaultsAddToIt() throws Exception {
        Path key = dir.resolve("k");
        Files.write(key, new byte[32]);
        Files.setPosixFilePermissions(key, PosixFilePermissions.fromString("rw-------"));
        Path f = Files.writeString(dir.resolve("c.yaml"), """
                cluster:
                  key: k
                  members: [{name: a, address: 10.1.0.1}, {name: b, address: 10.1.0.2}]
                node:
                  name: a
                  docroot: .
                  tuning: {lingerMs: 7000, offload: true, eagerCommit: true}
                  faults: ["drop dir=in p=0.5"]
                """);
        NodeCommand cmd = new NodeCommand();
        CommandLine cl = new CommandLine(cmd);
        cl.setErr(new PrintWriter(err, true));
        cl.parseArgs(
                "--config",
                f.toString(),
                "--no-offload",
                "--time-wait-ms",
                "900",
                "--fault",
                "drop dir=out p=0.1",
                "--ready-file",
                "/tmp/r");
        NodeCommand.Resolved r = cmd.resolve();
        assertThat(r).as(err.toString()).isNotNull();
        assertThat(r.tuning().offload()).as("--no-offload over the file's true").isFalse();
        assertThat(r.tuning().eagerCommit()).as("left to the file").isTrue();
        assertThat(r.tuning().closing().linger()).isEqualTo(Duration.ofSeconds(7));
        assertThat(r.tuning().closing().timeWait()).isEqualTo(Duration.ofMillis(900));
        assertThat(r.tuning().faults()).hasSize(2);
        assertThat(r.config().readyFile()).isEqualTo(Path.of("/tmp/r"));
        assertThat(r.config().name()).isEqualTo("a");
    }

    @Test
    void aBadConfigFileIsReportedWithItsLineAndNothingStarts() throws Exception {
        Path f = Files.writeString(
                dir.resolve("c.yaml"), "cluster:\n  key: k\n  members: 7\nnode:\n  name: a\n  docroot: .\n");
        assertThat(run("--config", f.toString())).isEqualTo(2);
        assertThat(err.toString()).contains(f + ":2:").contains("cluster.key");
    }
}
