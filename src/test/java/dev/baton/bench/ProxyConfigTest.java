package dev.baton.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.baton.testbed.ContentEntry;
import dev.baton.testbed.ContentMap;
import dev.baton.testbed.NginxConfig;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

class ProxyConfigTest {
    static final ContentMap CONTENT = ContentMap.of(List.of(
            new ContentEntry("/bench/n2/1k-00.bin", 1024, "aa", List.of("n2")),
            new ContentEntry("/shared/x.bin", 10, "bb", List.of("n3", "n1"))));
    static final ProxyConfig.Files FILES = ProxyConfig.Files.in(Path.of("/run/baton-bench/bench"));

    @Test
    void haproxyRoutesByPathToTheFirstHolderOverTheDirectPathsAndReusesConnections() {
        String map = ProxyConfig.haproxyMap(CONTENT);
        assertThat(map).contains("\n/bench/n2/1k-00.bin n2\n").contains("\n/shared/x.bin n3\n");
        String cfg = ProxyConfig.haproxy(1, 4, FILES);
        assertThat(cfg)
                .contains("    bind 10.200.2.1:8001\n")
                .contains("    http-reuse always\n")
                .contains("    use_backend %[path,map(/run/baton-bench/bench/haproxy.map)]\n")
                .contains("backend n4\n    server n4 10.200.2.4:80\n")
                .contains("    nbthread 1\n")
                .doesNotContain("10.200.1.");
    }

    @Test
    void nginxProxiesByPathToKeptAliveUpstreamsOverTheDirectPaths() {
        String cfg = ProxyConfig.nginx(1, 4, CONTENT, FILES);
        assertThat(cfg)
                .contains("listen 10.200.2.1:8002;")
                .contains("\"/bench/n2/1k-00.bin\" n2;")
                .contains("\"/shared/x.bin\" n3;")
                .contains("upstream n2 {\n        server 10.200.2.2:80;\n        keepalive 64;")
                .contains("proxy_pass http://$baton_holder;")
                .contains("proxy_http_version 1.1;")
                .contains("proxy_set_header Connection \"\";")
                .contains("worker_processes 1;")
                .contains("access_log off;")
                .contains("pid /run/baton-bench/bench/nginx-proxy.pid;")
                .doesNotContain("10.200.1.");
        // Braces balance: nginx would refuse the file otherwise.
        assertThat(cfg.chars().filter(c -> c == '{').count())
                .isEqualTo(cfg.chars().filter(c -> c == '}').count());
    }

    @Test
    void refusesWhatItsFilesCannotSay() {
        ContentMap spaced = ContentMap.of(List.of(new ContentEntry("/a b.bin", 1, "cc", List.of("n1"))));
        assertThatThrownBy(() -> ProxyConfig.haproxyMap(spaced)).isInstanceOf(IllegalArgumentException.class);
        ProxyConfig.Files odd = ProxyConfig.Files.in(Path.of("/run/a$b"));
        assertThatThrownBy(() -> ProxyConfig.nginx(1, 2, CONTENT, odd)).isInstanceOf(IllegalArgumentException.class);
        assertThat(NginxConfig.quote("/a\"b")).isEqualTo("\"/a\\\"b\"");
    }
}
