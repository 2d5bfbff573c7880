package dev.baton.testbed;

import static org.assertj.core.api.Assertions.assertThat;

import dev.baton.node.NodeStats;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The parts of {@link Testbed} that need no root and no namespaces. */
class TestbedHelpersTest {
    @TempDir
    Path dir;

    private final List<NodeInfo> nodes = List.of(
            NodeInfo.of(1, dir(), Path.of("/s")),
            NodeInfo.of(2, dir(), Path.of("/s")),
            NodeInfo.of(3, dir(), Path.of("/s")));

    private static Path dir() {
        return Path.of("/d");
    }

    private static TestbedStats json(String text) throws IOException {
        return NodeStats.JSON.readValue(text, TestbedStats.class);
    }

    @Test
    void clusterIsReadyOnlyWhenEveryNodeSeesAllOthers() throws IOException {
        assertThat(Testbed.allPeersUp(
                        json(
                                "{\"nodes\":[{\"node\":\"n1\",\"peersUp\":[\"n2\",\"n3\"]},"
                                        + "{\"node\":\"n2\",\"peersUp\":[\"n3\",\"n1\"]},{\"node\":\"n3\",\"peersUp\":[\"n1\",\"n2\"]}]}"),
                        nodes))
                .isTrue();
        assertThat(Testbed.allPeersUp(
                        json(
                                "{\"nodes\":[{\"node\":\"n1\",\"peersUp\":[\"n2\",\"n3\"]},"
                                        + "{\"node\":\"n2\",\"peersUp\":[\"n3\"]},{\"node\":\"n3\",\"peersUp\":[\"n1\",\"n2\"]}]}"),
                        nodes))
                .isFalse();
        assertThat(Testbed.allPeersUp(
                        json(
                                "{\"nodes\":[{\"node\":\"n1\",\"peersUp\":[\"n2\",\"n3\"]},"
                                        + "{\"node\":\"n3\",\"peersUp\":[\"n1\",\"n2\"]}],\"unanswered\":{\"n2\":\"no answer\"}}"),
                        nodes))
                .isFalse();
    }

    @Test
    void aSingleNodeIsReadyOnceItAnswers() throws IOException {
        List<NodeInfo> one = nodes.subList(0, 1);
        assertThat(Testbed.allPeersUp(json("{\"nodes\":[{\"node\":\"n1\",\"peersUp\":[]}]}"), one))
                .isTrue();
        assertThat(Testbed.allPeersUp(json("{\"nodes\":[],\"unanswered\":{\"n1\":\"x\"}}"), one))
                .isFalse();
    }

    @Test
    void removingTheStateDirectoryDeletesOnlyTheTestbedsFiles() throws IOException {
        Files.writeString(dir.resolve("testbed.json"), "{}");
        Files.createDirectories(dir.resolve("content/n1/img"));
        Files.writeString(dir.resolve("content/n1/img/a.png"), "x");
        Files.writeString(dir.resolve("node-n1.log"), "log");
        Files.writeString(dir.resolve("nginx-n2.conf"), "conf");
        Files.createDirectories(dir.resolve("nginx-n2/proxy_temp"));
        Files.writeString(dir.resolve("precious.txt"), "keep me");
        Testbed.removeStateDir(dir);
        try (var left = Files.list(dir)) {
            assertThat(left.map(p -> p.getFileName().toString())).containsExactly("precious.txt");
        }
        Files.delete(dir.resolve("precious.txt"));
        Testbed.removeStateDir(dir);
        assertThat(dir).doesNotExist();
    }

    @Test
    void nodeCommandRunsThisJavaWithNativeAccess() {
        List<String> argv = Testbed.javaCommand();
        assertThat(argv.getFirst()).endsWith("java");
        assertThat(argv).contains("--enable-native-access=ALL-UNNAMED", "-Xmx256m");
        assertThat(argv.contains("-jar") || argv.getLast().equals("dev.baton.cli.Main"))
                .isTrue();
    }

    @Test
    void theToolCommandRunsTheToolsEntryPoint() throws Exception {
        List<String> argv = Testbed.toolCommand();
        assertThat(argv).contains("--enable-native-access=ALL-UNNAMED");
        assertThat(argv.contains("-jar") || argv.getLast().equals(Testbed.TOOLS_MAIN))
                .isTrue();
        assertThat(Class.forName(Testbed.TOOLS_MAIN).getMethod("main", String[].class))
                .isNotNull();
    }

    @Test
    void readsTheCommandLineOfAProcess() {
        assertThat(Testbed.commandLine(ProcessHandle.current().pid())).contains("java");
        assertThat(Testbed.commandLine(Long.MAX_VALUE)).isEmpty();
    }

    @Test
    void namesFollowTheDesign() {
        assertThat(Names.nodeNetns(3)).isEqualTo("baton-n3");
        assertThat(Names.nodeIp(3)).isEqualTo("10.200.1.3");
        assertThat(Names.wireDevice(3)).isEqualTo("baton-w3");
        assertThat(Names.kernelDevice(12)).isEqualTo("baton-t12");
        assertThat(Names.nodeNumber("n12")).isEqualTo(12);
        assertThat(Names.nodeNumber("n0")).isEqualTo(-1);
        assertThat(Names.nodeNumber("x1")).isEqualTo(-1);
        // Linux limits interface names to 15 characters.
        assertThat(Names.wireDevice(Names.MAX_NODES).length()).isLessThanOrEqualTo(15);
    }
}
