package dev.baton.testbed;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.assertj.core.api.Assertions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class NginxConfigTest {
    @TempDir
    Path dir;

    private static ContentMap content() {
        return ContentMap.of(List.of(
                new ContentEntry("/mine.html", 1, "x", List.of("n1")),
                new ContentEntry("/shared.css", 1, "x", List.of("n1", "n3")),
                new ContentEntry("/docs/a b%.txt", 1, "x", List.of("n3")),
                new ContentEntry("/video/big.bin", 1, "x", List.of("n2", "n3")),
                new ContentEntry("/odd\"name\\.txt", 1, "x", List.of("n2"))));
    }

    private String render() {
        return NginxConfig.render(1, dir.resolve("content/n1"), NginxConfig.Paths.of(dir, 1), content());
    }

    @Test
    void mapsOnlyFilesOtherNodesHoldToTheirFirstHolder() {
        String conf = render();
        assertThat(conf)
                .contains("\"/docs/a b%.txt\" 10.200.1.3:80;")
                .contains("\"/video/big.bin\" 10.200.1.2:80;")
                .contains("\"/odd\\\"name\\\\.txt\" 10.200.1.2:80;")
                .doesNotContain("\"/mine.html\"")
                .doesNotContain("\"/shared.css\"");
    }

    @Test
    void servesLocallyWithTheNodeHeaderAndFallsBackToTheCluster() {
        String conf = render();
        assertThat(conf)
                .contains(
                        "worker_processes 1;",
                        "daemon on;",
                        "access_log off;",
                        "sendfile on;",
                        "keepalive_requests 10000;",
                        "listen 80;",
                        "add_header X-Baton-Node n1 always;",
                        "dav_methods PUT;",
                        "create_full_put_path on;",
                        "client_max_body_size 256m;",
                        "error_page 404 = @cluster;",
                        "proxy_pass http://$baton_holder;",
                        "proxy_set_header X-Baton-Forwarded 1;",
                        "pid \"" + dir.resolve("nginx-n1.pid") + "\";",
                        "error_log \"" + dir.resolve("nginx-n1.err") + "\";",
                        "root \"" + dir.resolve("content/n1") + "\";",
                        "disable_symlinks on from=$document_root;",
                        "client_body_temp_path \"" + dir.resolve("nginx-n1/client_body_temp") + "\";");
        // Unknown paths and already forwarded requests end in a 404, never in a loop.
        assertThat(conf).contains("default \"\";", "if ($baton_holder = \"\")", "if ($http_x_baton_forwarded)");
    }

    @Test
    void refusesPathsNginxWouldReadAsVariables() {
        assertThatThrownBy(() -> NginxConfig.render(1, dir.resolve("$x"), NginxConfig.Paths.of(dir, 1), content()))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void nginxAcceptsTheConfiguration() throws IOException {
        // On a developer's machine without nginx this check is skipped; in CI (CI=true) it must run.
        if (System.getenv("CI") != null) {
            Assertions.assertThat(Testbed.findOnPath("nginx"))
                    .as("nginx must be installed in CI")
                    .isPresent();
        }
        assumeTrue(Testbed.findOnPath("nginx").isPresent(), "nginx is not installed (apt-get install nginx)");
        NginxConfig.Paths paths = NginxConfig.Paths.of(dir, 1);
        Files.createDirectories(paths.prefix());
        Files.createDirectories(dir.resolve("content/n1"));
        Files.writeString(paths.config(), render());
        ProcessResult r = Commands.run(
                List.of(
                        "nginx",
                        "-t",
                        "-q",
                        "-p",
                        paths.prefix() + "/",
                        "-e",
                        paths.errorLog().toString(),
                        "-c",
                        paths.config().toString()),
                Duration.ofSeconds(10));
        assertThat(r.exitCode()).as(r.stderr()).isZero();
    }
}
