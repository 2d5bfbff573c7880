package dev.baton.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import dev.baton.testbed.Client;
import dev.baton.testbed.ContentMap;
import dev.baton.testbed.NodeInfo;
import dev.baton.testbed.Spec;
import dev.baton.testbed.Testbed;
import java.nio.file.Files;
import java.nio.file.Path;

/** The handoff scenarios with an unmodified nginx on every node. */
class NginxHandoffIT extends HandoffScenarios {
    @Override
    Spec.Server server() {
        assertThat(Testbed.findOnPath("nginx"))
                .as("nginx must be installed (apt-get install nginx)")
                .isPresent();
        return Spec.Server.NGINX;
    }

    /**
     * nginx stores a PUT (its DAV module). The new file lies under {@code /data/}, a directory only n2
     * holds, so the entry hands the upload to n2, whose nginx writes it into n2's document root.
     */
    @Override
    void uploadThroughHandoff(NodeInfo entry, byte[] body) throws Exception {
        Path file = EndToEnd.scratch(bed, "upload.bin");
        Files.write(file, body);
        Client.Response r = client.put(entry, "/data/uploaded.bin", file);
        assertThat(r.status()).isIn(201, 204);
        assertThat(r.servedBy())
                .as("the PUT was handed off to the holder of /data/")
                .isEqualTo("n2");
        Path stored = bed.node(2).docroot().resolve("data/uploaded.bin");
        assertThat(ContentMap.sha256(stored)).as("n2's nginx stored every byte").isEqualTo(ContentMap.sha256(body));
    }
}
