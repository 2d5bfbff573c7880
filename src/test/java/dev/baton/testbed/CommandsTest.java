package dev.baton.testbed;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

class CommandsTest {
    @Test
    void capturesOutputAndExitCode() {
        ProcessResult r = Commands.run(List.of("sh", "-c", "echo out; echo err >&2; exit 3"), Duration.ofSeconds(5));
        assertThat(r.exitCode()).isEqualTo(3);
        assertThat(r.stdout()).isEqualTo("out\n");
        assertThat(r.stderr()).isEqualTo("err\n");
        assertThat(r.ok()).isFalse();
    }

    @Test
    void aFailureNamesTheCommandAndItsStderr() {
        assertThatThrownBy(() -> Commands.check(List.of("sh", "-c", "echo broken >&2; exit 1"), Duration.ofSeconds(5)))
                .isInstanceOf(CommandException.class)
                .hasMessageContaining("sh -c")
                .hasMessageContaining("exited with 1")
                .hasMessageContaining("broken");
    }

    @Test
    void killsACommandThatTakesTooLong() {
        long start = System.nanoTime();
        assertThatThrownBy(() -> Commands.run(List.of("sleep", "30"), Duration.ofMillis(200)))
                .isInstanceOf(CommandException.class)
                .hasMessageContaining("`sleep 30` timed out");
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(5));
    }

    @Test
    void aMissingProgramIsACommandException() {
        assertThatThrownBy(() -> Commands.run(List.of("/nonexistent/tool"), Duration.ofSeconds(1)))
                .isInstanceOf(CommandException.class)
                .hasMessageContaining("could not start");
    }

    @Test
    void keepsAtMostTheCaptureLimit() {
        ProcessResult r = Commands.run(List.of("head", "-c", "3000000", "/dev/zero"), Duration.ofSeconds(10));
        assertThat(r.ok()).isTrue();
        assertThat(r.stdout()).hasSize(Commands.MAX_CAPTURE);
    }
}
