package dev.baton.config;

import dev.baton.btcp.Btcp;
import dev.baton.config.Yaml.Mapping;
import dev.baton.config.Yaml.Value;
import dev.baton.control.ClusterKey;
import dev.baton.fault.FaultRule;
import dev.baton.node.HostLayout;
import dev.baton.node.KernelPath;
import dev.baton.node.Node;
import dev.baton.route.Member;
import dev.baton.route.RoutingPolicy;
import dev.baton.wire.Bytes;
import java.net.NetworkInterface;
import java.net.SocketException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * One host's {@code baton node --config FILE}: the cluster (the same on every host) and this node's
 * own part. Everything is checked before the node starts, and the first problem is reported with
 * its file, line and field ({@link ConfigException}); the daemon never starts half-configured.
 *
 * <pre>
 * cluster:                        # the same on every member
 *   key: /etc/baton/cluster.key   # the shared secret (32-1024 bytes, mode 0600)
 *   servicePort: 80               # optional, 80
 *   controlPort: 7070             # optional, 7070: the members' default
 *   policy: content               # optional, content
 *   members:
 *     - name: n1
 *       address: 10.0.0.1         # the service address; control links use it too unless:
 *       controlAddress: 10.1.0.1  # optional: the host's own address, for control links
 *     - name: n2
 *       address: 10.0.0.2
 *       controlPort: 7071         # optional, the cluster's controlPort
 * node:                           # this host
 *   name: n1                      # which member it is
 *   docroot: /srv/www             # its content (announced to the others)
 *   server: external              # optional, external (a web server of yours) or builtin
 *   kernelTun: baton-t1           # optional, baton-k: TUN on the server's side
 *   wireTun: baton-w1             # optional, baton-w: TUN on the network's side
 *   adminSocket: /run/baton/admin.sock   # optional
 *   readyFile: /run/baton/ready  # optional: written with the pid once the TUNs exist
 *   metricsPort: 9180             # optional, 9180: GET /metrics (Prometheus), the dashboard; 0: none
 *   metricsAddress: 10.1.0.1      # optional, every address: where they listen
 *   serverNamespace: baton-srv    # optional: a real host (HostLayout): the server's namespace
 *   uplink: eth0                  # optional, with serverNamespace: answer ARP for the address here
 *   mtu: 1500                     # optional, with serverNamespace: the uplink's, else 1500
 *   datapath:                     # optional: the in-kernel data path (BPF), not with serverNamespace
 *     uplink: eth0                #   the interface with the service address; the programs attach here
 *     pins: /sys/fs/bpf/baton/n1  #   optional, /sys/fs/bpf/baton/NAME: where its maps are pinned
 *   tuning:                       # optional
 *     lingerMs: 10000
 *     timeWaitMs: 60000
 *     peerGraceMs: 10000
 *     offload: true
 *     eagerCommit: true
 *   faults: []                    # optional: fault rules from the start (docs/RELIABILITY.md)
 * </pre>
 */
public record NodeConfig(Path file, Node.Config node, Node.Tuning tuning) {
    public static final int DEFAULT_SERVICE_PORT = 80;
    public static final int DEFAULT_CONTROL_PORT = 7070;
    public static final String DEFAULT_KERNEL_TUN = "baton-k";
    public static final String DEFAULT_WIRE_TUN = "baton-w";

    /** Reads and checks {@code file}. */
    public static NodeConfig load(Path file) throws ConfigException {
        Mapping root = Yaml.read(file);
        Mapping cluster = root.required("cluster").mapping();
        Mapping node = root.required("node").mapping();
        root.done();

        Value keyValue = cluster.required("key");
        Path keyFile = resolve(file, keyValue.string());
        ClusterKey key;
        try {
            key = ClusterKey.read(keyFile);
        } catch (IllegalArgumentException e) {
            throw keyValue.error(e.getMessage());
        }
        int servicePort = port(cluster.optional("servicePort"), DEFAULT_SERVICE_PORT);
        int controlPort = port(cluster.optional("controlPort"), DEFAULT_CONTROL_PORT);
        Value policyValue = cluster.optional("policy");
        String policy = policyValue == null ? "content" : policyValue.string();
        if (policyValue != null) {
            try {
                RoutingPolicy.load(policy);
            } catch (IllegalArgumentException e) {
                throw policyValue.error(e.getMessage());
            }
        }
        Value membersValue = cluster.required("members");
        List<Value> memberList = membersValue.list();
        if (memberList.isEmpty()) throw membersValue.error("names no member");
        Map<String, Member> members = new LinkedHashMap<>();
        Map<String, Integer> controlPorts = new LinkedHashMap<>();
        Map<String, Integer> controlAddresses = new LinkedHashMap<>();
        Map<String, Value> controlAddressValues = new LinkedHashMap<>();
        Set<Integer> addresses = new HashSet<>();
        for (Value item : memberList) {
            Mapping m = item.mapping();
            Value nameValue = m.required("name");
            String name = nameValue.string();
            if (!name.matches("[A-Za-z0-9][A-Za-z0-9._-]{0,62}")) {
                throw nameValue.error("'" + name + "' is not a member name (letters, digits, '.', '_', '-'; 1-63)");
            }
            if (members.containsKey(name)) throw nameValue.error("'" + name + "' is named twice");
            Value addressValue = m.required("address");
            int address = ipv4(addressValue);
            if (!addresses.add(address)) throw addressValue.error(addressValue.string() + " is another member's too");
            controlPorts.put(name, port(m.optional("controlPort"), controlPort));
            Value controlValue = m.optional("controlAddress");
            if (controlValue != null) {
                int control = ipv4(controlValue);
                if (!addresses.add(control))
                    throw controlValue.error(controlValue.string() + " is another address too");
                controlAddresses.put(name, control);
                controlAddressValues.put(name, controlValue);
            }
            m.done();
            if (members.size() == 254) throw item.error("more than 254 members");
            members.put(name, new Member(name, address));
        }
        cluster.done();

        Value selfValue = node.required("name");
        String self = selfValue.string();
        Member me = members.get(self);
        if (me == null) throw selfValue.error("'" + self + "' is not one of the members " + members.keySet());
        Value docrootValue = node.required("docroot");
        Path docroot = resolve(file, docrootValue.string());
        if (!Files.isDirectory(docroot)) throw docrootValue.error(docroot + " is not a directory");
        Value serverValue = node.optional("server");
        String server = serverValue == null ? "external" : serverValue.string();
        if (!server.equals("external") && !server.equals("builtin")) {
            throw serverValue.error("must be external or builtin, not " + server);
        }
        String kernelTun = device(node.optional("kernelTun"), DEFAULT_KERNEL_TUN);
        String wireTun = device(node.optional("wireTun"), DEFAULT_WIRE_TUN);
        if (kernelTun.equals(wireTun)) throw node.self.error("kernelTun and wireTun must differ");
        Path adminSocket = optionalPath(file, node.optional("adminSocket"));
        Path readyFile = optionalPath(file, node.optional("readyFile"));
        Value metricsValue = node.optional("metricsPort");
        int metricsPort = metricsValue == null ? Node.Config.DEFAULT_METRICS_PORT : metricsValue.integer(0, 65535);
        Value metricsAddressValue = node.optional("metricsAddress");
        int metricsAddress = 0;
        if (metricsAddressValue != null) {
            if (metricsPort == 0) throw metricsAddressValue.error("there is no metrics server (metricsPort is 0)");
            metricsAddress = listenAddress(metricsAddressValue);
        }
        HostLayout host = hostLayout(node, selfValue, self, controlAddresses.containsKey(self));
        KernelPath kernelPath = kernelPath(node.optional("datapath"), self, host != null);
        Node.Tuning tuning = tuning(node.optional("tuning"), node.optional("faults"));
        node.done();
        if (host == null && controlAddressValues.containsKey(self)) {
            throw controlAddressValues
                    .get(self)
                    .error("a separate control address needs node.serverNamespace"
                            + " (in the server's namespace baton has only the service address)");
        }

        List<Member> peers = new ArrayList<>();
        Map<String, Integer> peerPorts = new LinkedHashMap<>();
        Map<String, Integer> peerAddresses = new LinkedHashMap<>();
        for (Member m : members.values()) {
            if (!m.name().equals(self)) {
                peers.add(m);
                peerPorts.put(m.name(), controlPorts.get(m.name()));
                if (controlAddresses.containsKey(m.name())) peerAddresses.put(m.name(), controlAddresses.get(m.name()));
            }
        }
        Node.Config cfg = new Node.Config(
                self,
                me.address(),
                servicePort,
                controlPorts.get(self),
                kernelTun,
                wireTun,
                peers,
                docroot,
                server.equals("builtin"),
                policy,
                adminSocket,
                readyFile,
                key,
                peerPorts,
                metricsPort,
                controlAddresses.getOrDefault(self, me.address()),
                peerAddresses,
                host,
                metricsAddress,
                kernelPath);
        return new NodeConfig(file, cfg, tuning);
    }

    /** The in-kernel data path, when {@code datapath} is given; null otherwise. */
    private static KernelPath kernelPath(Value v, String self, boolean hostLayout) throws ConfigException {
        if (v == null) return null;
        if (hostLayout) throw v.error("and serverNamespace are two layouts: choose one");
        Mapping m = v.mapping();
        String uplink = device(m.required("uplink"), null);
        Value pinsValue = m.optional("pins");
        Path pins = pinsValue == null ? KernelPath.BPFFS.resolve("baton").resolve(self) : Path.of(pinsValue.string());
        if (!pins.isAbsolute()) throw pinsValue.error("must be an absolute path on a bpffs");
        m.done();
        return new KernelPath(uplink, pins);
    }

    /** The real-host layout, when {@code serverNamespace} names one; null otherwise. */
    private static HostLayout hostLayout(Mapping node, Value selfValue, String self, boolean hasControlAddress)
            throws ConfigException {
        Value nsValue = node.optional("serverNamespace");
        Value uplinkValue = node.optional("uplink");
        Value mtuValue = node.optional("mtu");
        if (nsValue == null) {
            Value stray = uplinkValue != null ? uplinkValue : mtuValue;
            if (stray != null) throw stray.error("is for a real host: it needs serverNamespace");
            return null;
        }
        String ns = nsValue.string();
        if (!ns.matches("[A-Za-z0-9][A-Za-z0-9._-]{0,62}")) {
            throw nsValue.error("'" + ns + "' is not a namespace name (letters, digits, '.', '_', '-'; 1-63)");
        }
        if (!hasControlAddress) {
            throw selfValue.error("member " + self + " needs a controlAddress (this host's own address) when"
                    + " serverNamespace is set: the service address lives in the server's namespace");
        }
        String uplink = device(uplinkValue, null);
        int mtu;
        if (mtuValue != null) {
            mtu = mtuValue.integer(576, 65535);
        } else {
            mtu = uplink == null ? 1500 : uplinkMtu(uplinkValue, uplink);
        }
        return new HostLayout(ns, uplink, mtu);
    }

    private static int uplinkMtu(Value v, String uplink) throws ConfigException {
        try {
            NetworkInterface nic = NetworkInterface.getByName(uplink);
            if (nic != null) return nic.getMTU();
        } catch (SocketException e) {
            // reported below
        }
        throw v.error(uplink + " is not an interface of this host");
    }

    private static Node.Tuning tuning(Value tuningValue, Value faultsValue) throws ConfigException {
        Node.Tuning d = Node.Tuning.DEFAULT;
        Duration linger = d.closing().linger();
        Duration timeWait = d.closing().timeWait();
        Duration peerGrace = d.closing().peerGrace();
        boolean offload = d.offload();
        boolean eager = d.eagerCommit();
        if (tuningValue != null) {
            Mapping t = tuningValue.mapping();
            Value v;
            if ((v = t.optional("lingerMs")) != null) linger = millis(v);
            if ((v = t.optional("timeWaitMs")) != null) timeWait = millis(v);
            if ((v = t.optional("peerGraceMs")) != null) peerGrace = millis(v);
            if ((v = t.optional("offload")) != null) offload = v.bool();
            if ((v = t.optional("eagerCommit")) != null) eager = v.bool();
            t.done();
        }
        List<FaultRule> rules = new ArrayList<>();
        if (faultsValue != null) {
            for (Value f : faultsValue.list()) {
                try {
                    rules.add(FaultRule.parse(f.string()));
                } catch (IllegalArgumentException e) {
                    throw f.error(e.getMessage());
                }
            }
        }
        return new Node.Tuning(new Btcp.Closing(linger, timeWait, peerGrace), rules, offload, eager);
    }

    /** A timer in the file's milliseconds: 100 ms ({@link Node.Tuning#MIN_TIMER}) to an hour. */
    private static Duration millis(Value v) throws ConfigException {
        return Duration.ofMillis(v.longValue(Node.Tuning.MIN_TIMER.toMillis(), 3_600_000));
    }

    private static int port(Value v, int otherwise) throws ConfigException {
        return v == null ? otherwise : v.integer(1, 65535);
    }

    private static int ipv4(Value v) throws ConfigException {
        int a = parseIpv4(v);
        if (a == 0 || (a >>> 24) == 127 || (a >>> 28) >= 14) {
            throw v.error(v.string() + " cannot be a member's address (unspecified, loopback, multicast or reserved)");
        }
        return a;
    }

    private static int parseIpv4(Value v) throws ConfigException {
        String s = v.string();
        try {
            return Bytes.parseIpv4(s);
        } catch (IllegalArgumentException e) {
            throw v.error("'" + s + "' is not an IPv4 address");
        }
    }

    /** An address to listen on: 0.0.0.0 (every address), loopback, or one of the host's. */
    private static int listenAddress(Value v) throws ConfigException {
        int a = parseIpv4(v);
        if ((a >>> 28) >= 14) throw v.error(v.string() + " cannot be listened on (multicast or reserved)");
        return a;
    }

    private static String device(Value v, String otherwise) throws ConfigException {
        if (v == null) return otherwise;
        String s = v.string();
        if (!s.matches("[A-Za-z0-9._-]{1,15}")) throw v.error("'" + s + "' is not a device name (1-15 characters)");
        return s;
    }

    private static Path optionalPath(Path file, Value v) throws ConfigException {
        return v == null ? null : resolve(file, v.string());
    }

    /** A path in the file, relative to the file's directory unless absolute. */
    private static Path resolve(Path file, String path) {
        Path p = Path.of(path);
        return p.isAbsolute() ? p : file.toAbsolutePath().getParent().resolve(p).normalize();
    }
}
