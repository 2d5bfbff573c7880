package dev.baton.testbed;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.baton.cli.Main;
import dev.baton.config.NodeConfigWriter;
import dev.baton.control.ClusterKey;
import dev.baton.node.AdminClient;
import dev.baton.node.KernelPath;
import dev.baton.node.NodeStats;
import dev.baton.sys.NetDevices;
import dev.baton.sys.Netns;
import dev.baton.sys.SysException;
import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * A cluster of baton nodes on one machine, in network namespaces (docs/ARCHITECTURE.md, "The testbed"; names and
 * addresses in {@link Names}).
 *
 * <p>{@link #up(Spec)} first clears whatever a crashed earlier run left, then builds the client and
 * router namespaces, starts one {@code baton node} process per node inside its namespace, wires its
 * TUN devices once the node says it is ready, optionally starts nginx, and waits until every node
 * sees all its peers. {@link #down()} undoes all of it. Every external command has a timeout, and a
 * failure names the command and its stderr. Needs root.
 *
 * <p>The state directory holds {@code testbed.json} (the {@link #description()} plus the pids), the
 * cluster key ({@code cluster.key}, mode 0600, shared by the nodes' control channels), the node logs,
 * admin sockets and ready files, nginx configs, and generated content. Another process (e.g.
 * {@code baton testbed stats}) can {@link #attach(Path)} to a running testbed through it.
 */
public final class Testbed implements AutoCloseable {
    /** Files and folders the testbed may create in its state directory; nothing else is deleted. */
    private static final Pattern OWNED_STATE_ENTRY = Pattern.compile(
            "testbed\\.json|content|client|bench|cluster\\.key|node-n\\d+\\.(log|sock|ready|yaml)|nginx-n\\d+(\\.(conf|pid|err))?"
                    + "|ip-batch-baton-[a-z0-9]+\\.txt");

    private static final Duration NGINX_START_TIMEOUT = Duration.ofSeconds(10);
    private static final int LOG_TAIL_LINES = 40;
    /** Rounds of the AOT training run's requests (each: every node, every file, twice). */
    private static final int TRAINING_ROUNDS = 3;
    /** How long the training node may take to stop and assemble the AOT cache (about 8 s here). */
    private static final Duration AOT_ASSEMBLY_TIMEOUT = Duration.ofMinutes(2);

    /** A process the testbed started: {@code kind} is "node" or "nginx" (or what {@link #adopt} was told). */
    public record Started(String node, String kind, long pid) {}

    private final Path stateDir;
    private final Spec.Server server;
    private final Description description;
    private final List<Started> processes = new ArrayList<>();
    private final List<String> nodeArgs;
    private final boolean directPaths;
    private final Spec.DataPath dataPath;
    private boolean isDown;

    private Testbed(
            Path stateDir,
            Spec.Server server,
            Description description,
            List<String> nodeArgs,
            boolean directPaths,
            Spec.DataPath dataPath) {
        this.stateDir = stateDir;
        this.server = server;
        this.description = description;
        this.nodeArgs = List.copyOf(nodeArgs);
        this.directPaths = directPaths;
        this.dataPath = dataPath;
    }

    // ---------------------------------------------------------------- life cycle

    /**
     * Builds and starts a testbed. On failure, everything started so far is stopped again (the
     * state directory with the logs is kept) and the exception says what failed.
     */
    public static Testbed up(Spec spec) {
        requireTools(spec.server());
        MachineLock.acquire(MachineLock.WAIT);
        cleanUp(spec.stateDir());
        Path stateDir = spec.stateDir();
        createDirectories(stateDir);
        Path contentDir = spec.contentDir().orElse(stateDir.resolve("content"));
        ContentMap content = spec.contentDir().isPresent()
                ? ContentMap.scan(contentDir, spec.nodes())
                : SampleContent.generate(contentDir, spec.nodes());
        List<NodeInfo> nodes = new ArrayList<>();
        for (int n = 1; n <= spec.nodes(); n++) {
            nodes.add(NodeInfo.of(n, contentDir.resolve(Names.nodeName(n)), stateDir));
        }
        Testbed bed = new Testbed(
                stateDir,
                spec.server(),
                new Description(ClientInfo.standard(), Names.ROUTER_NETNS, nodes, content),
                spec.nodeArgs(),
                spec.directPaths(),
                spec.dataPath());
        try {
            bed.writeStateFile();
            bed.writeClusterKey();
            bed.buildClientAndRouter();
            if (spec.dataPath() == Spec.DataPath.KERNEL) mountBpfFs();
            for (NodeInfo node : nodes) {
                createNetns(node.netns());
                if (spec.dataPath() == Spec.DataPath.KERNEL) bed.buildUplink(node);
            }
            steerFlows(Names.CLIENT_NETNS, Names.CLIENT_VETH);
            steerFlows(Names.ROUTER_NETNS, Names.ROUTER_VETH);
            Optional<AotCache> training = aotCache().filter(aot -> !aot.usable());
            bed.startNodes(training.orElse(null));
            if (spec.directPaths()) {
                for (NodeInfo node : nodes) bed.wireDirectPath(node);
            }
            if (spec.server() == Spec.Server.NGINX) {
                for (NodeInfo node : nodes) {
                    bed.addProcess(new Started(node.name(), "nginx", bed.startNginx(node)));
                }
            }
            bed.awaitClusterReady();
            if (training.isPresent()) {
                bed.train(training.get());
                bed.startNodes(null);
                bed.awaitClusterReady();
            }
            return bed;
        } catch (RuntimeException e) {
            try {
                bed.stopEverything(false);
            } catch (RuntimeException cleanupFailure) {
                e.addSuppressed(cleanupFailure);
            } finally {
                MachineLock.release();
            }
            throw e;
        }
    }

    /**
     * Starts every node and waits until each is ready, then wires its TUNs. With {@code training},
     * n1 is the training run of the nodes' AOT cache; the others start from no cache either.
     */
    private void startNodes(AotCache training) {
        List<Process> launched = new ArrayList<>();
        for (NodeInfo node : description.nodes()) {
            deleteReadyFile(node);
            launched.add(
                    startNode(node, training != null && node.number() == 1 ? training.startTraining() : List.of()));
        }
        for (int i = 0; i < launched.size(); i++) {
            NodeInfo node = description.nodes().get(i);
            long pid = awaitReady(node, launched.get(i));
            addProcess(new Started(node.name(), "node", pid));
        }
        if (dataPath == Spec.DataPath.TUN) {
            for (NodeInfo node : description.nodes()) wireNode(node);
        }
    }

    /**
     * The AOT cache's training run (first start of a build): every node is asked for every file up
     * to 2 MiB, on one keep-alive connection and on new connections, so n1 serves locally, hands
     * off as the entry and serves as the chosen node. Then the nodes stop (n1 assembles the cache
     * as it exits) and their stats start from zero again when they are started anew.
     */
    private void train(AotCache aot) {
        Client client = new Client(Names.CLIENT_NETNS, stateDir.resolve("client"), Client.DEFAULT_MAX_TIME);
        List<String> paths = description.content().entries().stream()
                .filter(e -> e.bytes() <= 2L << 20)
                .map(ContentEntry::path)
                .toList();
        for (int round = 0; round < TRAINING_ROUNDS; round++) {
            for (NodeInfo node : description.nodes()) {
                client.getKeepAlive(node, paths);
                client.getParallel(node, paths, 4);
            }
        }
        List<Started> nodes;
        synchronized (this) {
            nodes = processes.stream().filter(p -> p.kind().equals("node")).toList();
            processes.removeAll(nodes);
        }
        for (Started p : nodes) ProcessHandle.of(p.pid()).ifPresent(ProcessHandle::destroy);
        long deadline = System.nanoTime() + AOT_ASSEMBLY_TIMEOUT.toNanos();
        for (Started p : nodes) {
            Optional<ProcessHandle> h = ProcessHandle.of(p.pid());
            while (h.isPresent() && h.get().isAlive() && System.nanoTime() < deadline) sleep(50);
            if (h.isPresent() && h.get().isAlive()) h.get().destroyForcibly();
        }
        // A failed training costs speed, not correctness: say so and run without the cache.
        if (!aot.commit()) {
            System.err.println("baton testbed: the AOT training run wrote no cache " + aot.path()
                    + "; the nodes start without it (n1's log: " + node(1).log() + ")");
        }
        writeStateFile();
    }

    /** The testbed described by the state file in {@code stateDir}, started by another process. */
    public static Testbed attach(Path stateDir) {
        Path file = stateDir.resolve(Names.STATE_FILE);
        if (!Files.exists(file)) {
            throw new IllegalStateException("no testbed is up (no " + file + "); start one with `baton testbed up`");
        }
        JsonNode root;
        try {
            root = Description.JSON.readTree(file.toFile());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file, e);
        }
        List<String> args = new ArrayList<>();
        root.path("nodeArgs").forEach(a -> args.add(a.asText()));
        Testbed bed = new Testbed(
                stateDir,
                Spec.Server.valueOf(root.path("server").asText("BUILTIN")),
                Description.fromJson(root, stateDir),
                args,
                root.path("directPaths").asBoolean(false),
                Spec.DataPath.valueOf(root.path("dataPath").asText("TUN")));
        for (JsonNode p : root.path("processes")) {
            bed.processes.add(new Started(
                    p.path("node").asText(),
                    p.path("kind").asText(),
                    p.path("pid").asLong()));
        }
        return bed;
    }

    /**
     * Stops the node processes and nginx (SIGTERM, SIGKILL after {@link Names#STOP_GRACE}), deletes
     * the namespaces and removes the state directory. Safe to call twice.
     */
    public synchronized void down() {
        if (isDown) {
            return;
        }
        try {
            stopEverything(true);
        } finally {
            MachineLock.release();
        }
        isDown = true;
    }

    /** Same as {@link #down()}. */
    @Override
    public void close() {
        down();
    }

    /**
     * Removes what a crashed run left: processes recorded in {@code stateDir}'s state file that are
     * still ours (their command line names the state directory), baton or nginx processes inside a
     * {@code baton-*} namespace, every {@code baton-*} namespace, and the testbed's files in the
     * state directory.
     */
    public static void cleanUp(Path stateDir) {
        Set<Long> pids = new LinkedHashSet<>();
        Path file = stateDir.resolve(Names.STATE_FILE);
        if (Files.exists(file)) {
            try {
                for (JsonNode p : Description.JSON.readTree(file.toFile()).path("processes")) {
                    long pid = p.path("pid").asLong();
                    if (commandLine(pid).contains(stateDir.toString())) {
                        pids.add(pid);
                    }
                }
            } catch (IOException e) {
                // A torn state file: the namespace sweep below still finds the processes.
            }
        }
        stopProcesses(pids);
        sweepNamespaces(batonNamespaces());
        removePins();
        removeStateDir(stateDir);
    }

    /**
     * Mounts the BPF file system where the nodes pin their maps, if the machine has not (systemd
     * does at boot; a container or a minimal VM may not). It stays mounted: it is the standard
     * mount, shared with every other BPF user of the host, and empty once the testbed is down.
     */
    public static void mountBpfFs() {
        Path bpffs = KernelPath.BPFFS;
        try {
            if (NetDevices.onBpfFs(bpffs)) return;
        } catch (SysException e) {
            throw new IllegalStateException("cannot tell whether " + bpffs + " is a bpffs: " + e.getMessage(), e);
        }
        Commands.check(List.of("mount", "-t", "bpf", "bpf", bpffs.toString()), Names.COMMAND_TIMEOUT);
        System.err.println("baton testbed: mounted the BPF file system on " + bpffs + " (it was not)");
    }

    /** Unpins what the nodes' data paths left pinned (a killed node cannot unpin its maps itself). */
    static void removePins() {
        if (!Files.isDirectory(Names.PIN_ROOT)) return;
        try {
            deleteRecursively(Names.PIN_ROOT);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot remove " + Names.PIN_ROOT, e);
        }
    }

    // ---------------------------------------------------------------- queries

    /** What the testbed is made of (the JSON of {@code baton testbed up --json}). */
    public Description description() {
        return description;
    }

    /** The client namespace and address. */
    public ClientInfo client() {
        return description.client();
    }

    /** Node {@code number}, 1-based: {@code node(1)} is n1. */
    public NodeInfo node(int number) {
        if (number < 1 || number > description.nodes().size()) {
            throw new IllegalArgumentException("no node " + number + "; nodes are 1.."
                    + description.nodes().size());
        }
        return description.nodes().get(number - 1);
    }

    /** All nodes, n1 first. */
    public List<NodeInfo> nodes() {
        return description.nodes();
    }

    /** Who holds which file. */
    public ContentMap content() {
        return description.content();
    }

    /** The state directory. */
    public Path stateDir() {
        return stateDir;
    }

    /** The web server kind the nodes run. */
    public Spec.Server server() {
        return server;
    }

    /** How the nodes' packets meet their engines. */
    public Spec.DataPath dataPath() {
        return dataPath;
    }

    /**
     * The router's device toward node {@code number}'s baton path: its wire TUN, or on the
     * in-kernel data path the router's end of its uplink. What it receives is what the node sent.
     */
    public String routerDeviceOf(int number) {
        return dataPath == Spec.DataPath.KERNEL ? Names.routerUplinkDevice(number) : Names.wireDevice(number);
    }

    /** True when every node also has its direct (non-BTCP) path ({@link Spec#directPaths()}). */
    public boolean directPaths() {
        return directPaths;
    }

    /**
     * Records a process someone started inside one of this testbed's namespaces (e.g. a proxy of
     * {@code baton bench}), so that {@link #down()} and a later {@link #cleanUp} stop it. Its command
     * line must name the state directory, which is how a clean-up knows the pid is still ours.
     */
    public void adopt(String node, String kind, long pid) {
        if (!commandLine(pid).contains(stateDir.toString())) {
            throw new IllegalArgumentException("process " + pid + " (" + commandLine(pid) + ") does not name "
                    + stateDir + " on its command line");
        }
        addProcess(new Started(node, kind, pid));
    }

    /** Processes the testbed started, with their pids. */
    public synchronized List<Started> processes() {
        return List.copyOf(processes);
    }

    /**
     * Runs {@code argv} inside namespace {@code netns} ({@code ip netns exec}). A non-zero exit is
     * returned; a timeout throws {@link CommandException}.
     */
    public ProcessResult exec(String netns, List<String> argv, Duration timeout) {
        return Commands.run(Commands.inNetns(netns, argv), timeout);
    }

    /** Every node's admin {@code stats}, in node order; one that does not answer in time is named with why. */
    public TestbedStats stats() {
        List<NodeStats> nodes = new ArrayList<>();
        Map<String, String> unanswered = new LinkedHashMap<>();
        for (NodeInfo node : description.nodes()) {
            try {
                nodes.add(askStats(node));
            } catch (IOException e) {
                unanswered.put(node.name(), String.valueOf(e.getMessage()));
            }
        }
        return new TestbedStats(nodes, unanswered);
    }

    /** Node {@code number}'s stats. */
    public NodeStats nodeStats(int number) {
        NodeInfo node = node(number);
        try {
            return askStats(node);
        } catch (IOException e) {
            throw new IllegalStateException(node.name() + ": stats: " + e.getMessage(), e);
        }
    }

    private static NodeStats askStats(NodeInfo node) throws IOException {
        return NodeStats.parse(AdminClient.query(node.adminSocket(), "stats", Names.ADMIN_TIMEOUT));
    }

    /**
     * A curl client in the client namespace (each transfer limited to {@link Client#DEFAULT_MAX_TIME}),
     * keeping its temporary files in the state directory.
     */
    public Client newClient() {
        return new Client(client().netns(), stateDir.resolve("client"), Client.DEFAULT_MAX_TIME);
    }

    /**
     * Sends one admin command ({@code fault add drop dir=in p=0.01}, {@code fault list} ...) to
     * node {@code number} and returns its JSON answer; an {@code error} in it becomes an exception.
     */
    public JsonNode admin(int number, String command) {
        NodeInfo node = node(number);
        try {
            JsonNode answer = query(node, command);
            if (answer.has("error")) {
                throw new IllegalStateException(node.name() + ": " + command + ": "
                        + answer.get("error").asText());
            }
            return answer;
        } catch (IOException e) {
            throw new UncheckedIOException(node.name() + " did not answer " + command, e);
        }
    }

    /** The pid of node {@code number}'s baton process. */
    public synchronized long nodePid(int number) {
        String name = node(number).name();
        for (Started p : processes) {
            if (p.node().equals(name) && p.kind().equals("node")) return p.pid();
        }
        throw new IllegalStateException("no process recorded for node " + name);
    }

    /**
     * Kills node {@code number}'s baton process with SIGKILL, as a crash would, and waits until it is
     * gone (its TUN devices vanish with it). Its namespace, kernel sockets and nginx stay.
     */
    public void kill(int number) {
        end(number, true);
    }

    /**
     * Stops node {@code number}'s baton process as an upgrade would: on the in-kernel data path the
     * node is told first to leave its programs and maps to the next process ({@code handover}), then
     * it gets SIGTERM; returns once it is gone.
     */
    public void stop(int number) {
        if (dataPath == Spec.DataPath.KERNEL) {
            JsonNode r = admin(number, "handover");
            if (!r.path("handover").asBoolean(false)) {
                throw new IllegalStateException("node " + node(number).name() + " refused the handover: " + r);
            }
        }
        end(number, false);
    }

    private void end(int number, boolean kill) {
        long pid = nodePid(number);
        ProcessHandle.of(pid).ifPresent(p -> {
            if (commandLine(pid).contains(stateDir.toString())) {
                if (kill) p.destroyForcibly();
                else p.destroy();
                try {
                    p.onExit().get(Names.STOP_GRACE.toMillis(), TimeUnit.MILLISECONDS);
                } catch (Exception e) {
                    throw new IllegalStateException("node " + node(number).name() + " (pid " + pid
                            + ") did not end within " + Names.STOP_GRACE.toSeconds() + " s of "
                            + (kill ? "SIGKILL" : "SIGTERM"));
                }
            }
        });
    }

    /**
     * Starts node {@code number}'s baton process again (after {@link #kill}) and wires its new TUN
     * devices; returns once the node is ready (not waiting for its peers).
     */
    public void restart(int number) {
        NodeInfo node = node(number);
        deleteReadyFile(node);
        long pid = awaitReady(node, startNode(node, List.of()));
        synchronized (this) {
            processes.removeIf(p -> p.node().equals(node.name()) && p.kind().equals("node"));
        }
        addProcess(new Started(node.name(), "node", pid));
        if (dataPath == Spec.DataPath.TUN) wireNode(node);
        writeStateFile(); // `testbed down` from another process must find the new pid
    }

    // ---------------------------------------------------------------- building

    private void buildClientAndRouter() {
        createNetns(Names.CLIENT_NETNS);
        createNetns(Names.ROUTER_NETNS);
        String client = Names.CLIENT_NETNS;
        String router = Names.ROUTER_NETNS;
        Commands.check(
                "ip",
                "-n",
                client,
                "link",
                "add",
                Names.CLIENT_VETH,
                "mtu",
                str(Names.MTU),
                "type",
                "veth",
                "peer",
                "name",
                Names.ROUTER_VETH,
                "mtu",
                str(Names.MTU),
                "netns",
                router);
        Commands.check(
                "ip",
                "-n",
                client,
                "addr",
                "add",
                Names.CLIENT_IP + "/" + Names.LINK_PREFIX_LENGTH,
                "dev",
                Names.CLIENT_VETH);
        Commands.check("ip", "-n", client, "link", "set", Names.CLIENT_VETH, "up");
        Commands.check("ip", "-n", client, "route", "add", "default", "via", Names.ROUTER_IP);
        Commands.check(
                "ip",
                "-n",
                router,
                "addr",
                "add",
                Names.ROUTER_IP + "/" + Names.LINK_PREFIX_LENGTH,
                "dev",
                Names.ROUTER_VETH);
        Commands.check("ip", "-n", router, "link", "set", Names.ROUTER_VETH, "up");
        // Direct replies of a chosen node carry the entry node's source address: strict or loose
        // reverse-path filtering drops them (docs/KERNEL-FACTS.md), so the router must not filter.
        sysctl(
                router,
                "net.ipv4.ip_forward=1",
                "net.ipv4.conf.all.rp_filter=0",
                "net.ipv4.conf.default.rp_filter=0",
                "net.ipv4.conf." + Names.ROUTER_VETH + ".rp_filter=0");
        // veth marks packets checksum-verified; with these off the client really checks what the
        // BTCP rewrote (docs/KERNEL-FACTS.md).
        Commands.check(
                Commands.inNetns(client, List.of("ethtool", "-K", Names.CLIENT_VETH, "rx", "off")),
                Names.COMMAND_TIMEOUT);
        Commands.check(
                Commands.inNetns(router, List.of("ethtool", "-K", Names.ROUTER_VETH, "tx", "off")),
                Names.COMMAND_TIMEOUT);
    }

    /** A fresh namespace with loopback up and IPv6 off (the testbed is IPv4; no ICMPv6 chatter in the TUNs). */
    public static void createNetns(String netns) {
        Commands.check("ip", "netns", "add", netns);
        Commands.check("ip", "-n", netns, "link", "set", "lo", "up");
        sysctl(netns, "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1");
    }

    /**
     * Starts node {@code node}'s process from a config file of the kind a real host uses
     * ({@code baton node --config}, dev.baton.config.NodeConfig), so the tests run what a host runs;
     * the run's ready file and any extra node options ({@code --node-arg}) go on the command line.
     */
    private Process startNode(NodeInfo node, List<String> jvmOptions) {
        Path config = stateDir.resolve("node-" + node.name() + ".yaml");
        writeString(config, nodeConfig(node));
        // On the in-kernel data path the node must see the host's bpffs, where its maps outlive it:
        // nsenter joins the namespace only, where `ip netns exec` would also remount /sys.
        List<String> argv = new ArrayList<>(
                dataPath == Spec.DataPath.KERNEL
                        ? List.of("setsid", "nsenter", "--net=" + Netns.path(node.netns()))
                        : List.of("setsid", "ip", "netns", "exec", node.netns()));
        List<String> java = javaCommand();
        if (!jvmOptions.isEmpty()) {
            java = new ArrayList<>(
                    java.stream().filter(a -> !a.startsWith("-XX:AOTCache=")).toList());
            java.addAll(1, jvmOptions);
        }
        argv.addAll(java);
        argv.addAll(List.of(
                "node",
                "--config",
                config.toString(),
                "--ready-file",
                readyFile(node).toString()));
        argv.addAll(nodeArgs);
        try {
            return new ProcessBuilder(argv)
                    .redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(node.log().toFile()))
                    .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                    .start();
        } catch (IOException e) {
            throw new CommandException(argv, "could not start: " + e.getMessage());
        }
    }

    /** The config file of {@code node}: the cluster as every member sees it, and this node's part. */
    private String nodeConfig(NodeInfo node) {
        NodeConfigWriter w = new NodeConfigWriter(node.name(), clusterKey(), node.docroot())
                .comment("written by the testbed for " + node.name())
                .servicePort(node.port())
                .controlPort(Names.CONTROL_PORT);
        for (NodeInfo m : description.nodes()) w.member(m.name(), m.ip());
        w.builtinServer(server == Spec.Server.BUILTIN)
                .kernelTun(node.kernelDevice())
                .wireTun(node.wireDevice())
                .adminSocket(node.adminSocket());
        if (dataPath == Spec.DataPath.KERNEL) {
            w.datapath(Names.uplinkDevice(node.number()), Names.pins(node.number()));
        }
        return w.yaml();
    }

    /** Waits for the node's ready file (its pid); fails with the node's log tail. */
    private long awaitReady(NodeInfo node, Process process) {
        long deadline = System.nanoTime() + Names.NODE_READY_TIMEOUT.toNanos();
        Path ready = readyFile(node);
        while (System.nanoTime() < deadline) {
            Optional<Long> pid = readPid(ready);
            if (pid.isPresent()) {
                return pid.get();
            }
            if (!process.isAlive()) {
                throw new IllegalStateException("node " + node.name() + " exited with " + process.exitValue()
                        + " before it was ready; its log " + node.log() + " ends:\n" + tail(node.log()));
            }
            sleep(50);
        }
        process.destroyForcibly();
        throw new IllegalStateException("node " + node.name() + " wrote no ready file " + ready + " within "
                + Names.NODE_READY_TIMEOUT.toSeconds() + " s; its log " + node.log() + " ends:\n" + tail(node.log()));
    }

    /**
     * Node {@code node}'s uplink on the in-kernel data path: a veth from the router into its
     * namespace carrying the node's address, the router's end as its gateway. Checksums are really
     * checked on the way: the router computes them in full toward the node (tx off) and the node
     * verifies what it receives (rx off), so a wrong rewrite shows as TcpInCsumErrors (docs/KERNEL-FACTS.md).
     */
    private void buildUplink(NodeInfo node) {
        String router = Names.ROUTER_NETNS;
        String inRouter = Names.routerUplinkDevice(node.number());
        String inNode = Names.uplinkDevice(node.number());
        ipBatch(
                router,
                "link add " + inRouter + " mtu " + Names.MTU + " type veth peer name " + inNode + " mtu " + Names.MTU
                        + " netns " + node.netns(),
                "addr add " + Names.UPLINK_GATEWAY_IP + "/32 dev " + inRouter,
                "link set " + inRouter + " up",
                "route add " + node.ip() + "/32 dev " + inRouter);
        sysctl(router, "net.ipv4.conf." + inRouter + ".rp_filter=0");
        ipBatch(
                node.netns(),
                "addr add " + node.ip() + "/32 dev " + inNode,
                "link set " + inNode + " up",
                "route add " + Names.UPLINK_GATEWAY_IP + "/32 dev " + inNode,
                "route add default via " + Names.UPLINK_GATEWAY_IP + " dev " + inNode);
        sysctl(
                node.netns(),
                "net.ipv4.conf.all.rp_filter=0",
                "net.ipv4.conf.default.rp_filter=0",
                "net.ipv4.conf." + inNode + ".rp_filter=0");
        Commands.check(
                Commands.inNetns(router, List.of("ethtool", "-K", inRouter, "tx", "off")), Names.COMMAND_TIMEOUT);
        Commands.check(
                Commands.inNetns(node.netns(), List.of("ethtool", "-K", inNode, "rx", "off")), Names.COMMAND_TIMEOUT);
        steerFlows(router, inRouter);
        steerFlows(node.netns(), inNode);
    }

    /**
     * Receive packet steering on {@code device} over every CPU: each flow's packets are queued on
     * one CPU, as a NIC's receive-side scaling does. Without it a veth queues a packet on the
     * sender's CPU, so two packets of one connection sent from two CPUs (the engine's thread and a
     * softirq on the kernel's path) can swap by as long as one CPU's backlog waits, and a swap of
     * two timestamp ticks fails the receiver's PAWS check (seen: 45 PAWSEstab in 200 concurrent
     * connections on the in-kernel data path). On the TUN path too: the client's handshake ACK (sent
     * from a softirq) and its request (sent by curl, on the other CPU) reached the entry swapped,
     * which it then passed on in that order (1 PAWSEstab in FaultedLoadIT at 5% loss, 2 runs in 4).
     */
    private static void steerFlows(String netns, String device) {
        int cpus = Runtime.getRuntime().availableProcessors();
        String mask = Long.toHexString(cpus >= 64 ? -1L : (1L << cpus) - 1);
        Commands.check(
                Commands.inNetns(
                        netns,
                        List.of("sh", "-c", "echo " + mask + " > /sys/class/net/" + device + "/queues/rx-0/rps_cpus")),
                Names.COMMAND_TIMEOUT);
    }

    /** Moves the wire TUN into the router and gives the kernel TUN the node's address and route. */
    private void wireNode(NodeInfo node) {
        String router = Names.ROUTER_NETNS;
        String wire = node.wireDevice();
        // Batches: three processes instead of seven, which a restarted node's first client waits for.
        ipBatch(
                node.netns(),
                "link set " + wire + " netns " + router,
                "addr add " + node.ip() + "/32 dev " + node.kernelDevice(),
                "link set " + node.kernelDevice() + " mtu " + Names.MTU + " up",
                "route add default dev " + node.kernelDevice());
        sysctl(router, "net.ipv4.conf." + wire + ".rp_filter=0");
        ipBatch(router, "link set " + wire + " mtu " + Names.MTU + " up", "route add " + node.ip() + "/32 dev " + wire);
    }

    /**
     * Node {@code node}'s direct path: a veth from the router into its namespace with its own
     * address. Replies from that address leave through the veth (a source rule), and so does
     * traffic to the other nodes' direct addresses; everything else keeps its route through the TUN
     * and the BTCP. Both ends live in testbed namespaces, so deleting those removes the pair. Its
     * flows are steered as the uplink's are ({@link #steerFlows}), so that the bench's direct path
     * differs from baton's only by baton: steering alone cost a single 64 MiB transfer a quarter of
     * its rate on this 2-CPU VM (PERFORMANCE.md, "The direct path's steering").
     */
    private void wireDirectPath(NodeInfo node) {
        String router = Names.ROUTER_NETNS;
        String inRouter = Names.directRouterDevice(node.number());
        String inNode = Names.directNodeDevice(node.number());
        String ip = Names.directIp(node.number());
        String gateway = Names.DIRECT_GATEWAY_IP;
        String table = str(Names.DIRECT_ROUTE_TABLE);
        ipBatch(
                router,
                "link add " + inRouter + " mtu " + Names.MTU + " type veth peer name " + inNode + " mtu " + Names.MTU
                        + " netns " + node.netns(),
                "addr add " + gateway + "/32 dev " + inRouter,
                "link set " + inRouter + " up",
                "route add " + ip + "/32 dev " + inRouter);
        sysctl(router, "net.ipv4.conf." + inRouter + ".rp_filter=0");
        ipBatch(
                node.netns(),
                "addr add " + ip + "/32 dev " + inNode,
                "link set " + inNode + " up",
                "route add " + Names.DIRECT_NET_PREFIX + "0/24 via " + gateway + " dev " + inNode + " onlink src " + ip,
                "route add default via " + gateway + " dev " + inNode + " onlink table " + table,
                "rule add from " + ip + " lookup " + table);
        sysctl(node.netns(), "net.ipv4.conf.all.rp_filter=0", "net.ipv4.conf." + inNode + ".rp_filter=0");
        steerFlows(router, inRouter);
        steerFlows(node.netns(), inNode);
    }

    /** Runs {@code ip -n netns -batch FILE} with one command per line. */
    private void ipBatch(String netns, String... commands) {
        Path file = stateDir.resolve("ip-batch-" + netns + ".txt");
        writeString(file, String.join("\n", commands) + "\n");
        try {
            Commands.check("ip", "-n", netns, "-batch", file.toString());
        } finally {
            try {
                Files.deleteIfExists(file);
            } catch (IOException e) {
                // a leftover batch file is removed with the state directory
            }
        }
    }

    private long startNginx(NodeInfo node) {
        NginxConfig.Paths paths = NginxConfig.Paths.of(stateDir, node.number());
        createDirectories(paths.prefix());
        writeString(paths.config(), NginxConfig.render(node.number(), node.docroot(), paths, content()));
        List<String> base = List.of(
                "nginx",
                "-p",
                paths.prefix() + "/",
                "-e",
                paths.errorLog().toString(),
                "-c",
                paths.config().toString());
        List<String> test = new ArrayList<>(base);
        test.add("-t");
        Commands.check(test, Names.COMMAND_TIMEOUT);
        Commands.check(Commands.inNetns(node.netns(), base), NGINX_START_TIMEOUT);
        long deadline = System.nanoTime() + NGINX_START_TIMEOUT.toNanos();
        while (System.nanoTime() < deadline) {
            Optional<Long> pid = readPid(paths.pidFile());
            if (pid.isPresent()) {
                return pid.get();
            }
            sleep(50);
        }
        throw new IllegalStateException("nginx of " + node.name() + " wrote no pid file " + paths.pidFile()
                + "; its error log ends:\n" + tail(paths.errorLog()));
    }

    /** Waits until every node's {@code peersUp} lists all the other nodes. */
    private void awaitClusterReady() {
        long deadline = System.nanoTime() + Names.CLUSTER_READY_TIMEOUT.toNanos();
        TestbedStats last = null;
        while (System.nanoTime() < deadline) {
            last = stats();
            if (allPeersUp(last)) {
                return;
            }
            sleep(100);
        }
        StringBuilder logs = new StringBuilder();
        for (NodeInfo node : description.nodes()) {
            logs.append("--- ").append(node.log()).append('\n').append(tail(node.log()));
        }
        throw new IllegalStateException("the nodes did not all see each other within "
                + Names.CLUSTER_READY_TIMEOUT.toSeconds() + " s; last stats: " + last + "\n" + logs);
    }

    /** True when every node answered and lists every other node in {@code peersUp}. */
    private boolean allPeersUp(TestbedStats stats) {
        return allPeersUp(stats, description.nodes());
    }

    /** True when every node of {@code nodes} answered and lists every other one in {@code peersUp}. */
    static boolean allPeersUp(TestbedStats stats, List<NodeInfo> nodes) {
        for (NodeInfo node : nodes) {
            NodeStats s = stats.find(node.name()).orElse(null);
            if (s == null) return false;
            for (NodeInfo peer : nodes) {
                if (peer.number() != node.number() && !s.peersUp().contains(peer.name())) return false;
            }
        }
        return true;
    }

    /** One admin command to {@code node}, its one-line JSON answer parsed. */
    private static JsonNode query(NodeInfo node, String command) throws IOException {
        return Description.JSON.readTree(AdminClient.query(node.adminSocket(), command, Names.ADMIN_TIMEOUT));
    }

    // ---------------------------------------------------------------- tearing down

    /**
     * Stops this testbed's processes, then sweeps and deletes its namespaces; with
     * {@code removeState} also its files (a failed {@link #up} keeps them: they hold the logs).
     */
    private void stopEverything(boolean removeState) {
        Set<Long> pids = new LinkedHashSet<>();
        synchronized (this) {
            for (Started p : processes) {
                if (commandLine(p.pid()).contains(stateDir.toString())) {
                    pids.add(p.pid());
                }
            }
        }
        stopProcesses(pids);
        List<String> ours = new ArrayList<>(List.of(Names.CLIENT_NETNS, Names.ROUTER_NETNS));
        description.nodes().forEach(n -> ours.add(n.netns()));
        List<String> present = batonNamespaces();
        sweepNamespaces(ours.stream().filter(present::contains).toList());
        removePins();
        if (removeState) {
            removeStateDir(stateDir);
        }
    }

    /**
     * Stops baton and nginx processes still inside the given namespaces (a namespace outlives its
     * name while a process is in it), then deletes the namespaces.
     */
    public static void sweepNamespaces(List<String> namespaces) {
        Set<Long> pids = new LinkedHashSet<>();
        for (String ns : namespaces) {
            ProcessResult r = Commands.run(List.of("ip", "netns", "pids", ns), Names.COMMAND_TIMEOUT);
            for (String word : r.stdout().split("\\s+")) {
                if (word.matches("\\d+")) {
                    long pid = Long.parseLong(word);
                    String cmd = commandLine(pid);
                    if (cmd.contains("nginx") || cmd.contains("baton")) {
                        pids.add(pid);
                    }
                }
            }
        }
        stopProcesses(pids);
        for (String ns : namespaces) {
            Commands.check(List.of("ip", "netns", "delete", ns), Names.COMMAND_TIMEOUT);
        }
    }

    /** SIGTERM to all, then SIGKILL to whatever is still alive after {@link Names#STOP_GRACE}. */
    static void stopProcesses(Set<Long> pids) {
        List<ProcessHandle> handles =
                pids.stream().map(ProcessHandle::of).flatMap(Optional::stream).toList();
        handles.forEach(ProcessHandle::destroy);
        long deadline = System.nanoTime() + Names.STOP_GRACE.toNanos();
        while (System.nanoTime() < deadline && handles.stream().anyMatch(ProcessHandle::isAlive)) {
            sleep(50);
        }
        for (ProcessHandle h : handles) {
            if (h.isAlive()) {
                h.destroyForcibly();
            }
        }
        long killDeadline = System.nanoTime() + Duration.ofSeconds(2).toNanos();
        while (System.nanoTime() < killDeadline && handles.stream().anyMatch(ProcessHandle::isAlive)) {
            sleep(20);
        }
    }

    /** Every namespace whose name starts with {@link Names#PREFIX}. */
    static List<String> batonNamespaces() {
        List<String> names = new ArrayList<>();
        for (String line : Commands.check(List.of("ip", "netns", "list"), Names.COMMAND_TIMEOUT)
                .stdout()
                .split("\n")) {
            String name = line.strip().split("\\s+")[0];
            if (name.startsWith(Names.PREFIX)) {
                names.add(name);
            }
        }
        return names;
    }

    static void removeStateDir(Path stateDir) {
        if (!Files.isDirectory(stateDir)) {
            return;
        }
        try (Stream<Path> entries = Files.list(stateDir)) {
            for (Path entry : entries.toList()) {
                if (OWNED_STATE_ENTRY.matcher(entry.getFileName().toString()).matches()) {
                    deleteRecursively(entry);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        try (Stream<Path> left = Files.list(stateDir)) {
            if (left.findAny().isEmpty()) {
                Files.delete(stateDir);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void deleteRecursively(Path path) throws IOException {
        if (Files.isDirectory(path, LinkOption.NOFOLLOW_LINKS)) {
            try (Stream<Path> walk = Files.walk(path)) {
                for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                    Files.delete(p);
                }
            }
        } else {
            Files.deleteIfExists(path);
        }
    }

    // ---------------------------------------------------------------- helpers

    private synchronized void addProcess(Started p) {
        processes.add(p);
        writeStateFile();
    }

    private synchronized void writeStateFile() {
        ObjectNode root = description.toJson();
        root.put("stateDir", stateDir.toString());
        root.put("server", server.name());
        root.put("directPaths", directPaths);
        root.put("dataPath", dataPath.name());
        ArrayNode argList = root.putArray("nodeArgs");
        nodeArgs.forEach(argList::add);
        ArrayNode list = root.putArray("processes");
        for (Started p : processes) {
            list.addObject().put("node", p.node()).put("kind", p.kind()).put("pid", p.pid());
        }
        Path file = stateDir.resolve(Names.STATE_FILE);
        Path temp = stateDir.resolve(Names.STATE_FILE + ".tmp");
        writeString(temp, root.toPrettyString() + "\n");
        try {
            Files.move(temp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A fresh key for each testbed: a key left by an earlier run is never reused. */
    private void writeClusterKey() {
        try {
            ClusterKey.writeRandom(clusterKey());
        } catch (IOException e) {
            throw new UncheckedIOException("writing the cluster key " + clusterKey(), e);
        }
    }

    /** The cluster key every node of this testbed shares: 32 random bytes, mode 0600, made by {@link #up}. */
    public Path clusterKey() {
        return stateDir.resolve("cluster.key");
    }

    /** Removes a stopped node's ready file, so that {@link #awaitReady} waits for its next process. */
    private void deleteReadyFile(NodeInfo node) {
        try {
            Files.deleteIfExists(readyFile(node));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot remove " + readyFile(node), e);
        }
    }

    private Path readyFile(NodeInfo node) {
        return stateDir.resolve("node-" + node.name() + ".ready");
    }

    /**
     * How to run the product ({@code baton node}, {@code status}, {@code drain} ...): the java running
     * now, and {@code -Dbaton.jar} if set, else the jar {@link Main} came from, else (classes in a
     * folder, e.g. in tests) this JVM's class path. The system property
     * {@code baton.testbed.nodeCommand} (words separated by spaces) replaces all of it, to try the
     * testbed with a stand-in for the node process.
     */
    public static List<String> javaCommand() {
        String override = System.getProperty("baton.testbed.nodeCommand");
        if (override != null && !override.isBlank()) {
            return List.of(override.strip().split("\\s+"));
        }
        List<String> argv = java();
        String jar = nodeJar().orElse(null);
        if (jar != null) {
            aotCache().filter(AotCache::usable).ifPresent(aot -> argv.addAll(aot.useOptions()));
            argv.addAll(List.of("-jar", jar));
        } else {
            argv.addAll(List.of("-cp", System.getProperty("java.class.path"), Main.class.getName()));
        }
        return argv;
    }

    /**
     * The tools' entry point, above this package (it names the bench too): by name, so that the
     * testbed does not depend on it.
     */
    static final String TOOLS_MAIN = "dev.baton.tools.ToolsMain";

    /**
     * How to run the testbed's own commands (the load worker): {@code -Dbaton.testbed.jar} if set,
     * else the jar this class came from, else this JVM's class path.
     */
    public static List<String> toolCommand() {
        List<String> argv = java();
        String jar = Optional.ofNullable(System.getProperty("baton.testbed.jar"))
                .or(() -> codeSourceJar(Testbed.class))
                .orElse(null);
        if (jar != null) {
            argv.addAll(List.of("-jar", jar));
        } else {
            argv.addAll(List.of("-cp", System.getProperty("java.class.path"), TOOLS_MAIN));
        }
        return argv;
    }

    private static List<String> java() {
        String java = ProcessHandle.current()
                .info()
                .command()
                .orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        return new ArrayList<>(List.of(java, "--enable-native-access=ALL-UNNAMED", "-Xmx256m"));
    }

    /** The jar the nodes run: {@code -Dbaton.jar} if set, else the product's, where {@link Main} came from. */
    private static Optional<String> nodeJar() {
        String jar = System.getProperty("baton.jar");
        return jar != null ? Optional.of(jar) : codeSourceJar(Main.class);
    }

    /** The nodes' AOT cache, where they run from a jar of the usual command. */
    static Optional<AotCache> aotCache() {
        String override = System.getProperty("baton.testbed.nodeCommand");
        if (override != null && !override.isBlank()) return Optional.empty();
        return nodeJar().flatMap(jar -> AotCache.forJar(Path.of(jar)));
    }

    private static Optional<String> codeSourceJar(Class<?> c) {
        try {
            var source = c.getProtectionDomain().getCodeSource();
            if (source == null) {
                return Optional.empty();
            }
            Path path = Path.of(source.getLocation().toURI());
            return path.toString().endsWith(".jar") ? Optional.of(path.toString()) : Optional.empty();
        } catch (URISyntaxException e) {
            return Optional.empty();
        }
    }

    /** Fails with an install hint when a tool the testbed runs is missing. */
    static void requireTools(Spec.Server server) {
        List<String> tools = new ArrayList<>(List.of("ip", "ethtool", "setsid", "sysctl"));
        if (server == Spec.Server.NGINX) {
            tools.add("nginx");
        }
        List<String> missing =
                tools.stream().filter(t -> findOnPath(t).isEmpty()).toList();
        if (!missing.isEmpty()) {
            throw new IllegalStateException("the testbed needs " + String.join(", ", missing)
                    + " (apt-get install -y iproute2 ethtool util-linux procps nginx; `baton demo` installs them)");
        }
    }

    /** The executable named {@code tool} on PATH (plus the sbin folders root has). */
    public static Optional<Path> findOnPath(String tool) {
        List<String> dirs =
                new ArrayList<>(List.of(System.getenv().getOrDefault("PATH", "").split(":")));
        dirs.addAll(List.of("/usr/local/sbin", "/usr/sbin", "/sbin", "/usr/bin", "/bin"));
        return dirs.stream()
                .filter(d -> !d.isEmpty())
                .map(d -> Path.of(d, tool))
                .filter(Files::isExecutable)
                .findFirst();
    }

    /** Sets {@code settings} ({@code key=value}) inside namespace {@code netns}. */
    public static void sysctl(String netns, String... settings) {
        List<String> argv = new ArrayList<>(List.of("sysctl", "-q", "-w"));
        argv.addAll(List.of(settings));
        Commands.check(Commands.inNetns(netns, argv), Names.COMMAND_TIMEOUT);
    }

    /** The command line of a process, arguments joined by spaces; empty if it is gone. */
    static String commandLine(long pid) {
        try {
            byte[] raw = Files.readAllBytes(Path.of("/proc", Long.toString(pid), "cmdline"));
            return new String(raw, StandardCharsets.UTF_8).replace('\0', ' ').strip();
        } catch (IOException e) {
            return "";
        }
    }

    private static Optional<Long> readPid(Path file) {
        try {
            String text = Files.readString(file).strip();
            return text.matches("\\d+") ? Optional.of(Long.parseLong(text)) : Optional.empty();
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    /** The last lines of a log file, or a note that it is missing. */
    static String tail(Path log) {
        try {
            List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
            return String.join("\n", lines.subList(Math.max(0, lines.size() - LOG_TAIL_LINES), lines.size())) + "\n";
        } catch (IOException e) {
            return "(no log: " + e.getMessage() + ")\n";
        }
    }

    private static void createDirectories(Path dir) {
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void writeString(Path file, String text) {
        try {
            Files.writeString(file, text);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting", e);
        }
    }

    private static String str(int n) {
        return Integer.toString(n);
    }
}
