package dev.baton.testbed;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code baton testbed load}: bad options are refused with a message, a missing testbed is named. */
class LoadCommandTest {
    @TempDir
    Path dir;

    @Test
    void refusesABadMixOrConcurrencyWithUsageExitCode() {
        assertThat(run("load", "--worker", "--mix", "1x=2")).startsWith("2:").contains("BOUND=WEIGHT");
        assertThat(run("load", "--worker", "--concurrency", "0"))
                .startsWith("2:")
                .contains("concurrency");
        assertThat(run("load", "--worker", "--requests", "-1")).startsWith("2:").contains("requests");
    }

    @Test
    void saysSoWhenNoTestbedIsUp() {
        assertThat(run("load", "--worker", "--state-dir", dir.toString()))
                .startsWith("1:")
                .contains("no testbed is up");
    }

    @Test
    void listsItsOptionsInTheHelp() {
        String help = new CommandLine(new TestbedCommand())
                .getSubcommands()
                .get("load")
                .getUsageMessage();
        assertThat(help)
                .contains("--requests", "--concurrency", "--seed", "--json", "--keep-alive", "--timeout")
                .doesNotContain("--worker");
    }

    /** Runs {@code baton testbed ARGS}; "exit code: stderr". */
    private static String run(String... args) {
        PrintStream old = System.err;
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
        try {
            int code = new CommandLine(new TestbedCommand()).execute(args);
            return code + ": " + err.toString(StandardCharsets.UTF_8);
        } finally {
            System.setErr(old);
        }
    }
}
