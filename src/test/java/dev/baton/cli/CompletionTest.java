package dev.baton.cli;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import dev.baton.tools.ToolsMain;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The completion scripts, loaded by the shells themselves (CI installs bash, zsh and fish). */
class CompletionTest {
    @TempDir
    Path dir;

    private Path script(String shell) throws Exception {
        StringWriter out = new StringWriter();
        var cmd = ToolsMain.commandLine();
        cmd.setOut(new PrintWriter(out));
        assertThat(cmd.execute("completion", "--shell", shell)).isZero();
        return Files.writeString(dir.resolve("baton." + shell), out.toString());
    }

    private static String run(String... argv) throws Exception {
        Process p = new ProcessBuilder(argv).redirectErrorStream(true).start();
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).as(String.join(" ", argv)).isTrue();
        String out = new String(p.getInputStream().readAllBytes(), UTF_8);
        assertThat(p.exitValue()).as(out).isZero();
        return out;
    }

    @Test
    void fishCompletesCommandsSubcommandsAndTheirOptionsWhereTheyBelong() throws Exception {
        Path fish = script("fish");
        run("fish", "-n", fish.toString());
        String out = run(
                "fish",
                "-c",
                "source " + fish + "; complete -C 'baton dr'; echo ==; complete -C 'baton testbed ';"
                        + " echo ==; complete -C 'baton drain --w'; echo ==; complete -C 'baton status --'");
        String[] parts = out.split("==\n");
        assertThat(parts[0]).startsWith("drain\t");
        assertThat(parts[1].lines().map(l -> l.split("\t")[0]).toList())
                .contains("up", "down", "stats", "load", "fault")
                .doesNotContain("drain");
        assertThat(parts[2]).startsWith("--wait\t");
        assertThat(parts[3]).contains("--admin-socket").contains("--json").doesNotContain("--wait");
    }

    @Test
    void bashAndZshRegisterTheSameScript() throws Exception {
        Path bash = script("bash");
        assertThat(run("bash", "-c", "source " + bash + "; complete -p baton")).contains("_complete_baton");
        String zsh =
                run("zsh", "-c", "autoload -U +X compinit && compinit -u; source " + bash + "; print ${_comps[baton]}");
        assertThat(zsh).contains("_complete_baton");
    }

    @Test
    void anUnknownShellIsRefused() {
        StringWriter err = new StringWriter();
        var cmd = ToolsMain.commandLine();
        cmd.setErr(new PrintWriter(err));
        assertThat(cmd.execute("completion", "--shell", "tcsh")).isEqualTo(2);
        assertThat(err.toString()).contains("bash, zsh or fish");
    }
}
