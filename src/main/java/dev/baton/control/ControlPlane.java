package dev.baton.control;

import dev.baton.control.ControlMessage.Auth;
import dev.baton.control.ControlMessage.Heartbeat;
import dev.baton.control.ControlMessage.Hello;
import dev.baton.control.LinkAuth.FrameMac;
import java.io.BufferedOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Semaphore;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;

/**
 * The persistent control channel of one node: one TCP connection to each other cluster node, over the
 * same network as client traffic, carrying every handoff message between the two (claims 1, 23).
 *
 * <p>For each pair exactly one connection: the node whose name sorts lower dials (with exponential
 * backoff and jitter, again after every loss), the other accepts. Both send {@link Hello} first (with
 * a fresh nonce and the plane's {@link #incarnation()}), then {@link Auth}; the link is up once each
 * side has verified the other's Auth. A connection from an address that is not a peer's, a bad Hello,
 * a missing or wrong Auth or a malformed frame closes that connection only, and is counted. If a peer
 * connects and authenticates again while its old connection still looks alive (it restarted, or the
 * old path died silently), the newer connection replaces the older; a connection that has not
 * authenticated replaces nothing.
 *
 * <h2>Authentication</h2>
 * Every member holds the same {@link ClusterKey}. Each link proves it with a keyed MAC (HMAC-SHA256,
 * RFC 2104) over both Hello frames and the sender's role, and every later frame, both ways, carries a
 * 16-byte tag over an implicit per-direction frame counter and the frame, under keys derived from the
 * cluster key and both nonces ({@link LinkAuth}). A frame whose tag fails closes the link, is counted
 * ({@code badMac}) and is never decoded, so a forged, altered, replayed, reordered or dropped frame
 * never reaches the node; a failed handshake is counted as {@code authFailed}.
 *
 * <p>Threat model: whoever holds the cluster key is a member; anyone else who can reach the control
 * port, from any address (a member's included: addresses are easy to spoof on a shared network), or
 * who sits on the path, must not be able to join, inject, alter or replay a handoff message, or cut a
 * member's link by impersonating it. A compromised member is out of scope: it could serve anything
 * anyway. An on-path attacker can still drop or delay the connection (as it can the clients' own
 * traffic); a link that dies is noticed by its dead interval and re-established, and handoffs in
 * flight fall back to local service.
 *
 * <p>Why a MAC and not TLS: no PKI or certificate tooling to run (one secret file per cluster), no
 * extra round trips or handshake latency on (re)connect, no new dependency ({@code javax.crypto}).
 * Confidentiality would buy little: what crosses the link (handshake parameters, and in a commit the
 * client's request bytes) has already crossed the same network in clear as the client's own HTTP.
 * Integrity and authenticity are what stop someone steering or stealing connections, and the MAC
 * gives both.
 *
 * <p>Each link has one reader and one writer (platform threads, blocking sockets, TCP_NODELAY), each
 * with its own {@link javax.crypto.Mac}. Sends are non-blocking: {@link #send} puts the message on the
 * link's bounded queue, or returns false. Each side sends a {@link Heartbeat} (the node's load report)
 * every heartbeat interval; a link on which nothing arrived for the dead interval is closed, which is
 * how a dead peer is noticed.
 */
public final class ControlPlane implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(ControlPlane.class.getName());
    /** How long {@link #close()} waits for its threads to end. */
    private static final Duration CLOSE_WAIT = Duration.ofSeconds(3);
    /**
     * TOS "minimize delay" (RFC 1349) on control sockets. Control frames share every queue with
     * client traffic (TUN devices, routers); Linux maps this TOS to the highest pfifo_fast band, on
     * the sending host and on forwarding routers alike, so heartbeats and handoff messages overtake
     * bulk data instead of waiting behind it (which can otherwise stall a link past its dead interval).
     */
    private static final int IPTOS_LOWDELAY = 0x10;

    /** Another node of the cluster, as configured. */
    public record PeerSpec(String name, InetAddress address, int controlPort) {
        public PeerSpec {
            if (name.isEmpty() || controlPort <= 0 || controlPort > 0xffff) {
                throw new IllegalArgumentException("bad peer " + name + " port " + controlPort);
            }
            Objects.requireNonNull(address, "address");
        }
    }

    /**
     * How a control plane runs. Build with {@link #of} and adjust with the {@code with} methods.
     *
     * @param address own address: sent in Hello and used as the source of dialed connections, since
     *                the accepting side checks it against its peer list
     * @param bindAddress where to listen (0.0.0.0 unless told)
     * @param servicePort the web service port announced in Hello
     * @param load the node's current load, sent in every heartbeat
     */
    public record Config(String name, InetAddress address, InetAddress bindAddress, int controlPort,
                         int servicePort, List<PeerSpec> peers, Duration heartbeatInterval,
                         Duration deadInterval, Duration backoffMin, Duration backoffMax,
                         Duration connectTimeout, int queueCapacity, Supplier<Heartbeat> load) {
        public static final int DEFAULT_CONTROL_PORT = 7070;

        public Config {
            peers = List.copyOf(peers);
            Set<String> names = new HashSet<>();
            for (PeerSpec p : peers) {
                if (p.name().equals(name) || !names.add(p.name())) {
                    throw new IllegalArgumentException("peer name repeated or own name: " + p.name());
                }
            }
            if (deadInterval.compareTo(heartbeatInterval) <= 0 || backoffMax.compareTo(backoffMin) < 0
                    || backoffMin.isZero() || queueCapacity <= 0) {
                throw new IllegalArgumentException("inconsistent timers or queue capacity");
            }
            // checks name, address and port
            new Hello(name, Hello.ipv4Of(address), servicePort, 0, new byte[Hello.NONCE_LENGTH]);
        }

        /** Defaults: port 7070 on 0.0.0.0, service port 80, heartbeat 500 ms, dead 3 s, backoff 100 ms .. 5 s. */
        public static Config of(String name, InetAddress address, List<PeerSpec> peers) {
            return new Config(name, address, anyAddress(), DEFAULT_CONTROL_PORT, 80, peers,
                    Duration.ofMillis(500), Duration.ofSeconds(3), Duration.ofMillis(100), Duration.ofSeconds(5),
                    Duration.ofSeconds(2), 4096, () -> new Heartbeat(0, 0));
        }

        public Config withListen(InetAddress bind, int port) {
            return new Config(name, address, bind, port, servicePort, peers, heartbeatInterval, deadInterval,
                    backoffMin, backoffMax, connectTimeout, queueCapacity, load);
        }

        public Config withServicePort(int port) {
            return new Config(name, address, bindAddress, controlPort, port, peers, heartbeatInterval,
                    deadInterval, backoffMin, backoffMax, connectTimeout, queueCapacity, load);
        }

        public Config withTimers(Duration heartbeat, Duration dead, Duration minBackoff, Duration maxBackoff,
                                 Duration connect) {
            return new Config(name, address, bindAddress, controlPort, servicePort, peers, heartbeat, dead,
                    minBackoff, maxBackoff, connect, queueCapacity, load);
        }

        public Config withQueueCapacity(int capacity) {
            return new Config(name, address, bindAddress, controlPort, servicePort, peers, heartbeatInterval,
                    deadInterval, backoffMin, backoffMax, connectTimeout, capacity, load);
        }

        public Config withLoad(Supplier<Heartbeat> supplier) {
            return new Config(name, address, bindAddress, controlPort, servicePort, peers, heartbeatInterval,
                    deadInterval, backoffMin, backoffMax, connectTimeout, queueCapacity, supplier);
        }

        private static InetAddress anyAddress() {
            try {
                return InetAddress.getByAddress(new byte[4]); // 0.0.0.0
            } catch (java.net.UnknownHostException e) {
                throw new AssertionError("4 bytes are always an address", e);
            }
        }
    }

    /**
     * A snapshot of one peer. {@code hello} and {@code lastHeartbeat} are the latest received (kept
     * while the link is down); {@code connectedSince} is null while it is down.
     */
    public record PeerState(String name, boolean up, Hello hello, Heartbeat lastHeartbeat,
                            Instant connectedSince, long framesIn, long framesOut, long reconnects) {
    }

    private final Config cfg;
    private final ClusterKey key;
    private final ControlListener listener;
    private final SecureRandom random = new SecureRandom();
    private final long incarnation = random.nextLong();
    private final Map<String, Peer> peers = new LinkedHashMap<>();
    private final Set<InetAddress> dialingAddresses = new HashSet<>();
    /** Bounds the connections that have not yet authenticated. */
    private final Semaphore handshakeSlots;
    private final Set<Thread> threads = ConcurrentHashMap.newKeySet();
    private final Set<Socket> sockets = ConcurrentHashMap.newKeySet();
    private final AtomicBoolean started = new AtomicBoolean();
    private volatile boolean closed;
    private volatile ServerSocket server;

    private final AtomicLong framesIn = new AtomicLong();
    private final AtomicLong framesOut = new AtomicLong();
    private final AtomicLong sendDropped = new AtomicLong();
    private final AtomicLong reconnects = new AtomicLong();
    private final AtomicLong helloRejected = new AtomicLong();
    private final AtomicLong unknownAddress = new AtomicLong();
    private final AtomicLong handshakeBusy = new AtomicLong();
    private final AtomicLong peerDead = new AtomicLong();
    private final AtomicLong unexpectedHello = new AtomicLong();
    private final AtomicLong listenerErrors = new AtomicLong();
    private final AtomicLong authFailed = new AtomicLong();
    private final AtomicLong badMac = new AtomicLong();
    private final Map<FrameException.Reason, AtomicLong> malformed = new EnumMap<>(FrameException.Reason.class);

    /** A control plane whose links authenticate with {@code key}, which every member must share. */
    public ControlPlane(Config cfg, ClusterKey key, ControlListener listener) {
        this.cfg = cfg;
        this.key = Objects.requireNonNull(key, "key");
        this.listener = listener;
        for (PeerSpec spec : cfg.peers()) {
            boolean weDial = cfg.name().compareTo(spec.name()) < 0;
            peers.put(spec.name(), new Peer(spec, weDial));
            if (!weDial) {
                dialingAddresses.add(spec.address());
            }
        }
        handshakeSlots = new Semaphore(2 * cfg.peers().size() + 4);
        for (FrameException.Reason r : FrameException.Reason.values()) {
            malformed.put(r, new AtomicLong());
        }
    }

    /** Binds the control port and starts accepting, dialing and heartbeating. */
    public void start() throws IOException {
        if (!started.compareAndSet(false, true)) {
            throw new IllegalStateException("already started");
        }
        ServerSocket ss = new ServerSocket();
        ss.setReuseAddress(true);
        ss.bind(new InetSocketAddress(cfg.bindAddress(), cfg.controlPort()), 64);
        server = ss;
        spawn("control-accept-" + cfg.name(), this::acceptLoop);
        for (Peer p : peers.values()) {
            if (p.weDial) {
                spawn("control-dial-" + cfg.name() + "-" + p.spec.name(), () -> dialLoop(p));
            }
        }
        spawn("control-heartbeat-" + cfg.name(), this::heartbeatLoop);
    }

    /** This plane's incarnation, drawn at random when it was built and sent in every Hello. */
    public long incarnation() {
        return incarnation;
    }

    /**
     * Queues {@code m} for {@code peer} without blocking.
     *
     * @return false (and counts {@code sendDropped}) if the peer is down or its queue is full
     * @throws IllegalArgumentException for a peer not in the configuration, or a Hello or Auth
     */
    public boolean send(String peer, ControlMessage m) {
        if (m instanceof Hello || m instanceof Auth) {
            throw new IllegalArgumentException(m.getClass().getSimpleName() + " is sent by the control plane itself");
        }
        Link link = peerOrThrow(peer).link;
        if (link == null || !link.queue.offer(m)) {
            sendDropped.incrementAndGet();
            return false;
        }
        return true;
    }

    /** A snapshot of {@code peer}'s link. */
    public PeerState peer(String name) {
        Peer p = peerOrThrow(name);
        Link link = p.link;
        return new PeerState(name, link != null, p.hello, p.lastHeartbeat, link == null ? null : link.since,
                p.framesIn.get(), p.framesOut.get(), p.reconnects.get());
    }

    /** Names of the peers whose link is up now. */
    public List<String> upPeers() {
        List<String> up = new ArrayList<>();
        for (Peer p : peers.values()) {
            if (p.link != null) {
                up.add(p.spec.name());
            }
        }
        return up;
    }

    /** Every counter by name; malformed frames as {@code malformed.<REASON>}. */
    public Map<String, Long> counters() {
        Map<String, Long> c = new TreeMap<>();
        c.put("framesIn", framesIn.get());
        c.put("framesOut", framesOut.get());
        c.put("sendDropped", sendDropped.get());
        c.put("reconnects", reconnects.get());
        c.put("helloRejected", helloRejected.get());
        c.put("unknownAddress", unknownAddress.get());
        c.put("handshakeBusy", handshakeBusy.get());
        c.put("peerDead", peerDead.get());
        c.put("unexpectedHello", unexpectedHello.get());
        c.put("listenerErrors", listenerErrors.get());
        c.put("authFailed", authFailed.get());
        c.put("badMac", badMac.get());
        long total = 0;
        for (var e : malformed.entrySet()) {
            c.put("malformed." + e.getKey(), e.getValue().get());
            total += e.getValue().get();
        }
        c.put("malformed", total);
        return c;
    }

    /** Closes every link (telling the listener of each peer that goes down) and stops all threads. */
    @Override
    public void close() {
        closed = true;
        closeQuietly(server);
        for (Thread t : threads) {
            t.interrupt();
        }
        for (Socket s : sockets) {
            closeQuietly(s);
        }
        long deadline = System.nanoTime() + CLOSE_WAIT.toNanos();
        for (Thread t : threads) {
            if (t == Thread.currentThread()) {
                continue; // closed from a listener callback: this thread ends when the callback returns
            }
            try {
                long left = deadline - System.nanoTime();
                if (left <= 0 || !t.join(Duration.ofNanos(left))) {
                    LOG.log(System.Logger.Level.WARNING, "{0} did not stop in time", t.getName());
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    // ---- accepting and dialing

    private void acceptLoop() {
        while (!closed) {
            Socket s;
            try {
                s = server.accept();
            } catch (IOException e) {
                if (!closed) {
                    LOG.log(System.Logger.Level.WARNING, "accept failed: {0}", e.toString());
                    pause(cfg.backoffMin());
                }
                continue;
            }
            if (!dialingAddresses.contains(s.getInetAddress())) {
                unknownAddress.incrementAndGet();
                closeQuietly(s);
            } else if (!handshakeSlots.tryAcquire()) {
                handshakeBusy.incrementAndGet();
                closeQuietly(s);
            } else {
                // runConnection releases the slot once the peer has authenticated
                spawn("control-in-" + cfg.name() + "-" + s.getRemoteSocketAddress(), () -> runConnection(s, null));
            }
        }
    }

    private void dialLoop(Peer peer) {
        long backoff = cfg.backoffMin().toNanos();
        while (!closed) {
            Socket s = new Socket();
            boolean wasUp = false;
            try {
                s.setTrafficClass(IPTOS_LOWDELAY);
                s.bind(new InetSocketAddress(cfg.address(), 0));
                s.connect(new InetSocketAddress(peer.spec.address(), peer.spec.controlPort()),
                        (int) cfg.connectTimeout().toMillis());
                wasUp = runConnection(s, peer);
            } catch (IOException e) {
                closeQuietly(s);
            }
            backoff = wasUp ? cfg.backoffMin().toNanos() : Math.min(2 * backoff, cfg.backoffMax().toNanos());
            try {
                // "Equal jitter": somewhere in the upper half, so that restarted nodes do not dial in step.
                TimeUnit.NANOSECONDS.sleep(backoff / 2 + ThreadLocalRandom.current().nextLong(backoff / 2 + 1));
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    /**
     * Runs one connection from its Hello to its end, on the calling thread, which becomes the link's
     * reader. The handshake: the dialer sends its Hello; the acceptor checks it and answers with its
     * own; each then sends its Auth and checks the other's. Only then is the link installed.
     *
     * @param dialed the peer we dialed, or null for an accepted connection, which holds one
     *               handshake slot until the peer has authenticated
     * @return whether the link came up
     */
    private boolean runConnection(Socket s, Peer dialed) {
        sockets.add(s);
        Link link = null;
        boolean slotHeld = dialed == null;
        boolean helloIn = false;
        boolean weDial = dialed != null;
        try {
            s.setTcpNoDelay(true);
            s.setTrafficClass(IPTOS_LOWDELAY);
            s.setSoTimeout((int) cfg.connectTimeout().toMillis());
            byte[] nonce = new byte[Hello.NONCE_LENGTH];
            random.nextBytes(nonce);
            byte[] mine = encode(new Hello(cfg.name(), Hello.ipv4Of(cfg.address()), cfg.servicePort(), incarnation,
                    nonce));
            // The whole handshake, not just each read, must end within the connect timeout: else a
            // stranger trickling bytes could hold a handshake slot (and keep a real peer out) for ever.
            DeadlineInput input = new DeadlineInput(s, System.nanoTime() + cfg.connectTimeout().toNanos());
            FrameReader reader = new FrameReader(input);
            OutputStream out = new BufferedOutputStream(s.getOutputStream(), ControlFrame.MAX_FRAME_LENGTH);
            if (weDial) {
                writeHandshake(out, mine);
            }
            int size = reader.readFrame();
            byte[] theirs = Arrays.copyOf(reader.buffer(), size);
            ControlMessage first = reader.decode(size);
            Peer peer = acceptHello(first, dialed, s.getInetAddress());
            if (peer == null) {
                helloRejected.incrementAndGet();
                return false;
            }
            helloIn = true;
            if (!weDial) {
                writeHandshake(out, mine);
            }
            // The transcript, dialer's Hello first, as both sides saw it byte for byte.
            byte[] helloD = weDial ? mine : theirs;
            byte[] helloA = weDial ? theirs : mine;
            writeHandshake(out, encode(new Auth(LinkAuth.authMac(key, weDial, helloD, helloA))));
            ControlMessage second = reader.read();
            if (!(second instanceof Auth auth)
                    || !LinkAuth.authMatches(LinkAuth.authMac(key, !weDial, helloD, helloA), auth.mac())) {
                authFailed.incrementAndGet();
                LOG.log(System.Logger.Level.WARNING, "control connection from {0} claiming to be {1} failed to"
                        + " authenticate (sent {2}): wrong cluster key, or not a member", s.getRemoteSocketAddress(),
                        peer.spec.name(), second instanceof Auth ? "a wrong MAC" : second.getClass().getSimpleName());
                return false;
            }
            if (slotHeld) {
                handshakeSlots.release();
                slotHeld = false;
            }
            if (closed) {
                return false;
            }
            link = new Link(peer, (Hello) first, s, out, new FrameMac(LinkAuth.frameKey(key, weDial, helloD, helloA)));
            FrameMac in = new FrameMac(LinkAuth.frameKey(key, !weDial, helloD, helloA));
            input.clearDeadline();
            s.setSoTimeout((int) cfg.deadInterval().toMillis());
            install(link);
            readLoop(link, reader, in);
            return true;
        } catch (FrameException e) {
            malformed.get(e.reason()).incrementAndGet();
            countFailedAuth(helloIn, link);
            LOG.log(System.Logger.Level.INFO, "closing control connection from {0}: {1}",
                    s.getRemoteSocketAddress(), e.getMessage());
            return link != null;
        } catch (SocketTimeoutException e) {
            if (link != null) {
                peerDead.incrementAndGet();
            } else if (helloIn) {
                authFailed.incrementAndGet();
            } else {
                helloRejected.incrementAndGet();
            }
            return link != null;
        } catch (IOException e) {
            countFailedAuth(helloIn, link);
            return link != null;
        } finally {
            if (slotHeld) {
                handshakeSlots.release();
            }
            if (link != null) {
                teardown(link);
            }
            closeQuietly(s);
            sockets.remove(s);
        }
    }

    /** A connection that said Hello but ended before its Auth verified failed to authenticate. */
    private void countFailedAuth(boolean helloIn, Link link) {
        if (helloIn && link == null) {
            authFailed.incrementAndGet();
        }
    }

    private void writeHandshake(OutputStream out, byte[] frame) throws IOException {
        out.write(frame);
        out.flush();
        framesOut.incrementAndGet();
    }

    private static byte[] encode(ControlMessage m) {
        ByteBuffer b = ByteBuffer.allocate(ControlFrame.MAX_FRAME_LENGTH);
        int n = ControlFrame.encode(m, b);
        return Arrays.copyOf(b.array(), n);
    }

    /** The peer that {@code first} introduces, or null if it must be refused. */
    private Peer acceptHello(ControlMessage first, Peer dialed, InetAddress from) {
        if (!(first instanceof Hello hello)) {
            return null;
        }
        Peer p = peers.get(hello.nodeName());
        if (p == null) {
            return null;
        }
        if (dialed != null) {
            return p == dialed ? p : null;
        }
        // Only the lower-named node dials, so that each pair has one connection.
        return !p.weDial && p.spec.address().equals(from) ? p : null;
    }

    /** Reads, checks each frame's tag before anything else, and delivers; ends at the first bad tag. */
    private void readLoop(Link link, FrameReader reader, FrameMac mac) throws IOException, FrameException {
        Peer peer = link.peer;
        byte[] tag = new byte[LinkAuth.TAG_LENGTH];
        while (!closed && !link.closed.get()) {
            int size;
            try {
                size = reader.readFrame();
            } catch (EOFException e) {
                return;
            }
            reader.readFully(tag);
            if (!mac.verify(reader.buffer(), 0, size, tag)) {
                // Forged, altered, replayed, reordered or from another connection: never decoded.
                badMac.incrementAndGet();
                LOG.log(System.Logger.Level.WARNING, "control frame {0} from {1} has a bad tag: closing the link",
                        mac.count() - 1, peer.spec.name());
                return;
            }
            ControlMessage m = reader.decode(size);
            framesIn.incrementAndGet();
            peer.framesIn.incrementAndGet();
            if (m instanceof Hello || m instanceof Auth) {
                unexpectedHello.incrementAndGet();
                return;
            }
            if (m instanceof Heartbeat hb) {
                peer.lastHeartbeat = hb;
            }
            try {
                listener.onMessage(peer.spec.name(), m);
            } catch (RuntimeException e) {
                listenerError(e);
            }
        }
    }

    // ---- link state

    private void install(Link link) {
        Peer peer = link.peer;
        synchronized (peer) {
            Link old = peer.link;
            if (old != null) {
                old.close();
                peer.link = null;
                notifyDown(peer);
            }
            if (peer.everUp) {
                peer.reconnects.incrementAndGet();
                reconnects.incrementAndGet();
            }
            peer.everUp = true;
            peer.hello = link.hello;
            peer.link = link;
            link.startWriter();
            // A load report right away, so the peer's policy need not wait one interval to know us.
            if (!link.queue.offer(cfg.load().get())) {
                sendDropped.incrementAndGet();
            }
            try {
                listener.onPeerUp(peer.spec.name(), peer.hello);
            } catch (RuntimeException e) {
                listenerError(e);
            }
        }
    }

    private void teardown(Link link) {
        link.close();
        Peer peer = link.peer;
        synchronized (peer) {
            if (peer.link == link) {
                peer.link = null;
                notifyDown(peer);
            }
        }
    }

    private void notifyDown(Peer peer) {
        try {
            listener.onPeerDown(peer.spec.name());
        } catch (RuntimeException e) {
            listenerError(e);
        }
    }

    private void listenerError(RuntimeException e) {
        listenerErrors.incrementAndGet();
        LOG.log(System.Logger.Level.WARNING, "control listener failed", e);
    }

    // ---- heartbeats

    private void heartbeatLoop() {
        while (!closed) {
            try {
                Thread.sleep(cfg.heartbeatInterval());
            } catch (InterruptedException e) {
                return;
            }
            Heartbeat hb = cfg.load().get();
            for (Peer p : peers.values()) {
                if (p.link != null) {
                    send(p.spec.name(), hb);
                }
            }
        }
    }

    // ---- helpers

    private int writeFrame(OutputStream out, ByteBuffer buf, ControlMessage m) throws IOException {
        buf.clear();
        int n = ControlFrame.encode(m, buf);
        out.write(buf.array(), 0, n);
        framesOut.incrementAndGet();
        return n;
    }

    private static void pause(Duration d) {
        try {
            Thread.sleep(d);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private Peer peerOrThrow(String name) {
        Peer p = peers.get(name);
        if (p == null) {
            throw new IllegalArgumentException("not a configured peer: " + name);
        }
        return p;
    }

    /**
     * Starts one of the plane's threads: platform threads, not virtual ones. A handoff's messages
     * cross a link's writer and reader on both nodes; a virtual thread parked on a socket is woken by
     * the JDK's poller and then its carrier, a platform thread by the kernel directly. Under a load of
     * handoffs on new connections (4 nodes on 2 CPUs, saturated) that was 8% and 23% more requests per
     * second in two paired runs (docs/PERFORMANCE.md). There are few of them: accept, heartbeat, a
     * dialer per peer, reader and writer per link, a bounded number of handshakes.
     */
    private void spawn(String name, Runnable r) {
        Thread t = Thread.ofPlatform().daemon().name(name).unstarted(() -> {
            try {
                r.run();
            } finally {
                threads.remove(Thread.currentThread());
            }
        });
        threads.add(t);
        t.start();
    }

    private static void closeQuietly(AutoCloseable c) {
        if (c == null) {
            return;
        }
        try {
            c.close();
        } catch (Exception e) {
            // nothing left to do with a socket that does not close cleanly
        }
    }

    /**
     * A socket's input whose reads fail with {@link SocketTimeoutException} once a deadline has
     * passed, until {@link #clearDeadline()}; the socket's own timeout still bounds each read.
     * Used by the reader thread only.
     */
    private static final class DeadlineInput extends java.io.FilterInputStream {
        private final Socket socket;
        private final long deadline;
        private boolean active = true;

        DeadlineInput(Socket socket, long deadlineNanos) throws IOException {
            super(socket.getInputStream());
            this.socket = socket;
            this.deadline = deadlineNanos;
        }

        void clearDeadline() {
            active = false;
        }

        @Override
        public int read() throws IOException {
            beforeRead();
            return super.read();
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            beforeRead();
            return super.read(b, off, len);
        }

        private void beforeRead() throws IOException {
            if (!active) {
                return;
            }
            long left = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
            if (left <= 0) {
                throw new SocketTimeoutException("handshake not done in time");
            }
            socket.setSoTimeout((int) Math.min(left, Integer.MAX_VALUE));
        }
    }

    /** One configured peer and its current link, if any. */
    private static final class Peer {
        final PeerSpec spec;
        final boolean weDial;
        /** Written under this object's lock, read anywhere. */
        volatile Link link;
        volatile Hello hello;
        volatile Heartbeat lastHeartbeat;
        boolean everUp;
        final AtomicLong framesIn = new AtomicLong();
        final AtomicLong framesOut = new AtomicLong();
        final AtomicLong reconnects = new AtomicLong();

        Peer(PeerSpec spec, boolean weDial) {
            this.spec = spec;
            this.weDial = weDial;
        }
    }

    /** One up connection: a bounded queue drained by one writer thread. */
    private final class Link {
        final Peer peer;
        final Hello hello;
        final Socket socket;
        final OutputStream out;
        /** Tags what this side sends; used by the writer thread only. */
        final FrameMac mac;
        final byte[] tag = new byte[LinkAuth.TAG_LENGTH];
        final ArrayBlockingQueue<ControlMessage> queue = new ArrayBlockingQueue<>(cfg.queueCapacity());
        final ByteBuffer buf = ByteBuffer.allocate(ControlFrame.MAX_FRAME_LENGTH);
        final AtomicBoolean closed = new AtomicBoolean();
        final Instant since = Instant.now();
        volatile Thread writer;

        Link(Peer peer, Hello hello, Socket socket, OutputStream out, FrameMac mac) {
            this.peer = peer;
            this.hello = hello;
            this.socket = socket;
            this.out = out;
            this.mac = mac;
        }

        void startWriter() {
            Thread t = Thread.ofPlatform().daemon().name("control-write-" + cfg.name() + "-" + peer.spec.name())
                    .unstarted(this::writeLoop);
            writer = t;
            threads.add(t);
            t.start();
        }

        private void writeLoop() {
            try {
                while (!closed.get()) {
                    ControlMessage m = queue.take();
                    int n = writeFrame(out, buf, m);
                    mac.sign(buf.array(), 0, n, tag);
                    out.write(tag);
                    peer.framesOut.incrementAndGet();
                    if (queue.isEmpty()) {
                        out.flush();
                    }
                }
            } catch (InterruptedException | IOException e) {
                // closed, or the connection failed: the reader sees it too
            } finally {
                threads.remove(Thread.currentThread());
                teardown(this);
            }
        }

        void close() {
            if (closed.compareAndSet(false, true)) {
                closeQuietly(socket);
                Thread t = writer;
                if (t != null) {
                    t.interrupt();
                }
            }
        }
    }
}
