package dev.baton.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.baton.fault.FaultRule;
import dev.baton.node.HostLayout;
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

/** The node's config file: what a good one gives, and where each bad one is wrong. */
class NodeConfigTest {
    @TempDir
    Path dir;

    private static final String GOOD = """
            # a three-node cluster, as host n2 sees it
            cluster:
              key: cluster.key
              servicePort: 8080
              controlPort: 7070
              policy: content
              members:
                - name: n1
                  address: 10.0.0.1
                - name: n2
                  address: 10.0.0.2
                - name: n3
                  address: 10.0.0.3
                  controlPort: 7071
            node:
              name: n2
              docroot: www
              server: builtin
              kernelTun: baton-t2
              wireTun: baton-w2
              adminSocket: /run/baton/n2.sock
              tuning:
                lingerMs: 5000
                eagerCommit: false
              faults:
                - drop dir=in p=0.01 seed=7
            """;

    @BeforeEach
    void files() throws IOException {
        byte[] key = new byte[32];
        new SecureRandom().nextBytes(key);
        Path k = dir.resolve("cluster.key");
        Files.write(k, key);
        Files.setPosixFilePermissions(k, PosixFilePermissions.fromString("rw-------"));
        Files.createDirectories(dir.resolve("www"));
    }

    private Path write(String yaml) throws IOException {
        Path f = dir.resolve("cluster.yaml");
        Files.writeString(f, yaml);
        return f;
    }

    @Test
    void aGoodFileGivesTheWholeNode() throws Exception {
        NodeConfig c = NodeConfig.load(write(GOOD));
        Node.Config n = c.node();
        assertThat(n.name()).isEqualTo("n2");
        assertThat(n.address()).isEqualTo(Bytes.parseIpv4("10.0.0.2"));
        assertThat(n.servicePort()).isEqualTo(8080);
        assertThat(n.controlPort()).isEqualTo(7070);
        assertThat(n.peers()).extracting(Member::name).containsExactly("n1", "n3");
        assertThat(n.controlPortOf("n1")).isEqualTo(7070);
        assertThat(n.controlPortOf("n3")).isEqualTo(7071);
        assertThat(n.docroot()).isEqualTo(dir.resolve("www"));
        assertThat(n.builtinServer()).isTrue();
        assertThat(n.kernelTun()).isEqualTo("baton-t2");
        assertThat(n.wireTun()).isEqualTo("baton-w2");
        assertThat(n.adminSocket()).isEqualTo(Path.of("/run/baton/n2.sock"));
        assertThat(n.readyFile()).isNull();
        assertThat(c.tuning().closing().linger()).isEqualTo(Duration.ofSeconds(5));
        assertThat(c.tuning().closing().timeWait())
                .isEqualTo(Node.Tuning.DEFAULT.closing().timeWait());
        assertThat(c.tuning().eagerCommit()).isFalse();
        assertThat(c.tuning().offload()).isTrue();
        assertThat(c.tuning().faults()).containsExactly(FaultRule.parse("drop dir=in p=0.01 seed=7"));
    }

    @Test
    void defaultsFillWhatIsLeftOut() throws Exception {
        NodeConfig c = NodeConfig.load(write("""
                cluster:
                  key: cluster.key
                  members:
                    - {name: a, address: 192.168.1.10}
                    - {name: b, address: 192.168.1.11}
                node:
                  name: a
                  docroot: www
                """));
        assertThat(c.node().servicePort()).isEqualTo(80);
        assertThat(c.node().controlPort()).isEqualTo(7070);
        assertThat(c.node().policy()).isEqualTo("content");
        assertThat(c.node().builtinServer()).isFalse();
        assertThat(c.node().kernelTun()).isEqualTo(NodeConfig.DEFAULT_KERNEL_TUN);
        assertThat(c.node().wireTun()).isEqualTo(NodeConfig.DEFAULT_WIRE_TUN);
        assertThat(c.tuning()).isEqualTo(Node.Tuning.DEFAULT);
    }

    private static final String HOST = """
            cluster:
              key: cluster.key
              members:
                - name: a
                  address: 192.0.2.10
                  controlAddress: 10.1.0.10
                - name: b
                  address: 192.0.2.11
                  controlAddress: 10.1.0.11
                - name: c
                  address: 192.0.2.12
            node:
              name: a
              docroot: www
              serverNamespace: baton-srv
            """;

    @Test
    void aRealHostHasItsServersNamespaceAndControlAddresses() throws Exception {
        Node.Config n = NodeConfig.load(write(HOST)).node();
        assertThat(n.host()).isEqualTo(new HostLayout("baton-srv", null, 1500));
        assertThat(n.address()).isEqualTo(Bytes.parseIpv4("192.0.2.10"));
        assertThat(n.controlAddress()).isEqualTo(Bytes.parseIpv4("10.1.0.10"));
        assertThat(n.controlAddressOf(n.peers().get(0))).isEqualTo(Bytes.parseIpv4("10.1.0.11"));
        assertThat(n.controlAddressOf(n.peers().get(1)))
                .as("no controlAddress: its service address")
                .isEqualTo(Bytes.parseIpv4("192.0.2.12"));
        Node.Config withMtu = NodeConfig.load(write(HOST + "  mtu: 9000\n  metricsAddress: 10.1.0.10\n"))
                .node();
        assertThat(withMtu.host().mtu()).isEqualTo(9000);
        assertThat(withMtu.metricsAddress()).isEqualTo(Bytes.parseIpv4("10.1.0.10"));
        assertThat(n.metricsAddress()).as("every address unless told").isZero();
        // In the server's namespace (no serverNamespace) the node's control address is its service address.
        assertThat(NodeConfig.load(write(GOOD)).node().controlAddress()).isEqualTo(Bytes.parseIpv4("10.0.0.2"));
    }

    @Test
    void aRealHostsFieldsAreCheckedTogether() throws IOException {
        rejects(HOST.replace("      controlAddress: 10.1.0.10\n", ""), 12, "node.name", "needs a controlAddress");
        rejects(
                HOST.replace("  serverNamespace: baton-srv\n", ""),
                6,
                "cluster.members[0].controlAddress",
                "needs node.serverNamespace");
        rejects(
                HOST.replace("  serverNamespace: baton-srv\n", "  uplink: eth0\n"),
                15,
                "node.uplink",
                "needs serverNamespace");
        rejects(HOST.replace("10.1.0.11", "192.0.2.10"), 9, "cluster.members[1].controlAddress", "another address");
        rejects(HOST + "  uplink: baton-none-such\n", 16, "node.uplink", "not an interface of this host");
        rejects(HOST + "  mtu: 100\n", 16, "node.mtu", "out of range");
        rejects(
                HOST + "  metricsPort: 0\n  metricsAddress: 10.1.0.10\n",
                17,
                "node.metricsAddress",
                "no metrics server");
        rejects(HOST + "  metricsAddress: 224.0.0.1\n", 16, "node.metricsAddress", "multicast");
        rejects(HOST.replace("baton-srv", "no/slash"), 15, "node.serverNamespace", "not a namespace name");
    }

    /** Loads {@code yaml} and expects an error at {@code line} naming {@code field}, saying {@code what}. */
    private void rejects(String yaml, int line, String field, String what) throws IOException {
        Path f = write(yaml);
        assertThatThrownBy(() -> NodeConfig.load(f)).isInstanceOfSatisfying(ConfigException.class, e -> {
            assertThat(e.file()).isEqualTo(f);
            assertThat(e.line()).as(e.getMessage()).isEqualTo(line);
            assertThat(e.field()).as(e.getMessage()).isEqualTo(field);
            assertThat(e.getMessage()).startsWith(f + ":" + line + ":").contains(what);
        });
    }

    @Test
    void aTypoIsAnUnknownFieldAtItsLine() throws IOException {
        rejects(GOOD.replace("    lingerMs: 5000", "    lingerMS: 5000"), 23, "node.tuning.lingerMS", "unknown field");
        rejects(GOOD.replace("  servicePort: 8080", "  servicePrt: 8080"), 4, "cluster.servicePrt", "expected one of");
    }

    @Test
    void badValuesAreNamedWithTheirLine() throws IOException {
        rejects(GOOD.replace("10.0.0.3", "10.0.0"), 13, "cluster.members[2].address", "not an IPv4 address");
        rejects(GOOD.replace("10.0.0.3", "10.0.0.1"), 13, "cluster.members[2].address", "another member's");
        rejects(GOOD.replace("address: 10.0.0.1", "address: 127.0.0.1"), 9, "cluster.members[0].address", "loopback");
        rejects(
                GOOD.replace("controlPort: 7071", "controlPort: 70710"),
                14,
                "cluster.members[2].controlPort",
                "out of range");
        rejects(GOOD.replace("servicePort: 8080", "servicePort: http"), 4, "cluster.servicePort", "not a whole number");
        rejects(GOOD.replace("- name: n3", "- name: n1"), 12, "cluster.members[2].name", "named twice");
        rejects(
                GOOD.replace("  name: n2\n  docroot", "  name: n9\n  docroot"),
                16,
                "node.name",
                "not one of the members");
        rejects(GOOD.replace("server: builtin", "server: apache"), 18, "node.server", "external or builtin");
        rejects(GOOD.replace("docroot: www", "docroot: nowhere"), 17, "node.docroot", "not a directory");
        rejects(
                GOOD.replace("eagerCommit: false", "eagerCommit: maybe"),
                24,
                "node.tuning.eagerCommit",
                "true or false");
        rejects(GOOD.replace("lingerMs: 5000", "lingerMs: 5"), 23, "node.tuning.lingerMs", "out of range");
        rejects(GOOD.replace("drop dir=in p=0.01 seed=7", "drop p=2"), 26, "node.faults[0]", "");
        rejects(GOOD.replace("policy: content", "policy: roundrobin"), 6, "cluster.policy", "no routing policy");
        rejects(GOOD.replace("wireTun: baton-w2", "wireTun: a-name-far-too-long"), 20, "node.wireTun", "device name");
    }

    @Test
    void missingFieldsAreNamedAtTheirMapping() throws IOException {
        rejects(GOOD.replace("  docroot: www\n", ""), 16, "node", "'docroot' is missing");
        rejects(GOOD.replace("      address: 10.0.0.1\n", ""), 8, "cluster.members[0]", "'address' is missing");
        rejects(
                "cluster:\n  key: cluster.key\n  members: []\nnode:\n  name: x\n  docroot: www\n",
                3,
                "cluster.members",
                "names no member");
    }

    @Test
    void theKeyFileMustBeUsable() throws IOException {
        rejects(GOOD.replace("key: cluster.key", "key: missing.key"), 3, "cluster.key", "no such file");
        Files.setPosixFilePermissions(dir.resolve("cluster.key"), PosixFilePermissions.fromString("rw-r--r--"));
        rejects(GOOD, 3, "cluster.key", "");
    }

    @Test
    void brokenYamlAndWrongShapesAreErrorsNotCrashes() throws IOException {
        rejects("cluster: [unclosed\nnode: {}\n", 2, "", "not valid YAML");
        rejects(
                GOOD.replace("  members:", "  members: 5\n  x:").replaceAll("(?s)  x:.*?node:", "node:"),
                7,
                "cluster.members",
                "must be a list");
        rejects("- just\n- a list\n", 1, "", "must be a mapping");
        rejects("cluster:\n  key: a\n  key: b\n", 3, "cluster.key", "given twice");
        Path empty = write("");
        assertThatThrownBy(() -> NodeConfig.load(empty))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("is empty");
        Path none = dir.resolve("absent.yaml");
        assertThatThrownBy(() -> NodeConfig.load(none))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("cannot read");
    }

    @Test
    void yamlTagsCannotBuildObjects() throws IOException {
        rejects(
                GOOD.replace("policy: content", "policy: !!java.net.URL [\"http://x\"]"),
                6,
                "",
                "Global tag is not allowed");
    }
}
