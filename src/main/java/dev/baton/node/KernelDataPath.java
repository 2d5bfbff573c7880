package dev.baton.node;

import dev.baton.btcp.Btcp;
import dev.baton.btcp.Counter;
import dev.baton.btcp.FastPath;
import dev.baton.datapath.Datapath;
import dev.baton.datapath.DatapathConfig;
import dev.baton.datapath.DatapathCounter;
import dev.baton.datapath.KernelFastPath;
import dev.baton.datapath.LocalPaths;
import dev.baton.sys.BpfObject;
import dev.baton.sys.BpfProgram;
import dev.baton.sys.NetDevices;
import dev.baton.sys.SysException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collection;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.ObjLongConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A node's in-kernel data path ({@link KernelPath}, dev.baton.datapath): loads the programs with
 * their maps pinned under the node's pin directory, points them at this node's address, uplink and
 * TUNs, attaches them to the uplink's tc hooks and the wire TUN's, and gives the engine its
 * {@link FastPath}. On a clean stop it detaches and unpins everything; after a crash (or a kill) the
 * filters and maps stay, the flows carry their connections on, and the next start replaces the
 * filters in one step and takes over what the maps hold ({@link Btcp#takeOver}), incarnation
 * included ({@link #incarnation}).
 */
final class KernelDataPath implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(KernelDataPath.class);
    /** Forward ports 61001-61255: one per possible entry member (Btcp.Shadows). */
    private static final int FORWARD_PORTS = 255;
    /** One stats answer reads them once; a request after it sees what happened since. */
    private static final long COUNTERS_FRESH_NANOS = 1_000_000;

    static final long ALIVE_EVERY_MILLIS = 1_000;

    private final Datapath datapath;
    private final int uplinkIndex;
    private final DatapathConfig config;
    private final FastPath fast;
    private Map<DatapathCounter, Long> counted = new EnumMap<>(DatapathCounter.class);
    private long countedAt;
    private boolean closed;
    /** The paths in the programs' local_paths map, as this process wrote them. */
    private final Set<String> localPaths = new HashSet<>();
    /** Each local path's count of decisions at the last look ({@link #newLocalDecisions}). */
    private final Map<String, Long> seenHits = new HashMap<>();

    private KernelDataPath(Datapath datapath, int uplinkIndex, DatapathConfig config, FastPath fast) {
        this.datapath = datapath;
        this.uplinkIndex = uplinkIndex;
        this.config = config;
        this.fast = fast;
    }

    /**
     * Begins loading the data path of the node {@code cfg} describes, on a thread of its own (the
     * first load pays for binding libbpf, about half a second here, which the rest of the node's
     * start need not wait for); {@link Loading#start} finishes once the TUNs exist. Either fails with
     * one line naming what is missing: libbpf, a bpffs, the uplink, the permission, or the kernel's
     * acceptance of a program (with the verifier's reason).
     */
    static Loading load(Node.Config cfg, int maxConnections) {
        CompletableFuture<Datapath> f = new CompletableFuture<>();
        Thread.ofPlatform().name("datapath-load").daemon().start(() -> {
            try {
                f.complete(loadNow(cfg.kernelPath(), maxConnections));
            } catch (Throwable t) {
                f.completeExceptionally(t);
            }
        });
        return new Loading(f);
    }

    /** A data path being loaded. */
    static final class Loading {
        private static final long TIMEOUT_SECONDS = 30;
        private final CompletableFuture<Datapath> loaded;

        private Loading(CompletableFuture<Datapath> loaded) {
            this.loaded = loaded;
        }

        /** Waits for the load, then points the programs at this node and attaches them. */
        KernelDataPath start(Node.Config cfg, Btcp.Config engine) throws IOException {
            Datapath d;
            try {
                d = loaded.get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
            } catch (ExecutionException e) {
                if (e.getCause() instanceof IOException io) throw io;
                if (e.getCause() instanceof RuntimeException re) throw re;
                throw new IOException(e.getCause());
            } catch (TimeoutException e) {
                throw new IOException("loading the data path took over " + TIMEOUT_SECONDS + " s");
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted while loading the data path");
            }
            return attach(cfg, engine, d);
        }
    }

    private static Datapath loadNow(KernelPath k, int maxConnections) throws IOException {
        // The engine passes its kernel client packets (a replayed handshake, a held request) through
        // the kernel TUN, while the route back to a client is the uplink: strict filtering drops them.
        if (Files.readString(Path.of("/proc/sys/net/ipv4/conf/all/rp_filter"))
                .strip()
                .equals("1")) {
            throw new IOException("net.ipv4.conf.all.rp_filter is 1 (strict): it would drop the client packets baton"
                    + " passes to this host's kernel through its kernel TUN; set it to 2 (loose) or 0"
                    + " (sysctl -w net.ipv4.conf.all.rp_filter=2)");
        }
        if (!BpfObject.libbpfAvailable()) {
            throw new IOException(
                    "the in-kernel data path needs libbpf (libbpf.so.1; Debian: apt-get install libbpf1)");
        }
        Path fs = existingAncestor(k.pins());
        if (!NetDevices.onBpfFs(fs)) {
            throw new IOException("the data path's pins go on a bpffs, and " + fs + " is not one"
                    + " (mount -t bpf bpf " + KernelPath.BPFFS + ")");
        }
        index(k.uplink(), "uplink");
        Files.createDirectories(k.pins());
        try {
            return Datapath.load(maxConnections, Optional.of(k.pins()));
        } catch (SysException e) {
            if (e.errno() == 1) {
                throw new IOException(
                        "loading the data path's programs needs CAP_BPF, CAP_NET_ADMIN and CAP_PERFMON"
                                + " (run baton as root): " + e.getMessage(),
                        e);
            }
            throw e;
        }
    }

    private static KernelDataPath attach(Node.Config cfg, Btcp.Config engine, Datapath d) throws IOException {
        KernelPath k = cfg.kernelPath();
        try {
            int uplink = index(k.uplink(), "uplink");
            int wire = index(cfg.wireTun(), "wire TUN");
            int kernel = index(cfg.kernelTun(), "kernel TUN");
            KernelFastPath fast = new KernelFastPath(d, cfg.address(), cfg.servicePort()); // maps its ring first
            DatapathConfig c = new DatapathConfig(
                    cfg.address(),
                    engine.shadows().network(),
                    cfg.servicePort(),
                    engine.shadows().forwardPortBase(),
                    FORWARD_PORTS,
                    uplink,
                    wire,
                    kernel,
                    DatapathConfig.DEFAULT_MARK,
                    false,
                    true);
            d.configure(c);
            d.attach(uplink, wire);
            LOG.info("in-kernel data path on {} (ifindex {}), maps pinned in {}", k.uplink(), uplink, k.pins());
            return new KernelDataPath(d, uplink, c, fast);
        } catch (IOException | RuntimeException e) {
            d.close();
            throw e;
        }
    }

    private static int index(String device, String what) throws IOException {
        try {
            return NetDevices.index(device);
        } catch (SysException e) {
            throw new IOException(what + " " + device + " is not an interface in this network namespace", e);
        }
    }

    private static Path existingAncestor(Path p) {
        Path at = p;
        while (at != null && !Files.exists(at)) at = at.getParent();
        return at == null ? Path.of("/") : at;
    }

    FastPath fastPath() {
        return fast;
    }

    /**
     * How this process goes on from an earlier one of the node, if one left the maps.
     *
     * @param incarnation the control channel's: the earlier process's if its peers still wait for
     *     it (its shared connections are taken over, so they must read the gap as a cut link, not a
     *     restart), else 0 (the control plane draws a new one, kept with {@link #incarnation})
     * @param withPeers whether the connections shared with peers are taken over: the earlier process
     *     said it was alive less than the peer grace ago (less a second, its beat), so the peers still
     *     wait for what they share with it ({@link Btcp#takeOver})
     */
    record Succession(long incarnation, boolean withPeers) {}

    /** Decides the {@link Succession}, given how long peers wait for a lost peer. */
    Succession succeed(long peerGraceMillis) throws SysException {
        Datapath.NodeState kept = datapath.nodeState();
        long now = System.nanoTime();
        boolean withPeers =
                kept.incarnation() != 0 && now - kept.aliveNanos() < (peerGraceMillis - ALIVE_EVERY_MILLIS) * 1_000_000;
        if (kept.incarnation() != 0 && !withPeers) {
            LOG.warn(
                    "the earlier process of this node ended {} ms ago, longer than its peers wait: only its local"
                            + " connections are taken over",
                    (now - kept.aliveNanos()) / 1_000_000);
        }
        return new Succession(withPeers ? kept.incarnation() : 0, withPeers);
    }

    /** Keeps this process's control-plane incarnation for the next process, and says it is alive. */
    void incarnation(long incarnation) throws SysException {
        datapath.nodeState(new Datapath.NodeState(incarnation, System.nanoTime()));
    }

    /** Says this process is alive (the node calls it every {@link #ALIVE_EVERY_MILLIS}). */
    void alive() {
        try {
            Datapath.NodeState s = datapath.nodeState();
            datapath.nodeState(new Datapath.NodeState(s.incarnation(), System.nanoTime()));
        } catch (SysException e) {
            LOG.warn("keeping the node's state in the data path: {}", e.getMessage());
        }
    }

    /**
     * Every service packet through the engine ({@code on}) or only what needs it: the fault module
     * sits in the engine's path and must see the packets it may hit.
     */
    void allSlow(boolean on) throws SysException {
        datapath.configure(config.withAllSlow(on)); // the local decision stays on: config has it
    }

    /**
     * The paths the programs serve here without asking the engine (issue 12: "rare handoff" in user
     * space too): this node's own files, when whatever the cluster says they are served here (the
     * routing policy is "content" and this node is not draining); else none, and every request goes
     * to the engine. Those the programs cannot read as the parser would ({@link LocalPaths#decidable})
     * and any past {@link Datapath#MAX_LOCAL_PATHS} go to the engine too. Returns how many are in.
     */
    synchronized int localPaths(Collection<String> paths) {
        Set<String> want = new LinkedHashSet<>();
        for (String p : paths) {
            if (want.size() == Datapath.MAX_LOCAL_PATHS) break;
            if (LocalPaths.decidable(p)) want.add(p);
        }
        for (Iterator<String> i = localPaths.iterator(); i.hasNext(); ) {
            String p = i.next();
            if (!want.contains(p)) {
                datapath.removeLocalPath(p);
                i.remove();
            }
        }
        for (String p : want) {
            if (localPaths.contains(p)) continue;
            int r = datapath.putLocalPath(p);
            if (r == 0) localPaths.add(p);
            else LOG.warn("the data path took {} of {} paths to serve here: {}", localPaths.size(), want.size(), -r);
            if (r != 0) break;
        }
        return localPaths.size();
    }

    /**
     * Tells {@code sink} how many connections the programs decided with each path since the last
     * call (the routing statistics, which the engine would have fed one by one). The counts live in
     * local_paths and survive a restart: the first look after a start only learns where they are.
     */
    synchronized void newLocalDecisions(ObjLongConsumer<String> sink) {
        if (closed) return;
        for (String p : localPaths) {
            long hits = datapath.localPathHits(p);
            if (hits < 0) continue;
            Long was = seenHits.put(p, hits);
            if (was != null && hits > was) sink.accept(p, hits - was);
        }
        seenHits.keySet().retainAll(localPaths);
    }

    /** Connections the programs decided to serve here and that have not closed yet (the node's load). */
    synchronized long servedInKernel() {
        // Two reads, not the 26 of counters(): every heartbeat's load report asks. Once closed,
        // what was read last.
        Map<DatapathCounter, Long> last = closed ? counters() : null;
        long decided = last != null
                ? last.getOrDefault(DatapathCounter.DECIDED_LOCAL, 0L)
                : datapath.counter(DatapathCounter.DECIDED_LOCAL);
        long ended = last != null
                ? last.getOrDefault(DatapathCounter.DECIDED_LOCAL_ENDED, 0L)
                : datapath.counter(DatapathCounter.DECIDED_LOCAL_ENDED);
        return Math.max(0, decided - ended);
    }

    /** What the programs counted of what the engine also counts, for {@link Counters#alsoCountedBelow}. */
    long counted(Counter c) {
        Map<DatapathCounter, Long> n = counters();
        return switch (c) {
            case PACKETS_FORWARDED -> n.getOrDefault(DatapathCounter.TO_CHOSEN, 0L);
            case BYTES_FORWARDED -> n.getOrDefault(DatapathCounter.TO_CHOSEN_BYTES, 0L);
            case PACKETS_SENT_FOR_OTHERS -> n.getOrDefault(DatapathCounter.TO_CLIENT, 0L);
            case BYTES_SENT_FOR_OTHERS -> n.getOrDefault(DatapathCounter.TO_CLIENT_BYTES, 0L);
            // Every handshake the programs took, less those whose request went up: the engine
            // counted those as it adopted them.
            case CONNECTIONS_SEEN ->
                Math.max(
                        0,
                        n.getOrDefault(DatapathCounter.HANDSHAKES, 0L)
                                - n.getOrDefault(DatapathCounter.REQUESTS_UP, 0L));
            // Decided here, never seen by the engine; the silent ones as the engine's timeouts.
            case SERVED_LOCALLY ->
                Math.max(
                        0,
                        n.getOrDefault(DatapathCounter.DECIDED_LOCAL, 0L)
                                - n.getOrDefault(DatapathCounter.SILENT_RELEASED, 0L));
            case REQUEST_TIMEOUT -> n.getOrDefault(DatapathCounter.SILENT_RELEASED, 0L);
            default -> 0;
        };
    }

    /** The programs' counters, read at most every millisecond (a read is a system call per counter). */
    synchronized Map<DatapathCounter, Long> counters() {
        long now = System.nanoTime();
        if (!closed && (countedAt == 0 || now - countedAt > COUNTERS_FRESH_NANOS)) {
            counted = datapath.counters();
            countedAt = now;
        }
        return counted;
    }

    /** For the node's stats: the programs' counters, and what the kernel timed of each. */
    NodeStats.DatapathStats stats() {
        // The kernel times its programs only while kernel.bpf_stats_enabled is 1 (it costs two clock
        // reads a run): then runNanos / runs is a program's cost per packet under the real load.
        Map<String, NodeStats.ProgramStats> programs = new LinkedHashMap<>();
        for (String name : new String[] {Datapath.UPLINK_INGRESS, Datapath.UPLINK_EGRESS, Datapath.WIRE_INGRESS}) {
            try {
                BpfProgram.Stats s = datapath.program(name).stats();
                programs.put(name, new NodeStats.ProgramStats(s.runs(), s.runNanos()));
            } catch (SysException e) {
                LOG.warn("the statistics of program {}: {}", name, e.getMessage());
            }
        }
        return new NodeStats.DatapathStats(uplinkIndex, counters(), programs); // the record copies it
    }

    /**
     * Ends this process's part and leaves the programs attached and the maps pinned: the kernel
     * carries the handed-down flows on, and the next process takes them over.
     */
    synchronized void leave() {
        if (closed) return;
        closed = true;
        datapath.close();
        LOG.info("data path left attached, its maps pinned, for the next process");
    }

    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        try {
            Datapath.detach(uplinkIndex);
            datapath.unpin();
        } catch (SysException e) {
            LOG.warn("removing the data path: {}", e.getMessage());
        }
        datapath.close();
    }
}
