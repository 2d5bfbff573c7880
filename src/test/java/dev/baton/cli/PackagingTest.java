package dev.baton.cli;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** The files a host installs (packaging/): systemd accepts the unit, and it runs a command baton has. */
class PackagingTest {
    static final Path UNIT = Path.of("packaging/baton-node.service");

    @Test
    void systemdAcceptsTheUnitWithoutAWarning() throws Exception {
        Process p = new ProcessBuilder("systemd-analyze", "verify", "--man=no", UNIT.toString())
                .redirectErrorStream(true)
                .start();
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
        String out = new String(p.getInputStream().readAllBytes(), UTF_8);
        assertThat(p.exitValue()).as(out).isZero();
        assertThat(out).as("systemd-analyze's warnings").isBlank();
    }

    @Test
    void theUnitStartsANodeWithOptionsBatonKnows() throws Exception {
        String exec = Files.readAllLines(UNIT).stream()
                .filter(l -> l.startsWith("ExecStart="))
                .findFirst()
                .orElseThrow();
        String command = exec.substring(exec.indexOf(" node ") + 1, exec.lastIndexOf('\''));
        List<String> args = Arrays.asList(command.split(" "));
        assertThat(args.getFirst()).isEqualTo("node");
        NodeCommand node = new NodeCommand();
        new CommandLine(node).parseArgs(args.subList(1, args.size()).toArray(String[]::new)); // throws on a bad option
        assertThat(exec).contains("--enable-native-access=ALL-UNNAMED").contains("/opt/baton/baton.jar");
        String ready = args.get(args.indexOf("--ready-file") + 1);
        assertThat(Files.readString(UNIT)).contains("[ -s " + ready + " ]");
    }

    @Test
    void theSysctlFileSetsSettingsThatExist() throws Exception {
        for (String line : Files.readAllLines(Path.of("packaging/99-baton.conf"))) {
            if (line.isBlank() || line.startsWith("#")) continue;
            String key = line.split("=")[0].strip();
            assertThat(Path.of("/proc/sys", key.replace('.', '/'))).as(key).exists();
        }
    }
}
