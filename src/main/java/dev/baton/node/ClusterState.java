package dev.baton.node;

import dev.baton.btcp.Peer;
import dev.baton.route.ClusterView;
import dev.baton.route.ContentIndex;
import dev.baton.route.Member;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.IntSupplier;

/**
 * What this node knows of the cluster: the members, which are reachable over the control channel,
 * their reported load, and who holds which content. Written by the control channel's threads, read by
 * the packet loop and the built-in server without locks (immutable snapshots, volatile fields).
 */
public final class ClusterState implements ClusterView {
    private final Member self;
    private final Map<String, Member> members;
    /** The same members as the engine sees them: made once, so a routed connection allocates none. */
    private final Map<String, Peer> peers;

    private final IntSupplier ownLoad;
    private final Map<String, List<String>> announced = new ConcurrentHashMap<>();
    private final Map<String, List<String>> partial = new ConcurrentHashMap<>();
    /** Peers whose announcement in progress grew past the bound: their chunks are ignored until a first. */
    private final Set<String> discarding = ConcurrentHashMap.newKeySet();

    private final AtomicLong droppedAnnouncements = new AtomicLong();
    private final Map<String, Integer> loads = new ConcurrentHashMap<>();
    private final Map<String, Boolean> up = new ConcurrentHashMap<>();
    private final Set<String> drainingPeers = ConcurrentHashMap.newKeySet();
    private volatile boolean draining;
    private volatile ContentIndex index = ContentIndex.empty();

    public ClusterState(Member self, Collection<Member> peers, List<String> ownPaths, IntSupplier ownLoad) {
        this.self = self;
        this.ownLoad = ownLoad;
        Map<String, Member> m = new LinkedHashMap<>();
        m.put(self.name(), self);
        for (Member p : peers) m.put(p.name(), p);
        this.members = Map.copyOf(m);
        Map<String, Peer> asPeers = new LinkedHashMap<>();
        for (Member p : m.values()) asPeers.put(p.name(), new Peer(p.name(), p.address(), p.index()));
        this.peers = Map.copyOf(asPeers);
        announced.put(self.name(), List.copyOf(ownPaths));
        rebuild();
    }

    public Member selfMember() {
        return self;
    }

    public Member member(String name) {
        return members.get(name);
    }

    /** Member {@code name} as the engine sees it; null for a stranger. */
    public Peer peer(String name) {
        return peers.get(name);
    }

    public ContentIndex index() {
        return index;
    }

    public List<String> ownPaths() {
        return announced.get(self.name());
    }

    @Override
    public String self() {
        return self.name();
    }

    @Override
    public List<String> holders(String path) {
        return index.holders(path);
    }

    @Override
    public boolean isUp(String node) {
        return node.equals(self.name()) || up.getOrDefault(node, false);
    }

    @Override
    public int load(String node) {
        if (node.equals(self.name())) return ownLoad.getAsInt();
        return loads.getOrDefault(node, Integer.MAX_VALUE / 2);
    }

    @Override
    public boolean isDraining(String node) {
        return node.equals(self.name()) ? draining : drainingPeers.contains(node);
    }

    /** This node starts or stops draining ({@code drain}, {@code drain off}). */
    void draining(boolean on) {
        draining = on;
    }

    /** Peers that said (in their last heartbeat) they are draining. */
    public List<String> peersDraining() {
        List<String> l = new ArrayList<>(drainingPeers);
        l.sort(null);
        return l;
    }

    /** This node's own content changed (a rescan of its document root): the index follows at once. */
    void ownPaths(List<String> paths) {
        announced.put(self.name(), List.copyOf(paths));
        rebuild();
    }

    public List<String> peersUp() {
        List<String> l = new ArrayList<>();
        for (String n : members.keySet()) if (!n.equals(self.name()) && isUp(n)) l.add(n);
        l.sort(null);
        return l;
    }

    void peerUp(String peer) {
        up.put(peer, true);
    }

    void peerDown(String peer) {
        up.put(peer, false);
    }

    void load(String peer, int activeConnections, boolean draining) {
        loads.put(peer, activeConnections);
        if (draining) drainingPeers.add(peer);
        else drainingPeers.remove(peer);
    }

    /**
     * One frame of a peer's content announcement; the set takes effect when its last frame arrives.
     * An announcement is bounded like a document root ({@link DocumentRoot#MAX_FILES}): one that grows
     * past it (a peer sending endless non-last frames) is dropped and counted, the peer keeps its
     * previous complete set, and its frames are ignored until the next first frame.
     */
    void content(String peer, boolean first, boolean last, List<String> paths) {
        List<String> acc;
        if (first) {
            discarding.remove(peer);
            acc = new ArrayList<>();
        } else if (discarding.contains(peer)) {
            return;
        } else {
            acc = partial.computeIfAbsent(peer, k -> new ArrayList<>());
        }
        if (paths.size() > DocumentRoot.MAX_FILES - acc.size()) {
            partial.remove(peer);
            droppedAnnouncements.incrementAndGet();
            if (!last) discarding.add(peer);
            return;
        }
        acc.addAll(paths);
        if (last) {
            partial.remove(peer);
            announced.put(peer, List.copyOf(acc));
            rebuild();
        } else {
            partial.put(peer, acc);
        }
    }

    /** Announcements dropped because they grew past {@link DocumentRoot#MAX_FILES} paths. */
    public long droppedAnnouncements() {
        return droppedAnnouncements.get();
    }

    private synchronized void rebuild() {
        index = ContentIndex.of(Map.copyOf(announced));
    }
}
