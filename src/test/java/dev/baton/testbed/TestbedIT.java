package dev.baton.testbed;

import static org.assertj.core.api.Assertions.assertThat;

import dev.baton.cli.Main;
import dev.baton.config.NodeConfig;
import dev.baton.wire.Bytes;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import picocli.CommandLine;

/**
 * Brings a real two-node testbed up ({@code baton node} processes, namespaces, TUNs) and down
 * again. Needs root; failsafe passes the packaged jar as {@code -Dbaton.jar}.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class TestbedIT {
    private static final Path STATE = Path.of("/run/baton-testbed-it");
    private static final Duration TIMEOUT = Duration.ofSeconds(10);
    private static Testbed bed;

    @BeforeAll
    static void up() {
        assertThat(TestbedCommand.isRoot())
                .as("the testbed builds network namespaces: run as root (sudo ./baton test)")
                .isTrue();
        bed = Testbed.up(Spec.defaults().withNodes(2).withStateDir(STATE));
    }

    @AfterAll
    static void down() {
        if (bed != null) {
            bed.down();
        }
    }

    @Test
    @Order(1)
    void createsTheNamespaces() {
        assertThat(Testbed.batonNamespaces())
                .contains("baton-client", "baton-router", "baton-n1", "baton-n2")
                .doesNotContain("baton-n3");
    }

    @Test
    @Order(2)
    void routesEveryNodeAddressThroughItsWireTun() {
        String routes = run(Names.ROUTER_NETNS, "ip", "route", "show");
        // the node's wire TUN, or on the in-kernel data path its uplink's router end
        String w1 = bed.routerDeviceOf(1), w2 = bed.routerDeviceOf(2);
        assertThat(routes).contains("10.200.1.1 dev " + w1, "10.200.1.2 dev " + w2, "10.200.0.0/24 dev baton-r");
        assertThat(run(Names.ROUTER_NETNS, "ip", "link", "show", w2)).contains("UP", "mtu 1500");
        assertThat(run(Names.ROUTER_NETNS, "sysctl", "-n", "net.ipv4.ip_forward")
                        .strip())
                .isEqualTo("1");
        for (String dev : List.of("all", "default", "baton-r", w1, w2)) {
            assertThat(run(Names.ROUTER_NETNS, "sysctl", "-n", "net.ipv4.conf." + dev + ".rp_filter")
                            .strip())
                    .as("rp_filter of " + dev)
                    .isEqualTo("0");
        }
        assertThat(run(Names.ROUTER_NETNS, "ethtool", "-k", "baton-r")).contains("tx-checksumming: off");
    }

    @Test
    @Order(2)
    void startsEveryNodeFromTheTrainedAotCache() {
        AotCache aot = Testbed.aotCache().orElseThrow();
        assertThat(aot.usable())
                .as("the first up of this jar trained the cache")
                .isTrue();
        for (Testbed.Started p : bed.processes()) {
            if (p.kind().equals("node")) {
                assertThat(Testbed.commandLine(p.pid())).contains("-XX:AOTCache=" + aot.path());
            }
        }
    }

    @Test
    @Order(3)
    void givesEachNodeItsAddressOnTheKernelTun() {
        for (NodeInfo node : bed.nodes()) {
            if (bed.dataPath() == Spec.DataPath.TUN) {
                assertThat(run(node.netns(), "ip", "addr", "show", node.kernelDevice()))
                        .contains("inet " + node.ip() + "/32", "UP");
                assertThat(run(node.netns(), "ip", "route", "show")).contains("default dev " + node.kernelDevice());
            } else {
                // the address on the uplink, its router end the gateway, baton's programs on both hooks
                String uplink = Names.uplinkDevice(node.number());
                assertThat(run(node.netns(), "ip", "addr", "show", uplink)).contains("inet " + node.ip() + "/32", "UP");
                assertThat(run(node.netns(), "ip", "route", "show"))
                        .contains("default via " + Names.UPLINK_GATEWAY_IP + " dev " + uplink);
                assertThat(run(node.netns(), "tc", "filter", "show", "dev", uplink, "ingress"))
                        .contains("uplink_ingress");
                assertThat(run(node.netns(), "tc", "filter", "show", "dev", uplink, "egress"))
                        .contains("uplink_egress");
                assertThat(run(node.netns(), "ip", "link", "show", node.kernelDevice()))
                        .contains("UP");
            }
            assertThat(run(node.netns(), "ip", "link", "show", "lo")).contains("UP");
        }
    }

    @Test
    @Order(4)
    void givesTheClientItsAddressAndRouter() {
        assertThat(run(Names.CLIENT_NETNS, "ip", "addr", "show", "baton-c")).contains("inet 10.200.0.2/24");
        assertThat(run(Names.CLIENT_NETNS, "ip", "route", "show")).contains("default via 10.200.0.1 dev baton-c");
        assertThat(run(Names.CLIENT_NETNS, "ethtool", "-k", "baton-c")).contains("rx-checksumming: off");
    }

    @Test
    @Order(5)
    void describesWhatItBuilt() throws Exception {
        Description d = bed.description();
        assertThat(d.nodes()).extracting(NodeInfo::name).containsExactly("n1", "n2");
        assertThat(d.content().entries())
                .isNotEmpty()
                .allSatisfy(e -> assertThat(e.holders()).isNotEmpty().isSubsetOf("n1", "n2"));
        assertThat(d.toJson().fieldNames()).toIterable().containsExactly("client", "router", "nodes", "content");
        var state = Description.JSON.readTree(STATE.resolve(Names.STATE_FILE).toFile());
        assertThat(state.path("nodes")).isEqualTo(d.toJson().path("nodes"));
        assertThat(bed.processes())
                .extracting(Testbed.Started::kind)
                .containsOnly("node")
                .hasSize(2);
        assertThat(bed.processes())
                .allSatisfy(p -> assertThat(ProcessHandle.of(p.pid())).isPresent());
        assertThat(Files.exists(bed.node(2).log())).isTrue();
    }

    @Test
    @Order(6)
    void nodesSeeEachOther() {
        var stats = bed.stats();
        assertThat(stats.node("n1").peersUp()).contains("n2");
        assertThat(stats.node("n2").peersUp()).contains("n1");
    }

    @Test
    @Order(7)
    void servesAFileHeldByTheEntryNode() {
        ContentEntry index = bed.content().find("/index.html").orElseThrow();
        Client.Response r = bed.newClient().get(bed.node(1), "/index.html");
        assertThat(r.error()).isEmpty();
        assertThat(r.status()).isEqualTo(200);
        assertThat(r.sha256()).isEqualTo(index.sha256());
        assertThat(r.servedBy()).isEqualTo("n1");
    }

    @Test
    @Order(8)
    void nodesRunFromConfigFilesAsARealHostDoes() throws Exception {
        for (NodeInfo n : bed.nodes()) {
            Path config = STATE.resolve("node-" + n.name() + ".yaml");
            var loaded = NodeConfig.load(config).node();
            assertThat(loaded.name()).isEqualTo(n.name());
            assertThat(Bytes.ipv4ToString(loaded.address())).isEqualTo(n.ip());
            assertThat(loaded.kernelTun()).isEqualTo(n.kernelDevice());
            assertThat(Files.readString(n.log()))
                    .contains("baton node " + n.name() + " up")
                    .contains("from " + config);
        }
    }

    @Test
    @Order(9)
    void statusAsksARunningNodeThroughItsConfigFile() {
        StringWriter out = new StringWriter();
        CommandLine cmd = new CommandLine(new Main());
        cmd.setOut(new PrintWriter(out, true));
        int code =
                cmd.execute("status", "--config", STATE.resolve("node-n1.yaml").toString());
        assertThat(code).as(out.toString()).isZero();
        assertThat(out.toString())
                .contains("node n1 (10.200.1.1)")
                .contains("control links  up: n2\n")
                .contains("as entry");
    }

    @Test
    @Order(100)
    void downLeavesNoBatonNamespaceAndNoProcess() {
        List<Testbed.Started> started = bed.processes();
        bed.down();
        assertThat(Testbed.batonNamespaces()).isEmpty();
        assertThat(STATE).doesNotExist();
        assertThat(started)
                .allSatisfy(p -> assertThat(ProcessHandle.of(p.pid())).isEmpty());
    }

    private static String run(String netns, String... argv) {
        return bed.exec(netns, List.of(argv), TIMEOUT).requireSuccess().stdout();
    }
}
