package dev.baton.node;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.baton.btcp.Btcp;
import dev.baton.btcp.Counter;
import dev.baton.btcp.Counters;
import dev.baton.btcp.Drop;
import dev.baton.btcp.HandshakeInit;
import dev.baton.btcp.Peer;
import dev.baton.btcp.Refusal;
import dev.baton.control.ClusterKey;
import dev.baton.control.ControlCounter;
import dev.baton.control.ControlListener;
import dev.baton.control.ControlMessage;
import dev.baton.control.ControlPlane;
import dev.baton.control.FrameException;
import dev.baton.fault.FaultRule;
import dev.baton.http.RequestParser;
import dev.baton.route.ContentAwarePolicy;
import dev.baton.route.Member;
import dev.baton.route.RequestInfo;
import dev.baton.route.RoutingPolicy;
import dev.baton.server.StaticServer;
import dev.baton.sys.SysException;
import dev.baton.sys.Tun;
import dev.baton.wire.Bytes;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NetworkInterface;
import java.net.UnknownHostException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One baton node: its BTCP between two TUN devices (wire side and kernel side), the control channel
 * to every other node, the routing policy, optionally the built-in web server, and an admin socket.
 */
public final class Node implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Node.class);
    /**
     * Everything a node needs to start.
     *
     * @param address the service address: clients connect to it, the kernel TUN carries it
     * @param controlPort where this node listens for control links, and every peer's unless
     *     {@code peerControlPorts} names another
     * @param metricsPort where {@code GET /metrics} (Prometheus) and the dashboard answer; 0: nowhere
     * @param controlAddress where this node's control links start and end: its service address when
     *     baton runs in the server's namespace, the host's own address on a real host
     * @param peerControlAddresses peers whose control address is not their service address
     * @param host how baton sits under the server on a real host; null: baton runs in the server's
     *     namespace and whoever started it wires the TUNs (the testbed)
     * @param metricsAddress where the metrics and the dashboard listen; 0: every address
     * @param kernelPath the in-kernel data path: the uplink its programs attach to, where its maps
     *     are pinned; null: every packet crosses the TUNs (the server's namespace behind them)
     */
    public record Config(
            String name,
            int address,
            int servicePort,
            int controlPort,
            String kernelTun,
            String wireTun,
            List<Member> peers,
            Path docroot,
            boolean builtinServer,
            String policy,
            Path adminSocket,
            Path readyFile,
            ClusterKey clusterKey,
            Map<String, Integer> peerControlPorts,
            int metricsPort,
            int controlAddress,
            Map<String, Integer> peerControlAddresses,
            HostLayout host,
            int metricsAddress,
            KernelPath kernelPath) {
        /** The metrics port unless told otherwise (the Prometheus node exporter's neighbour). */
        public static final int DEFAULT_METRICS_PORT = 9180;

        public Config {
            peers = List.copyOf(peers);
            peerControlPorts = Map.copyOf(peerControlPorts);
            peerControlAddresses = Map.copyOf(peerControlAddresses);
        }

        /** A node in the server's namespace, its control links on its service address. */
        public Config(
                String name,
                int address,
                int servicePort,
                int controlPort,
                String kernelTun,
                String wireTun,
                List<Member> peers,
                Path docroot,
                boolean builtinServer,
                String policy,
                Path adminSocket,
                Path readyFile,
                ClusterKey clusterKey,
                Map<String, Integer> peerControlPorts,
                int metricsPort) {
            this(
                    name,
                    address,
                    servicePort,
                    controlPort,
                    kernelTun,
                    wireTun,
                    peers,
                    docroot,
                    builtinServer,
                    policy,
                    adminSocket,
                    readyFile,
                    clusterKey,
                    peerControlPorts,
                    metricsPort,
                    address,
                    Map.of(),
                    null,
                    0,
                    null);
        }

        /** The same node, writing its pid to {@code file} once its TUNs exist. */
        public Config withReadyFile(Path file) {
            return new Config(
                    name,
                    address,
                    servicePort,
                    controlPort,
                    kernelTun,
                    wireTun,
                    peers,
                    docroot,
                    builtinServer,
                    policy,
                    adminSocket,
                    file,
                    clusterKey,
                    peerControlPorts,
                    metricsPort,
                    controlAddress,
                    peerControlAddresses,
                    host,
                    metricsAddress,
                    kernelPath);
        }

        /** The same node on the in-kernel data path {@code k}. */
        public Config withKernelPath(KernelPath k) {
            return new Config(
                    name,
                    address,
                    servicePort,
                    controlPort,
                    kernelTun,
                    wireTun,
                    peers,
                    docroot,
                    builtinServer,
                    policy,
                    adminSocket,
                    readyFile,
                    clusterKey,
                    peerControlPorts,
                    metricsPort,
                    controlAddress,
                    peerControlAddresses,
                    host,
                    metricsAddress,
                    k);
        }

        /** The port {@code peer} listens on for control links. */
        public int controlPortOf(String peer) {
            return peerControlPorts.getOrDefault(peer, controlPort);
        }

        /** The address {@code peer} is reached at for control links. */
        public int controlAddressOf(Member peer) {
            return peerControlAddresses.getOrDefault(peer.name(), peer.address());
        }
    }

    /**
     * Node options: the close-down timers of the BTCP (short ones let a test see tables drain), fault
     * rules in force from the start, and how packets cross the TUNs.
     *
     * @param offload TUNs with a virtio-net header, and the kernel side's offloads on (partial
     *     checksums, 64 KiB TCP super-packets): a bulk transfer crosses user space in a fraction of
     *     the reads and writes (docs/KERNEL-FACTS.md)
     * @param eagerCommit the entry commits with its handoff request ({@link Btcp.Config#eagerCommit})
     */
    public record Tuning(Btcp.Closing closing, List<FaultRule> faults, boolean offload, boolean eagerCommit) {
        /** The shortest any of the three timers may be (the config file and the options refuse less). */
        public static final Duration MIN_TIMER = Duration.ofMillis(100);

        public static final Tuning DEFAULT = new Tuning(Btcp.Closing.DEFAULT, List.of(), true, true);

        public Tuning {
            faults = List.copyOf(faults);
            for (Duration d : List.of(closing.linger(), closing.timeWait(), closing.peerGrace())) {
                if (d.compareTo(MIN_TIMER) < 0) {
                    throw new IllegalArgumentException("linger, TIME-WAIT and peer grace must each be at least 100 ms");
                }
            }
        }
    }

    /** Packets the kernel may queue on each TUN device for the packet loop. */
    static final int TUN_QUEUE_LENGTH = 4096;

    private static final ObjectMapper JSON = new ObjectMapper();
    /** How long an admin command waits for the packet loop. */
    private static final long ADMIN_WAIT_MILLIS = 2_000;
    /** At most this many connections in an answer to {@code connections}. */
    private static final int CONNECTIONS_SHOWN = 1_000;

    private final Config cfg;
    private final Tun wire;
    private final Tun kernel;
    /** The in-kernel data path; null when every packet crosses the TUNs. */
    private final KernelDataPath kernelPath;
    /** How this process goes on from the node's earlier one (in-kernel data path only, else null). */
    private final KernelDataPath.Succession succession;
    /** Set by the admin command {@code handover}: the stop leaves the data path to the next process. */
    private volatile boolean handingOver;

    private final PacketLoop loop;
    private final Btcp btcp;
    private final ClusterState cluster;
    /** The routing policy in force, by name: swapped whole at run time ({@code policy NAME}). */
    private record Policy(String name, RoutingPolicy policy) {}

    /** Read once per routed connection. */
    private volatile Policy policy;

    private final ControlPlane control;
    private final StaticServer server;
    private final AdminServer admin;
    private final Thread loopThread;
    private final NodeMetrics metrics;
    /** What routing decided, per member and per path, for the dashboard. */
    private final RouteStats routes;

    private final AtomicLong policyErrors = new AtomicLong();
    private ScheduledExecutorService scheduler;
    private final Drain drain;

    /** A thread for control messages a fault rule delays and for the drain's watch; made when first needed. */
    private synchronized ScheduledExecutorService scheduler() {
        if (scheduler == null) {
            scheduler = Executors.newSingleThreadScheduledExecutor(r -> {
                Thread t = new Thread(r, "node-scheduler");
                t.setDaemon(true);
                return t;
            });
        }
        return scheduler;
    }

    public Node(Config cfg) throws IOException {
        this(cfg, Tuning.DEFAULT);
    }

    public Node(Config cfg, Tuning tuning) throws IOException {
        this.cfg = cfg;
        if (cfg.host() != null) cfg.host().check(cfg); // before anything changes on the host
        // The data path loads while the rest is made (it needs the TUNs only to attach).
        KernelDataPath.Loading loading =
                cfg.kernelPath() == null ? null : KernelDataPath.load(cfg, Btcp.Limits.DEFAULT.maxConnections());
        this.policy = new Policy(cfg.policy(), RoutingPolicy.load(cfg.policy()));
        List<String> paths = DocumentRoot.scan(cfg.docroot());
        List<Member> members = Members.indexed(new Member(cfg.name(), cfg.address()), cfg.peers());
        Member self = members.getFirst();
        List<Member> peers = members.subList(1, members.size());
        kernel = Tun.open(cfg.kernelTun(), tuning.offload());
        wire = Tun.open(cfg.wireTun(), tuning.offload());
        // Only the kernel side offers offloads: what our kernel sends may stay partial and large (the
        // bulk of a response), while what comes from the network arrives as plain, fully checksummed
        // segments, which the BTCP checks before it holds or hands them off. Writes may be either.
        if (tuning.offload()) {
            try {
                kernel.offload(Tun.OFFLOAD_CSUM | Tun.OFFLOAD_TSO4);
            } catch (SysException e) { // a kernel without TUN offloads: plain segments, slower, still right
                LOG.warn("{}; going on without TUN offloads", e.getMessage());
            }
        }
        loop = new PacketLoop(wire, kernel);
        btcp = new Btcp(
                new Btcp.Config(
                        cfg.address(),
                        cfg.servicePort(),
                        Btcp.Shadows.DEFAULT,
                        Btcp.Limits.DEFAULT,
                        Btcp.Timers.DEFAULT,
                        tuning.closing(),
                        tuning.eagerCommit()),
                loop,
                new ControlOut(),
                this::route,
                System.currentTimeMillis());
        loop.attach(btcp);
        for (FaultRule r : tuning.faults()) loop.faults().add(r); // the loop has not started: no race
        cluster = new ClusterState(self, peers, paths, this::servedConnections);
        drain = new Drain(cluster, this::openConnections, this::scheduler);
        routes = new RouteStats(members);
        List<List<String>> shadows = Members.shadowAddressCommands(cfg.kernelTun(), btcp.config(), peers);
        if (cfg.host() != null) {
            cfg.host().wire(cfg, shadows, TUN_QUEUE_LENGTH);
        } else {
            List<List<String>> setup = new ArrayList<>(shadows);
            // The kernel queues packets for us on each TUN; 500 (the default) overflows in the bursts of
            // many concurrent transfers whenever our loop waits for a CPU, and every drop costs TCP a
            // retransmission. Control frames still overtake bulk data (they ride pfifo_fast's first band).
            for (String device : List.of(cfg.kernelTun(), cfg.wireTun())) {
                setup.add(List.of("link", "set", "dev", device, "txqueuelen", Integer.toString(TUN_QUEUE_LENGTH)));
            }
            if (cfg.kernelPath() != null) {
                // The TUNs are side doors now: the node's address lives on the uplink, whose MTU they share.
                String mtu = Integer.toString(uplinkMtu(cfg.kernelPath().uplink()));
                for (String device : List.of(cfg.kernelTun(), cfg.wireTun())) {
                    setup.add(List.of("link", "set", "dev", device, "mtu", mtu, "up"));
                }
            }
            IpCommand.batch(setup);
        }
        if (cfg.kernelPath() != null) {
            // What we inject comes in on the kernel TUN from addresses routed through the uplink.
            Sysctl.deviceIpv4(cfg.kernelTun(), "rp_filter", "0");
            Sysctl.deviceIpv6Off(cfg.kernelTun());
            Sysctl.deviceIpv6Off(cfg.wireTun());
            kernelPath = loading.start(cfg, btcp.config());
            btcp.fastPath(kernelPath.fastPath());
            succession = kernelPath.succeed(tuning.closing().peerGrace().toMillis());
            int taken = btcp.takeOver(succession.withPeers()); // before the first packet: the loop has not started
            if (taken > 0 || btcp.counters().get(Counter.TAKEOVER_RESETS) > 0) {
                LOG.info(
                        "took over {} connections from this node's earlier process; reset {} handoffs in flight",
                        taken,
                        btcp.counters().get(Counter.TAKEOVER_RESETS));
            }
            btcp.counters().alsoCountedBelow(kernelPath::counted);
            if (!tuning.faults().isEmpty()) kernelPath.allSlow(true);
            syncLocalPaths();
        } else {
            kernelPath = null;
            succession = null;
        }
        List<ControlPlane.PeerSpec> specs = new ArrayList<>();
        for (Member m : peers) {
            specs.add(new ControlPlane.PeerSpec(m.name(), inet(cfg.controlAddressOf(m)), cfg.controlPortOf(m.name())));
        }
        // In the server's namespace the links listen on every address (the testbed's nodes have one);
        // on a real host only on the host's control address, not on every interface it has.
        InetAddress listen = cfg.host() == null ? inet(0) : inet(cfg.controlAddress());
        long incarnation = succession == null ? 0 : succession.incarnation();
        control = new ControlPlane(
                ControlPlane.Config.of(cfg.name(), inet(cfg.controlAddress()), specs)
                        .withListen(listen, cfg.controlPort())
                        .withServicePort(cfg.servicePort())
                        .withLoad(
                                () -> ControlMessage.Heartbeat.of(servedConnections(), cluster.isDraining(cfg.name()))),
                cfg.clusterKey(),
                new ControlIn(),
                incarnation);
        if (kernelPath != null) kernelPath.incarnation(control.incarnation());
        server = cfg.builtinServer()
                ? new StaticServer(StaticServer.Config.of(
                                new InetSocketAddress(inet(0), cfg.servicePort()), cfg.docroot(), cfg.name())
                        .withLocator(this::holderOf)
                        .withNamespace(cfg.host() == null ? null : cfg.host().serverNamespace()))
                : null;
        loop.drive(control);
        metrics = new NodeMetrics(
                cfg.name(),
                btcp,
                loop,
                control,
                peers.stream().map(Member::name).toList(),
                policyErrors::get,
                () -> cluster.isDraining(cfg.name()));
        admin = new AdminServer(cfg.adminSocket(), this::command);
        loopThread = new Thread(loop, "btcp-" + cfg.name());
    }

    /** Starts every part, then writes the ready file (its pid): the TUN devices exist from then on. */
    @SuppressWarnings("FutureReturnValueIgnored") // the periodic tasks catch and log what they meet
    public void start() throws IOException {
        loopThread.start();
        if (server != null) server.start();
        control.startDriven(loop::wake);
        admin.start();
        if (kernelPath != null) { // so that the next process knows whether our peers still wait for us
            scheduler()
                    .scheduleAtFixedRate(
                            kernelPath::alive,
                            KernelDataPath.ALIVE_EVERY_MILLIS,
                            KernelDataPath.ALIVE_EVERY_MILLIS,
                            TimeUnit.MILLISECONDS);
            // What the programs decided goes into the routing statistics, as the engine's decisions do.
            scheduler().scheduleWithFixedDelay(this::countLocalDecisions, 0, 1, TimeUnit.SECONDS);
        }
        if (cfg.metricsPort() > 0) {
            metrics.serve(
                    new InetSocketAddress(inet(cfg.metricsAddress()), cfg.metricsPort()),
                    new Dashboard(
                            cluster.selfMember(),
                            cfg.peers().stream()
                                    .map(p -> cluster.member(p.name()))
                                    .toList(),
                            cfg::controlAddressOf,
                            cfg.metricsPort(),
                            btcp.config().limits().maxConnections(),
                            this::stats,
                            routes,
                            control));
        }
        if (cfg.readyFile() != null) {
            Files.writeString(cfg.readyFile(), ProcessHandle.current().pid() + "\n");
        }
        metrics.warmUp();
    }

    /** Blocks until the packet loop ends (it ends only on {@link #close()} or a fatal error). */
    public void awaitTermination() throws InterruptedException {
        loopThread.join();
    }

    /** Connections this node's server serves: those the engine tracks and those the programs decided. */
    private int servedConnections() {
        return withKernels(btcp.activeConnections());
    }

    /** Connections that still carry data, the programs' own included: a drain waits for them too. */
    private int openConnections() {
        return withKernels(btcp.openConnections());
    }

    private int withKernels(long engines) {
        long n = engines + (kernelPath == null ? 0 : kernelPath.servedInKernel());
        return (int) Math.min(Integer.MAX_VALUE, n);
    }

    private void countLocalDecisions() {
        try {
            kernelPath.newLocalDecisions((path, n) -> routes.record(path, cluster.selfMember(), n));
        } catch (RuntimeException e) { // a failed run would cancel the later ones
            LOG.warn("reading the data path's local decisions: {}", e.toString());
        }
    }

    /**
     * Tells the programs which paths they may serve here without the engine: this node's own, while
     * the policy would serve them here whatever the cluster says ("content", not draining); none
     * otherwise (KernelDataPath#localPaths). After each change of the policy, the drain or the paths.
     */
    private synchronized void syncLocalPaths() {
        if (kernelPath == null) return;
        boolean here = policy.policy() instanceof ContentAwarePolicy && !cluster.isDraining(cfg.name());
        int n = kernelPath.localPaths(here ? cluster.ownPaths() : List.of());
        LOG.debug("the data path serves {} paths here on its own", n);
    }

    /**
     * Asks the policy; a policy that fails or names a stranger means: serve here. A head that is not
     * routable (see {@link RequestInfo#of}) is served here without asking.
     */
    private Peer route(RequestParser head) {
        RequestInfo info = RequestInfo.of(head);
        if (info == null) return null;
        String chosen;
        try {
            chosen = policy.policy().choose(info, cluster);
        } catch (RuntimeException e) {
            policyErrors.incrementAndGet();
            return null;
        }
        Member to = chosen == null || chosen.equals(cfg.name()) ? null : cluster.member(chosen);
        routes.record(info.path(), to == null ? cluster.selfMember() : to);
        return to == null ? null : cluster.peer(to.name());
    }

    /**
     * Back-end forwarding for the built-in server: a node other than us that holds {@code path},
     * preferring one whose control channel is up. One that is down is still tried: its web server
     * may well answer, and a failed fetch is a 502, where giving up would be a false 404.
     */
    private InetSocketAddress holderOf(String path) {
        String pick = null;
        for (String h : cluster.index().exactHolders(path)) {
            if (h.equals(cfg.name())) continue;
            if (cluster.isUp(h)) {
                pick = h;
                break;
            }
            if (pick == null) pick = h;
        }
        return pick == null
                ? null
                : new InetSocketAddress(inet(cluster.member(pick).address()), cfg.servicePort());
    }

    // ------------------------------------------------------------------------------------------

    /** BTCP to control channel: turn the engine's calls into messages. Called on the loop thread. */
    private final class ControlOut implements Btcp.Control {
        private boolean send(String peer, ControlMessage m) {
            return send(peer, m, false);
        }

        /**
         * Sends {@code m} unless a fault rule drops, duplicates or delays it; {@code lazily}: it may
         * wait a moment for company ({@link ControlPlane#sendLazily}).
         */
        @SuppressWarnings("FutureReturnValueIgnored") // a delayed send reports its own failure, as a send does
        private boolean send(String peer, ControlMessage m, boolean lazily) {
            FaultRule hit = loop.faults().active() ? loop.faults().onMessage(m) : null;
            if (hit == null) return lazily ? control.sendLazily(peer, m) : control.send(peer, m);
            return switch (hit.action()) {
                case DROP -> true; // lost on the way: the sender cannot tell
                case DUPLICATE -> {
                    control.send(peer, m);
                    yield control.send(peer, m);
                }
                default -> {
                    scheduler().schedule(() -> control.send(peer, m), hit.millis(), TimeUnit.MILLISECONDS);
                    yield true;
                }
            };
        }

        @Override
        public boolean handoffRequest(String peer, long connId, HandshakeInit e, byte[] syn, byte[] ack) {
            return send(
                    peer,
                    new ControlMessage.HandoffRequest(
                            connId,
                            e.isn(),
                            e.tsVal(),
                            e.windowScale(),
                            Math.max(0, e.mss()),
                            e.timestamps(),
                            e.sackPermitted(),
                            syn,
                            ack));
        }

        @Override
        public boolean commit(String peer, long connId, byte[] request) {
            return send(peer, new ControlMessage.Commit(connId, request));
        }

        @Override
        public void handoffAck(String peer, long connId, HandshakeInit c, int forwardPort) {
            send(
                    peer,
                    new ControlMessage.HandoffAck(
                            connId,
                            c.isn(),
                            c.tsVal(),
                            c.windowScale(),
                            Math.max(0, c.mss()),
                            c.timestamps(),
                            c.sackPermitted(),
                            forwardPort));
        }

        @Override
        public void handoffRefuse(String peer, long connId, Refusal reason) {
            send(peer, new ControlMessage.HandoffRefuse(connId, reason.code()));
        }

        @Override
        public void terminate(String peer, long connId) {
            // Nobody waits on it: the entry node only frees its table entry (after a linger anyway).
            send(peer, new ControlMessage.Terminate(connId), true);
        }

        @Override
        public void abort(String peer, long connId) {
            send(peer, new ControlMessage.Abort(connId));
        }
    }

    /** Control channel to BTCP: called on the packet loop's thread, which drives the links and owns the engine. */
    private final class ControlIn implements ControlListener {
        @Override
        public void onPeerUp(String peer, ControlMessage.Hello hello) {
            cluster.peerUp(peer);
            // The incarnation tells a peer that restarted (its connections are gone) from a link that was cut.
            btcp.onPeerUp(peer, hello.incarnation());
            announceTo(peer);
        }

        @Override
        public void onPeerDown(String peer) {
            cluster.peerDown(peer);
            btcp.onPeerDown(peer);
        }

        @Override
        public void onMessage(String peer, ControlMessage m) {
            switch (m) {
                case ControlMessage.Heartbeat h -> cluster.load(peer, h.activeConnections(), h.draining());
                case ControlMessage.Content c -> cluster.content(peer, c.first(), c.last(), c.paths());
                case ControlMessage.HandoffRequest r ->
                    btcp.onHandoffRequest(
                            cluster.peer(peer),
                            r.connId(),
                            new HandshakeInit(
                                    r.entryIsn(),
                                    r.entryTsVal(),
                                    r.entryWindowScale(),
                                    r.entryMss(),
                                    r.timestamps(),
                                    r.sackPermitted()),
                            r.syn(),
                            r.ack());
                case ControlMessage.HandoffAck a ->
                    btcp.onHandoffAck(
                            peer,
                            a.connId(),
                            new HandshakeInit(
                                    a.chosenIsn(),
                                    a.chosenTsVal(),
                                    a.chosenWindowScale(),
                                    a.chosenMss(),
                                    a.timestamps(),
                                    a.sackPermitted()),
                            a.forwardPort());
                case ControlMessage.HandoffRefuse f ->
                    btcp.onHandoffRefuse(peer, f.connId(), Refusal.ofCode(f.reason()));
                case ControlMessage.Terminate t -> btcp.onTerminate(peer, t.connId());
                case ControlMessage.Abort a -> btcp.onAbort(cluster.peer(peer), a.connId());
                case ControlMessage.Commit c -> btcp.onCommit(cluster.peer(peer), c.connId(), c.request());
                case ControlMessage.Hello h -> {}
                case ControlMessage.Auth a -> {}
            }
        }
    }

    // ------------------------------------------------------------------------------------------

    private String command(String line) throws IOException {
        String cmd = line.trim();
        if (cmd.equals("fault") || cmd.startsWith("fault "))
            return faultCommand(cmd.substring(5).trim());
        if (cmd.startsWith("policy ")) return policyCommand(cmd.substring(7).trim());
        return switch (cmd) {
            case "stats" -> stats().toJson();
            case "content" -> JSON.writeValueAsString(cluster.index().paths());
            case "content rescan" -> rescan();
            // A draining node hands on what another holder can serve and finishes the rest (Drain).
            case "drain" -> drainCommand(true);
            case "drain off" -> drainCommand(false);
            case "drain status" -> JSON.writeValueAsString(drain.state());
            case "handover" -> handover();
            // What the engine tracks, for an operator asking why a table has not drained.
            case "connections" -> connections();
            default ->
                error("unknown command; try stats, content, content rescan, policy NAME, drain,"
                        + " drain off, drain status, connections, handover, fault list|add RULE|remove ID|clear");
        };
    }

    /**
     * {@code content rescan}: reads the document root again and announces the new set to every peer
     * (an announcement replaces the previous one whole). Connections in flight are not touched: a
     * routing decision is taken once per connection, against the index of its moment. The set
     * changes and leaves on the packet loop's thread, as a peer-up announcement does, so the chunks
     * of two announcements never interleave on a link.
     */
    private synchronized String rescan() throws IOException {
        List<String> paths;
        try {
            paths = DocumentRoot.scan(cfg.docroot());
        } catch (IOException | RuntimeException e) {
            return error("cannot scan " + cfg.docroot() + ": " + e.getMessage());
        }
        int before;
        try {
            before = loop.call(
                    () -> {
                        int was = cluster.ownPaths().size();
                        cluster.ownPaths(paths);
                        for (String peer : control.upPeers()) announceTo(peer);
                        return was;
                    },
                    ADMIN_WAIT_MILLIS);
        } catch (Exception e) {
            return error("the packet loop did not answer: " + e);
        }
        syncLocalPaths();
        return JSON.writeValueAsString(Map.of("paths", paths.size(), "before", before));
    }

    /** Tells {@code peer} which paths this node holds: the whole set, in chunks (loop thread). */
    private void announceTo(String peer) {
        for (ControlMessage.Content c : ControlMessage.Content.chunked(cluster.ownPaths())) {
            control.send(peer, c);
        }
    }

    /** {@code drain}, {@code drain off}: the programs stop or resume serving this node's paths on their own. */
    private String drainCommand(boolean on) throws IOException {
        NodeStats.DrainState state = drain.set(on);
        syncLocalPaths();
        return JSON.writeValueAsString(state);
    }

    /** {@code policy NAME}: routes new connections with another policy from now on. */
    private String policyCommand(String name) throws IOException {
        RoutingPolicy next;
        try {
            next = RoutingPolicy.load(name);
        } catch (IllegalArgumentException e) {
            return error(e.getMessage());
        }
        String was = policy.name();
        policy = new Policy(name, next);
        syncLocalPaths();
        return JSON.writeValueAsString(Map.of("policy", name, "was", was));
    }

    /**
     * {@code fault list}, {@code fault add RULE} ({@link FaultRule#parse}), {@code fault remove ID},
     * {@code fault clear}: the fault module is changed on the packet loop's thread, which owns it.
     */
    private String faultCommand(String args) throws IOException {
        String[] w = args.split("\\s+", 2);
        try {
            return switch (w[0]) {
                case "", "list" -> JSON.writeValueAsString(loop.call(this::faultState, ADMIN_WAIT_MILLIS));
                case "add" -> {
                    FaultRule rule = FaultRule.parse(w.length > 1 ? w[1] : "");
                    long id = loop.call(() -> loop.faults().add(rule), ADMIN_WAIT_MILLIS);
                    faultsChanged();
                    yield JSON.writeValueAsString(Map.of("added", id, "rule", rule.toString()));
                }
                case "remove" -> {
                    long id = Long.parseLong(w.length > 1 ? w[1].trim() : "");
                    boolean removed = loop.call(() -> loop.faults().remove(id), ADMIN_WAIT_MILLIS);
                    faultsChanged();
                    yield removed ? JSON.writeValueAsString(Map.of("removed", id)) : error("no fault rule " + id);
                }
                case "clear" -> {
                    loop.call(
                            () -> {
                                loop.faults().clear();
                                return null;
                            },
                            ADMIN_WAIT_MILLIS);
                    faultsChanged();
                    yield JSON.writeValueAsString(Map.of("cleared", true));
                }
                default -> error("fault takes list, add RULE, remove ID or clear");
            };
        } catch (IllegalArgumentException | IllegalStateException e) {
            return error(e.getMessage());
        } catch (IOException e) {
            throw e;
        } catch (Exception e) {
            return error("the packet loop did not answer: " + e);
        }
    }

    /**
     * The fault module sits in the engine's path: while it has rules, the in-kernel data path sends
     * every service packet through the engine, so the rules reach every phase they reach without it.
     */
    private void faultsChanged() throws Exception {
        if (kernelPath == null) return;
        boolean rules = loop.call(() -> !loop.faults().describe().isEmpty(), ADMIN_WAIT_MILLIS);
        kernelPath.allSlow(rules);
    }

    private Map<String, Object> faultState() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("rules", loop.faults().describe());
        m.put("held", loop.faults().held());
        m.put("holdOverflows", loop.faults().holdOverflows());
        return m;
    }

    private static String error(String message) throws IOException {
        return JSON.writeValueAsString(Map.of("error", message));
    }

    /** The node's numbers, as the admin socket's {@code stats} answers them. */
    public NodeStats stats() {
        Counters c = btcp.counters();
        Map<Counter, Long> counters = new EnumMap<>(Counter.class);
        for (Counter k : Counter.values()) counters.put(k, c.get(k));
        Map<Drop, Long> drops = new EnumMap<>(Drop.class);
        for (Drop k : Drop.values()) drops.put(k, c.get(k));
        Map<LoopDrop, Long> loopDrops = new EnumMap<>(LoopDrop.class);
        loopDrops.put(LoopDrop.INBOX_FULL, loop.inboxDropped());
        loopDrops.put(LoopDrop.TUN_WRITE_FAILED, loop.writeFailures());
        loopDrops.put(LoopDrop.BAD_TUN_FRAME, loop.badFrames());
        loopDrops.put(LoopDrop.INTERNAL_ERROR, loop.internalErrors());
        loopDrops.put(LoopDrop.POLICY_ERROR, policyErrors.get());
        Map<Refusal, Long> refusals = new EnumMap<>(Refusal.class);
        for (Refusal r : Refusal.values()) if (c.get(r) != 0) refusals.put(r, c.get(r));
        Map<String, Integer> loads = new LinkedHashMap<>();
        for (Member p : cfg.peers()) if (cluster.isUp(p.name())) loads.put(p.name(), cluster.load(p.name()));
        var jit = ManagementFactory.getCompilationMXBean();
        return new NodeStats(
                cfg.name(),
                Bytes.ipv4ToString(cfg.address()),
                Bytes.ipv4ToString(cfg.controlAddress()),
                cfg.host() == null ? null : cfg.host().serverNamespace(),
                cfg.peers().stream().map(Member::name).toList(),
                cluster.peersUp(),
                loads,
                counters,
                new NodeStats.Drops(drops, loopDrops),
                refusals,
                servedConnections(),
                btcp.trackedConnections(),
                btcp.halfOpenConnections(),
                btcp.freeHoldBuffers(),
                cluster.ownPaths().size(),
                policy.name(),
                drain.state(),
                btcp.openConnections(),
                cluster.droppedAnnouncements(),
                controlStats(),
                jit != null && jit.isCompilationTimeMonitoringSupported() ? jit.getTotalCompilationTime() : -1,
                server == null ? null : server.stats(),
                kernelPath == null ? null : kernelPath.stats());
    }

    private NodeStats.ControlStats controlStats() {
        Map<ControlCounter, Long> counters = new EnumMap<>(ControlCounter.class);
        for (ControlCounter k : ControlCounter.values()) counters.put(k, control.get(k));
        Map<String, Long> malformed = new LinkedHashMap<>();
        for (FrameException.Reason r : FrameException.Reason.values()) malformed.put(r.name(), control.malformed(r));
        return new NodeStats.ControlStats(counters, malformed);
    }

    /** {@code connections}: what the engine tracks (at most {@link #CONNECTIONS_SHOWN}). */
    private String connections() throws IOException {
        try {
            return JSON.writeValueAsString(loop.call(() -> btcp.connections(CONNECTIONS_SHOWN), ADMIN_WAIT_MILLIS));
        } catch (Exception e) {
            return error("the packet loop did not answer: " + e);
        }
    }

    /**
     * {@code handover}: the node's next stop leaves its data path in the kernel, its flows carrying
     * the connections on, for the next process to take over (an upgrade: stop, then start the new
     * build). Only on the in-kernel data path; on the TUN path the connections live in this process.
     */
    private String handover() throws IOException {
        if (kernelPath == null) return error("handover needs the in-kernel data path (datapath: in the config)");
        handingOver = true;
        return JSON.writeValueAsString(Map.of("handover", true));
    }

    @Override
    public void close() {
        admin.close();
        metrics.close();
        synchronized (this) {
            if (scheduler != null) scheduler.shutdownNow(); // delayed messages and the drain watch die with the node
        }
        control.close();
        if (server != null) {
            try {
                server.close();
            } catch (IOException e) {
                LOG.warn("closing the built-in server: {}", e.toString());
            }
        }
        loop.stop();
        try {
            loopThread.join(2000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (kernelPath != null) { // before the TUNs: nothing more is sent their way
            if (handingOver) kernelPath.leave();
            else kernelPath.close();
        }
        wire.close();
        kernel.close();
        if (cfg.host() != null) cfg.host().unwire(cfg);
    }

    private static int uplinkMtu(String uplink) throws IOException {
        NetworkInterface nic = NetworkInterface.getByName(uplink);
        if (nic == null) throw new IOException("uplink " + uplink + " is not an interface in this network namespace");
        return nic.getMTU();
    }

    static InetAddress inet(int address) {
        try {
            return InetAddress.getByAddress(
                    new byte[] {(byte) (address >>> 24), (byte) (address >>> 16), (byte) (address >>> 8), (byte) address
                    });
        } catch (UnknownHostException e) {
            throw new AssertionError("4 bytes are always an address", e);
        }
    }
}
