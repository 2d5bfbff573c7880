package dev.baton.cli;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import dev.baton.btcp.Btcp;
import dev.baton.config.ConfigException;
import dev.baton.config.NodeConfig;
import dev.baton.control.ClusterKey;
import dev.baton.fault.FaultRule;
import dev.baton.node.KernelPath;
import dev.baton.node.Node;
import dev.baton.route.Member;
import dev.baton.wire.Bytes;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code baton node}: runs one node (its BTCP, control channel and optionally the built-in server). */
@Command(
        name = "node",
        mixinStandardHelpOptions = true,
        description = "Run one baton node: the BTCP between its two TUN devices, the control channel to"
                + " its peers, and (with --server builtin) the built-in web server.")
public final class NodeCommand implements Callable<Integer> {
    /** What a config file settles: with --config these may not be given too. */
    private static final List<String> FROM_CONFIG = List.of(
            "--name",
            "--ip",
            "--service-port",
            "--control-port",
            "--kernel-tun",
            "--wire-tun",
            "--peer",
            "--docroot",
            "--server",
            "--policy",
            "--cluster-key",
            "--admin-socket",
            "--metrics-port",
            "--uplink");
    /** What must be given without a config file. */
    private static final List<String> REQUIRED_WITHOUT_CONFIG =
            List.of("--name", "--ip", "--kernel-tun", "--wire-tun", "--docroot", "--cluster-key");

    @Spec
    CommandSpec spec;

    @Option(
            names = "--config",
            paramLabel = "FILE",
            description = "The node's config file (YAML): the cluster's"
                    + " members, key, ports and policy, and this node's docroot, devices and tuning (see docs/DEPLOYMENT.md)."
                    + " Checked whole before anything starts; an error names the file, line and field. With it, only"
                    + " --ready-file, --fault and the tuning options may be given too (they override the file).")
    Path config;

    @Option(names = "--name", description = "This node's name (unique in the cluster).")
    String name;

    @Option(names = "--ip", description = "This node's service address (IPv4).")
    String ip;

    @Option(names = "--service-port", defaultValue = "80", description = "Web service port (default ${DEFAULT-VALUE}).")
    int servicePort;

    @Option(
            names = "--control-port",
            defaultValue = "7070",
            description = "Control channel port (default ${DEFAULT-VALUE}).")
    int controlPort;

    @Option(names = "--kernel-tun", description = "TUN device on the kernel side (gets the node address).")
    String kernelTun;

    @Option(names = "--wire-tun", description = "TUN device on the network side.")
    String wireTun;

    @Option(
            names = "--uplink",
            paramLabel = "DEV",
            description = "The in-kernel data path: attach its BPF programs"
                    + " to DEV, the interface with the node's address (its maps pinned under /sys/fs/bpf/baton/NAME);"
                    + " without it, every packet crosses the TUNs.")
    String uplink;

    @Option(names = "--peer", description = "Another node, as NAME=IPv4 (repeatable).")
    Map<String, String> peers = new LinkedHashMap<>();

    @Option(names = "--docroot", description = "This node's document root (its content).")
    Path docroot;

    @Option(
            names = "--server",
            defaultValue = "builtin",
            description =
                    "builtin: serve the docroot here; external: another server (nginx) listens on the service port.")
    String server;

    @Option(
            names = "--policy",
            defaultValue = "content",
            description = "Routing policy by name (default ${DEFAULT-VALUE}).")
    String policy;

    @Option(
            names = "--cluster-key",
            paramLabel = "FILE",
            description = "The cluster's shared secret: a file of 32 to 1024 bytes, mode 0600, the same on every"
                    + " node (e.g. head -c 32 /dev/urandom > FILE). Control links authenticate with it.")
    Path clusterKey;

    @Option(names = "--admin-socket", description = "Unix socket answering 'stats' and 'content'.")
    Path adminSocket;

    @Option(
            names = "--metrics-port",
            defaultValue = "" + Node.Config.DEFAULT_METRICS_PORT,
            description = "Where GET"
                    + " /metrics answers for Prometheus, on every address (default ${DEFAULT-VALUE}; 0: nowhere).")
    int metricsPort;

    @Option(
            names = "--log-level",
            defaultValue = "info",
            paramLabel = "LEVEL",
            description = "error, warn, info"
                    + " (default) or debug: one line per handoff on each node (entry: completed with its latency, fell back;"
                    + " chosen: taken). Warnings of one kind are held to 5 per 10 s; nothing is logged per packet.")
    String logLevel;

    @Option(names = "--ready-file", description = "Written with our pid once the TUN devices exist.")
    Path readyFile;

    @Option(
            names = "--fault",
            paramLabel = "RULE",
            description =
                    "A fault to inject from the start, e.g."
                            + " 'drop dir=in p=0.01 seed=7' or 'delay msg=handoff-ack ms=1500' (repeatable; see docs/RELIABILITY.md)."
                            + " Rules can also be added and removed at run time through the admin socket: fault add|remove|list.")
    List<String> faults = new ArrayList<>();

    @Option(
            names = "--linger-ms",
            defaultValue = "10000",
            description = "How long an entry keeps forwarding"
                    + " after a handed-off connection closed (default ${DEFAULT-VALUE}).")
    long lingerMillis;

    @Option(
            names = "--time-wait-ms",
            defaultValue = "60000",
            description = "How long a chosen node keeps"
                    + " rewriting after a handed-in connection closed (default ${DEFAULT-VALUE}).")
    long timeWaitMillis;

    @Option(
            names = "--peer-grace-ms",
            defaultValue = "10000",
            description =
                    "How long connections shared with"
                            + " a peer whose control link went down wait for it before they are reset (default ${DEFAULT-VALUE}).")
    long peerGraceMillis;

    @Option(
            names = "--offload",
            negatable = true,
            defaultValue = "true",
            fallbackValue = "true",
            description = "TUNs with a virtio-net header, and partial checksums and 64 KiB TCP super-packets from"
                    + " the kernel side (default on; --no-offload moves every packet one MTU at a time).")
    boolean offload;

    @Option(
            names = "--eager-commit",
            negatable = true,
            defaultValue = "true",
            fallbackValue = "true",
            description = "The entry commits with its handoff request, so the chosen node's server answers after one"
                    + " control message instead of three (default on); --no-eager-commit waits for the chosen node's ack,"
                    + " and can fall back to local service until then.")
    boolean eagerCommit;

    /** What the command line (and the config file, if any) describe: the node to run. */
    record Resolved(Node.Config config, Node.Tuning tuning) {}

    @Override
    public Integer call() throws Exception {
        Resolved r = resolve();
        if (r == null) return 2;
        Level level = Level.toLevel(logLevel, null);
        if (level == null || !List.of("ERROR", "WARN", "INFO", "DEBUG").contains(level.toString())) {
            spec.commandLine()
                    .getErr()
                    .println("baton node: --log-level must be error, warn, info or debug, not " + logLevel);
            return 2;
        }
        if (LoggerFactory.getLogger("dev.baton") instanceof Logger logger) {
            logger.setLevel(level);
        }
        Node.Config cfg = r.config();
        Node node = new Node(cfg, r.tuning());
        Runtime.getRuntime().addShutdownHook(new Thread(node::close, "shutdown"));
        node.start();
        long startMillis = ProcessHandle.current()
                .info()
                .startInstant()
                .map(t -> Duration.between(t, Instant.now()).toMillis())
                .orElse(-1L);
        List<String> peerNames = cfg.peers().stream().map(Member::name).toList();
        System.out.println("baton node " + cfg.name() + " up: " + Bytes.ipv4ToString(cfg.address()) + ":"
                + cfg.servicePort() + ", control " + cfg.controlPort() + ", peers " + peerNames
                + (config != null ? ", from " + config : "") + " (" + startMillis + " ms after the process started)");
        node.awaitTermination();
        return 1; // the packet loop only ends on a fatal error; a signal exits through the hook
    }

    /**
     * The node the options describe, everything checked; null (after saying why on the command's
     * error stream) if they do not describe one.
     */
    Resolved resolve() {
        var parsed = spec.commandLine().getParseResult();
        PrintWriter err = spec.commandLine().getErr();
        List<FaultRule> rules = new ArrayList<>();
        for (String f : faults) {
            try {
                rules.add(FaultRule.parse(f));
            } catch (IllegalArgumentException e) {
                err.println("baton node: --fault '" + f + "': " + e.getMessage());
                return null;
            }
        }
        Node.Config cfg;
        Node.Tuning tuning;
        if (config != null) {
            for (String o : FROM_CONFIG) {
                if (parsed.hasMatchedOption(o)) {
                    err.println(
                            "baton node: " + o + " comes from the config file " + config + "; give one or the other");
                    return null;
                }
            }
            NodeConfig file;
            try {
                file = NodeConfig.load(config);
            } catch (ConfigException e) {
                err.println("baton node: " + e.getMessage());
                return null;
            }
            cfg = readyFile == null ? file.node() : file.node().withReadyFile(readyFile);
            Node.Tuning t = file.tuning();
            List<FaultRule> all = new ArrayList<>(t.faults());
            all.addAll(rules);
            try {
                Btcp.Closing c = t.closing();
                tuning = new Node.Tuning(
                        new Btcp.Closing(
                                parsed.hasMatchedOption("--linger-ms") ? Duration.ofMillis(lingerMillis) : c.linger(),
                                parsed.hasMatchedOption("--time-wait-ms")
                                        ? Duration.ofMillis(timeWaitMillis)
                                        : c.timeWait(),
                                parsed.hasMatchedOption("--peer-grace-ms")
                                        ? Duration.ofMillis(peerGraceMillis)
                                        : c.peerGrace()),
                        all,
                        parsed.hasMatchedOption("--offload") ? offload : t.offload(),
                        parsed.hasMatchedOption("--eager-commit") ? eagerCommit : t.eagerCommit());
            } catch (IllegalArgumentException e) {
                err.println("baton node: " + e.getMessage());
                return null;
            }
        } else {
            for (String o : REQUIRED_WITHOUT_CONFIG) {
                if (!parsed.hasMatchedOption(o)) {
                    err.println("baton node: give --config FILE, or " + String.join(", ", REQUIRED_WITHOUT_CONFIG)
                            + " (missing: " + o + ")");
                    return null;
                }
            }
            if (!server.equals("builtin") && !server.equals("external")) {
                err.println("baton node: --server must be builtin or external, not " + server);
                return null;
            }
            try {
                tuning = new Node.Tuning(
                        new Btcp.Closing(
                                Duration.ofMillis(lingerMillis),
                                Duration.ofMillis(timeWaitMillis),
                                Duration.ofMillis(peerGraceMillis)),
                        rules,
                        offload,
                        eagerCommit);
            } catch (IllegalArgumentException e) {
                err.println("baton node: " + e.getMessage());
                return null;
            }
            ClusterKey key;
            try {
                key = ClusterKey.read(clusterKey);
            } catch (IllegalArgumentException e) {
                err.println("baton node: --cluster-key: " + e.getMessage());
                return null;
            }
            List<Member> members = new ArrayList<>();
            for (var e : peers.entrySet()) members.add(new Member(e.getKey(), Bytes.parseIpv4(e.getValue())));
            cfg = new Node.Config(
                    name,
                    Bytes.parseIpv4(ip),
                    servicePort,
                    controlPort,
                    kernelTun,
                    wireTun,
                    members,
                    docroot,
                    server.equals("builtin"),
                    policy,
                    adminSocket,
                    readyFile,
                    key,
                    Map.of(),
                    metricsPort);
            if (uplink != null) {
                cfg = cfg.withKernelPath(
                        new KernelPath(uplink, KernelPath.BPFFS.resolve("baton").resolve(name)));
            }
        }
        return new Resolved(cfg, tuning);
    }
}
