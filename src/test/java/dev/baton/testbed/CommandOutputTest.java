package dev.baton.testbed;

import static org.assertj.core.api.Assertions.assertThat;

import dev.baton.node.NodeStats;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/** What {@code baton testbed stats} and {@code baton demo} print and judge. */
class CommandOutputTest {
    private static final ContentMap CONTENT =
            ContentMap.of(List.of(new ContentEntry("/a.bin", 3, "aaa", List.of("n2", "n3"))));

    private static Client.Response response(int status, long bytes, String sha, String servedBy) {
        return new Client.Response(
                "http://10.200.1.1/a.bin", status, bytes, sha, servedBy, "", Duration.ofMillis(2), 1, 0, "");
    }

    @Test
    void statsTableHasOneRowPerNode() throws Exception {
        String table = TestbedCommand.statsTable(NodeStats.JSON.readValue(
                "{\"nodes\":[{\"node\":\"n1\","
                        + "\"peersUp\":[\"n2\"],\"counters\":{\"connectionsSeen\":5,\"servedLocally\":3,\"handoffsSent\":2,"
                        + "\"handoffsAccepted\":0,\"fallbacks\":0,\"packetsForwarded\":40,\"bytesSentForOthers\":0},"
                        + "\"drops\":{\"badChecksum\":1,\"internalError\":2}}],\"unanswered\":{\"n2\":\"timed out\"}}",
                TestbedStats.class));
        String[] lines = table.split("\n");
        assertThat(lines).hasSize(3);
        assertThat(lines[1].split("\\s+")).containsExactly("n1", "n2", "5", "3", "2", "0", "0", "40", "0", "3");
        assertThat(lines[2]).startsWith("n2").contains("error: timed out");
    }

    @Test
    void aRowIsOkOnlyWithRightBytesFromAHolder() {
        assertThat(DemoCommand.verdict(CONTENT, "/a.bin", response(200, 3, "aaa", "n3")))
                .isEqualTo("ok");
        assertThat(DemoCommand.verdict(CONTENT, "/a.bin", response(200, 3, "aaa", "n1")))
                .contains("does not hold");
        assertThat(DemoCommand.verdict(CONTENT, "/a.bin", response(200, 3, "bbb", "n2")))
                .isEqualTo("wrong sha256");
        assertThat(DemoCommand.verdict(CONTENT, "/a.bin", response(200, 2, "aaa", "n2")))
                .contains("3 bytes");
        assertThat(DemoCommand.verdict(CONTENT, "/a.bin", response(502, 3, "aaa", "n2")))
                .contains("got 502");
        assertThat(DemoCommand.verdict(CONTENT, "/missing", response(404, 0, "", "")))
                .isEqualTo("ok");
        assertThat(DemoCommand.verdict(CONTENT, "/missing", response(200, 0, "", "n1")))
                .contains("expected 404");
    }

    @Test
    void demoTableMarksHandoffs() {
        List<DemoCommand.Row> rows = List.of(
                new DemoCommand.Row("n1", "/a.bin", response(200, 3, "aaa", "n3"), "ok"),
                new DemoCommand.Row("n3", "/a.bin", response(200, 3, "aaa", "n3"), "ok"));
        String[] lines = DemoCommand.table(rows).split("\n");
        assertThat(lines[1].split("\\s+")).startsWith("n1", "/a.bin", "n3", "yes", "200", "3", "aaa");
        assertThat(lines[2].split("\\s+")).startsWith("n3", "/a.bin", "n3", "no");
    }

    @Test
    void demoTableTellsNginxFallbackFromHandoff() {
        Client.Response proxied = new Client.Response("u", 200, 3, "aaa", "n3", "n1", Duration.ofMillis(1), 1, 0, "");
        Client.Response missing = new Client.Response("u", 404, 9, "bbb", "", "n1", Duration.ofMillis(1), 1, 0, "");
        String[] lines = DemoCommand.table(List.of(
                        new DemoCommand.Row("n1", "/a.bin", proxied, "ok"),
                        new DemoCommand.Row("n1", "/none", missing, "ok")))
                .split("\n");
        assertThat(lines[1].split("\\s+")).startsWith("n1", "/a.bin", "n3", "proxied");
        assertThat(lines[2].split("\\s+")).startsWith("n1", "/none", "-", "no");
    }

    @Test
    void serverNamesAreBuiltinOrNginx() {
        assertThat(TestbedCommand.parseServer("NGINX")).isEqualTo(Spec.Server.NGINX);
        assertThat(TestbedCommand.parseServer("builtin")).isEqualTo(Spec.Server.BUILTIN);
        assertThat(TestbedCommand.parseServer("apache")).isNull();
    }
}
