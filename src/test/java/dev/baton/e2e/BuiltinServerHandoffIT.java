package dev.baton.e2e;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import dev.baton.testbed.Client;
import dev.baton.testbed.ContentMap;
import dev.baton.testbed.NodeInfo;
import dev.baton.testbed.Spec;
import java.nio.file.Files;
import java.nio.file.Path;

/** The handoff scenarios with baton's built-in web server on every node. */
class BuiltinServerHandoffIT extends HandoffScenarios {
    @Override
    Spec.Server server() {
        return Spec.Server.BUILTIN;
    }

    /** The built-in server answers a POST with the length and SHA-256 of the body it read. */
    @Override
    void uploadThroughHandoff(NodeInfo entry, byte[] body) throws Exception {
        Path file = EndToEnd.scratch(bed, "upload.bin");
        Files.write(file, body);
        Client.Response r = client.post(entry, "/data/1k.bin", file);
        assertThat(r.status()).isEqualTo(200);
        assertThat(r.servedBy()).as("the POST was handed off to the holder").isEqualTo("n2");
        String expected = "{\"bytes\":" + body.length + ",\"sha256\":\"" + ContentMap.sha256(body) + "\"}";
        assertThat(r.sha256()).as("the server saw every byte").isEqualTo(ContentMap.sha256(expected.getBytes(UTF_8)));
    }
}
