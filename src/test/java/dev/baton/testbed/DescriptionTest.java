package dev.baton.testbed;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

class DescriptionTest {
    private static final Path STATE = Path.of("/run/baton-testbed");

    private static Description sample() {
        List<NodeInfo> nodes = List.of(
                NodeInfo.of(1, STATE.resolve("content/n1"), STATE), NodeInfo.of(2, STATE.resolve("content/n2"), STATE));
        ContentMap content = ContentMap.of(List.of(new ContentEntry("/a/b.bin", 123, "ab12", List.of("n1", "n2"))));
        return new Description(ClientInfo.standard(), Names.ROUTER_NETNS, nodes, content);
    }

    @Test
    void jsonHasExactlyTheDocumentedShape() {
        assertThat(sample().toJsonString())
                .isEqualTo(
                        "{\"client\":{\"netns\":\"baton-client\",\"ip\":\"10.200.0.2\"},"
                                + "\"router\":{\"netns\":\"baton-router\"},"
                                + "\"nodes\":[{\"name\":\"n1\",\"netns\":\"baton-n1\",\"ip\":\"10.200.1.1\",\"port\":80,"
                                + "\"wireDevice\":\"baton-w1\",\"docroot\":\"/run/baton-testbed/content/n1\"},"
                                + "{\"name\":\"n2\",\"netns\":\"baton-n2\",\"ip\":\"10.200.1.2\",\"port\":80,"
                                + "\"wireDevice\":\"baton-w2\",\"docroot\":\"/run/baton-testbed/content/n2\"}],"
                                + "\"content\":[{\"path\":\"/a/b.bin\",\"bytes\":123,\"sha256\":\"ab12\",\"holders\":[\"n1\",\"n2\"]}]}");
    }

    @Test
    void readsBackWhatItWrote() {
        Description original = sample();
        Description read = Description.fromJson(original.toJson(), STATE);
        assertThat(read.toJsonString()).isEqualTo(original.toJsonString());
        assertThat(read.nodes().get(1).adminSocket()).isEqualTo(STATE.resolve("node-n2.sock"));
        assertThat(read.nodes().get(1).kernelDevice()).isEqualTo("baton-t2");
    }

    @Test
    void summaryNamesEveryNodeAndHowManyFilesItHolds() {
        String summary = sample().summary();
        assertThat(summary)
                .contains("n1", "10.200.1.1", "baton-w2", "1 files", "1 replicated")
                .contains("curl -si http://10.200.1.1/a/b.bin");
    }
}
