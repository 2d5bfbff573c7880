package dev.baton.config;

import static org.assertj.core.api.Assertions.assertThat;

import dev.baton.fault.FaultRule;
import dev.baton.node.HostLayout;
import dev.baton.node.KernelPath;
import dev.baton.node.Node;
import dev.baton.route.Member;
import dev.baton.wire.Bytes;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.time.Duration;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What the writer writes, the parser reads back: every field, and names YAML would misread. */
class NodeConfigWriterTest {
    @TempDir
    Path dir;

    Path key;
    /** A docroot whose name needs quoting: a space, quotes, a backslash, a colon and a hash. */
    Path docroot;

    @BeforeEach
    void files() throws IOException {
        byte[] k = new byte[32];
        new SecureRandom().nextBytes(k);
        key = dir.resolve("cluster key: #1");
        Files.write(key, k);
        Files.setPosixFilePermissions(key, PosixFilePermissions.fromString("rw-------"));
        docroot = Files.createDirectories(dir.resolve("my \"www\" \\ dir: #2"));
    }

    @Test
    void readsBackEveryFieldOfANodeOnTheInKernelDataPath() throws Exception {
        Path file = new NodeConfigWriter("n2", key, docroot)
                .comment("written by NodeConfigWriterTest")
                .servicePort(8080)
                .controlPort(7070)
                .policy("local")
                .member("n1", "10.0.0.1")
                .member("n2", "10.0.0.2")
                .member(new NodeConfigWriter.Member("n3", "10.0.0.3", null, 7071))
                .builtinServer(true)
                .kernelTun("baton-t2")
                .wireTun("baton-w2")
                .adminSocket(dir.resolve("admin.sock"))
                .readyFile(dir.resolve("ready"))
                .metricsPort(9181)
                .metricsAddress("10.0.0.2")
                .datapath("baton-u2", Path.of("/sys/fs/bpf/baton/test-n2"))
                .linger(Duration.ofSeconds(5))
                .timeWait(Duration.ofMillis(1500))
                .peerGrace(Duration.ofSeconds(3))
                .offload(false)
                .eagerCommit(false)
                .fault(FaultRule.parse("drop dir=in p=0.01 seed=7"))
                .write(dir.resolve("n2.yaml"));
        assertThat(Files.readString(file)).startsWith("# written by NodeConfigWriterTest\n");

        NodeConfig c = NodeConfig.load(file);
        Node.Config n = c.node();
        assertThat(n.name()).isEqualTo("n2");
        assertThat(n.address()).isEqualTo(Bytes.parseIpv4("10.0.0.2"));
        assertThat(n.servicePort()).isEqualTo(8080);
        assertThat(n.controlPort()).isEqualTo(7070);
        assertThat(n.policy()).isEqualTo("local");
        assertThat(n.peers()).extracting(Member::name).containsExactly("n1", "n3");
        assertThat(n.controlPortOf("n1")).isEqualTo(7070);
        assertThat(n.controlPortOf("n3")).isEqualTo(7071);
        assertThat(n.docroot()).isEqualTo(docroot);
        assertThat(n.builtinServer()).isTrue();
        assertThat(n.kernelTun()).isEqualTo("baton-t2");
        assertThat(n.wireTun()).isEqualTo("baton-w2");
        assertThat(n.adminSocket()).isEqualTo(dir.resolve("admin.sock"));
        assertThat(n.readyFile()).isEqualTo(dir.resolve("ready"));
        assertThat(n.metricsPort()).isEqualTo(9181);
        assertThat(n.metricsAddress()).isEqualTo(Bytes.parseIpv4("10.0.0.2"));
        assertThat(n.kernelPath()).isEqualTo(new KernelPath("baton-u2", Path.of("/sys/fs/bpf/baton/test-n2")));
        assertThat(n.host()).isNull();
        assertThat(c.tuning().closing().linger()).isEqualTo(Duration.ofSeconds(5));
        assertThat(c.tuning().closing().timeWait()).isEqualTo(Duration.ofMillis(1500));
        assertThat(c.tuning().closing().peerGrace()).isEqualTo(Duration.ofSeconds(3));
        assertThat(c.tuning().offload()).isFalse();
        assertThat(c.tuning().eagerCommit()).isFalse();
        assertThat(c.tuning().faults()).containsExactly(FaultRule.parse("drop dir=in p=0.01 seed=7"));
    }

    @Test
    void readsBackARealHostsLayoutWithItsControlAddresses() throws Exception {
        Path file = new NodeConfigWriter("n1", key, docroot)
                .member(new NodeConfigWriter.Member("n1", "10.0.0.1", "10.1.0.1", null))
                .member(new NodeConfigWriter.Member("n2", "10.0.0.2", "10.1.0.2", null))
                .serverNamespace("baton-srv")
                .uplink("eth9")
                .mtu(9000)
                .write(dir.resolve("n1.yaml"));

        Node.Config n = NodeConfig.load(file).node();
        assertThat(n.host()).isEqualTo(new HostLayout("baton-srv", "eth9", 9000));
        assertThat(n.controlAddress()).isEqualTo(Bytes.parseIpv4("10.1.0.1"));
        assertThat(n.controlAddressOf(n.peers().getFirst())).isEqualTo(Bytes.parseIpv4("10.1.0.2"));
        assertThat(n.builtinServer()).isFalse();
        assertThat(n.kernelPath()).isNull();
    }

    /** Left out, a field takes the parser's default: the writer adds nothing of its own. */
    @Test
    void whatIsNotSetIsLeftToTheDefaults() throws Exception {
        NodeConfigWriter w = new NodeConfigWriter("a", key, docroot).member("a", "192.168.1.10");
        assertThat(w.yaml())
                .doesNotContain("tuning")
                .doesNotContain("servicePort")
                .doesNotContain("datapath");
        NodeConfig c = NodeConfig.load(w.write(dir.resolve("a.yaml")));
        assertThat(c.node().servicePort()).isEqualTo(NodeConfig.DEFAULT_SERVICE_PORT);
        assertThat(c.tuning()).isEqualTo(Node.Tuning.DEFAULT);
    }
}
