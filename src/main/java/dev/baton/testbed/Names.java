package dev.baton.testbed;

import java.nio.file.Path;
import java.time.Duration;

/**
 * Every name, address and fixed number of the testbed, in one place (docs/ARCHITECTURE.md, "The testbed").
 *
 * <pre>
 *  client netns baton-client     veth baton-c 10.200.0.2/24, default via 10.200.0.1
 *       | veth pair
 *  router netns baton-router     veth baton-r 10.200.0.1/24; route 10.200.1.N/32 dev baton-wN
 *       | TUN baton-wN           wire side of node N, opened by the node, moved here by the testbed
 *  [ baton node N ]              holds both TUN fds
 *       | TUN baton-tN           kernel side; 10.200.1.N/32, default route dev baton-tN
 *  node netns baton-nN           kernel TCP + web server on port 80
 * </pre>
 *
 * With {@link Spec#directPaths()} (for {@code baton bench}) each node also gets a plain path that
 * bypasses its BTCP: a veth pair {@code baton-dN} (router side, {@code 10.200.2.254/32}) to
 * {@code baton-eN} (node side, {@code 10.200.2.N/32}). The node answers from that address through
 * the veth (a source rule), and reaches the other nodes' direct addresses through it.
 *
 * Every namespace and device the testbed creates starts with {@link #PREFIX}, so a clean-up can
 * find what a crashed run left without touching anything else.
 */
public final class Names {
    private Names() {}

    /** Prefix of every namespace and device the testbed owns. */
    public static final String PREFIX = "baton-";

    public static final String CLIENT_NETNS = "baton-client";
    public static final String ROUTER_NETNS = "baton-router";
    /** The client's end of the veth pair. */
    public static final String CLIENT_VETH = "baton-c";
    /** The router's end of the veth pair. */
    public static final String ROUTER_VETH = "baton-r";

    public static final String CLIENT_IP = "10.200.0.2";
    public static final String ROUTER_IP = "10.200.0.1";
    /** Prefix length of the client-router link. */
    public static final int LINK_PREFIX_LENGTH = 24;
    /** Node N's address is {@code NODE_NET_PREFIX + N}. */
    public static final String NODE_NET_PREFIX = "10.200.1.";
    /** Node N's direct (non-BTCP) address is {@code DIRECT_NET_PREFIX + N}. */
    public static final String DIRECT_NET_PREFIX = "10.200.2.";
    /** The router's address on every direct veth (the nodes' gateway on that path). */
    public static final String DIRECT_GATEWAY_IP = "10.200.2.254";
    /** Routing table of the direct path in each node's namespace (chosen by source address). */
    public static final int DIRECT_ROUTE_TABLE = 200;
    /** One MTU everywhere: the client keeps the entry node's MSS after a handoff (docs/KERNEL-FACTS.md). */
    public static final int MTU = 1500;
    /** Port of the web service on every node. */
    public static final int SERVICE_PORT = 80;
    /** Port of the control channel between nodes. */
    public static final int CONTROL_PORT = 7070;
    /** Largest node count: node addresses are 10.200.1.1 .. 10.200.1.250. */
    public static final int MAX_NODES = 250;

    /** Default state directory: pids, logs, generated content, nginx configs. */
    public static final Path DEFAULT_STATE_DIR = Path.of("/run/baton-testbed");
    /** Name of the state file inside the state directory. */
    public static final String STATE_FILE = "testbed.json";

    /** How long a node may take to open its TUNs and write its ready file. */
    public static final Duration NODE_READY_TIMEOUT = Duration.ofSeconds(20);
    /** How long the nodes may take to see all their peers. */
    public static final Duration CLUSTER_READY_TIMEOUT = Duration.ofSeconds(20);
    /** Timeout of one admin socket query. */
    public static final Duration ADMIN_TIMEOUT = Duration.ofSeconds(2);
    /** Time between SIGTERM and SIGKILL when stopping a process. */
    public static final Duration STOP_GRACE = Duration.ofSeconds(3);
    /** Timeout of one short configuration command (ip, sysctl, ethtool). */
    public static final Duration COMMAND_TIMEOUT = Duration.ofSeconds(10);

    /** {@code n3} for node 3. */
    public static String nodeName(int node) {
        return "n" + node;
    }

    /** {@code baton-n3} for node 3. */
    public static String nodeNetns(int node) {
        return PREFIX + nodeName(node);
    }

    /** {@code 10.200.1.3} for node 3. */
    public static String nodeIp(int node) {
        return NODE_NET_PREFIX + node;
    }

    /** {@code baton-w3}: node 3's wire-side TUN, which lives in the router namespace. */
    public static String wireDevice(int node) {
        return PREFIX + "w" + node;
    }

    /** {@code baton-t3}: node 3's kernel-side TUN, which carries the node's address. */
    public static String kernelDevice(int node) {
        return PREFIX + "t" + node;
    }

    /** The router's address on every node's uplink, the nodes' gateway (the in-kernel data path's layout). */
    public static final String UPLINK_GATEWAY_IP = "10.200.1.254";
    /** Where the nodes pin their data path's maps (a directory of ours on the host's bpffs). */
    public static final Path PIN_ROOT = Path.of("/sys/fs/bpf/baton-testbed");

    /** {@code baton-u3}: node 3's uplink, the veth that carries its address (in-kernel data path). */
    public static String uplinkDevice(int node) {
        return PREFIX + "u" + node;
    }

    /** {@code baton-v3}: the router's end of node 3's uplink. */
    public static String routerUplinkDevice(int node) {
        return PREFIX + "v" + node;
    }

    /** Where node 3 pins its data path's maps. */
    public static Path pins(int node) {
        return PIN_ROOT.resolve(nodeName(node));
    }

    /** {@code 10.200.2.3} for node 3: its direct address, which bypasses the BTCP. */
    public static String directIp(int node) {
        return DIRECT_NET_PREFIX + node;
    }

    /** {@code baton-d3}: the router's end of node 3's direct veth. */
    public static String directRouterDevice(int node) {
        return PREFIX + "d" + node;
    }

    /** {@code baton-e3}: node 3's end of its direct veth, which carries {@link #directIp}. */
    public static String directNodeDevice(int node) {
        return PREFIX + "e" + node;
    }

    /** Node number of a name like {@code n3}, or -1 if it is not one. */
    public static int nodeNumber(String name) {
        if (name == null || !name.matches("n[1-9][0-9]{0,2}")) {
            return -1;
        }
        return Integer.parseInt(name.substring(1));
    }
}
