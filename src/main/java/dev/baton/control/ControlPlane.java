package dev.baton.control;

import dev.baton.control.ControlMessage.Auth;
import dev.baton.control.ControlMessage.Heartbeat;
import dev.baton.control.ControlMessage.Hello;
import dev.baton.control.LinkAuth.FrameMac;
import dev.baton.sys.EventFd;
import dev.baton.sys.Poller;
import dev.baton.sys.SysException;
import dev.baton.sys.TcpSocket;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.SocketTimeoutException;
import java.net.UnknownHostException;
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
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Semaphore;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

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
 * <h2>Threads</h2>
 * Handshakes run on threads of their own (accepting, dialing with its backoff, one per connection
 * in its handshake), which may block, each under a deadline. An authenticated link is handed to one
 * <em>driver</em> thread that does all of the links' I/O, non-blocking ({@link TcpSocket},
 * TCP_NODELAY): in a node that is the packet loop itself ({@link #startDriven}, {@link #watchLinks},
 * {@link #serviceLinks}), so a handoff message goes from the BTCP to the socket and from the socket
 * to the BTCP with no thread in between, and the messages of one round leave in one write. A plane
 * on its own ({@link #start()}) runs a driver thread of its own. Sends are non-blocking from any
 * thread: {@link #send} puts the message on the link's bounded queue (waking the driver if needed),
 * or returns false. Each side sends a {@link Heartbeat} (the node's load report) every heartbeat
 * interval; a link on which nothing arrived for the dead interval is closed, which is how a dead peer
 * is noticed.
 */
public final class ControlPlane implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ControlPlane.class);
    /** How long {@link #close()} waits for its threads to end. */
    private static final Duration CLOSE_WAIT = Duration.ofSeconds(3);
    /**
     * The longest a message sent {@linkplain #sendLazily lazily} waits for company (plus at most one
     * round of the driver's poll).
     */
    public static final Duration LAZY_WAIT = Duration.ofMillis(5);
    /**
     * How often the accepting and dialing threads look whether the plane was closed. Only a bound:
     * close wakes them at once (it shuts the listening socket down and interrupts the dialers), and
     * on an idle node every wake-up is CPU spent for nothing.
     */
    private static final int ACCEPT_POLL_MILLIS = 1_000;
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
    public record Config(
            String name,
            InetAddress address,
            InetAddress bindAddress,
            int controlPort,
            int servicePort,
            List<PeerSpec> peers,
            Duration heartbeatInterval,
            Duration deadInterval,
            Duration backoffMin,
            Duration backoffMax,
            Duration connectTimeout,
            int queueCapacity,
            Supplier<Heartbeat> load) {
        public static final int DEFAULT_CONTROL_PORT = 7070;

        public Config {
            peers = List.copyOf(peers);
            Set<String> names = new HashSet<>();
            for (PeerSpec p : peers) {
                if (p.name().equals(name) || !names.add(p.name())) {
                    throw new IllegalArgumentException("peer name repeated or own name: " + p.name());
                }
            }
            if (deadInterval.compareTo(heartbeatInterval) <= 0
                    || backoffMax.compareTo(backoffMin) < 0
                    || backoffMin.isZero()
                    || queueCapacity <= 0) {
                throw new IllegalArgumentException("inconsistent timers or queue capacity");
            }
            // checks name, address and port
            new Hello(name, Hello.ipv4Of(address), servicePort, 0, new byte[Hello.NONCE_LENGTH]);
        }

        /** Defaults: port 7070 on 0.0.0.0, service port 80, heartbeat 500 ms, dead 3 s, backoff 100 ms .. 5 s. */
        public static Config of(String name, InetAddress address, List<PeerSpec> peers) {
            return new Config(
                    name,
                    address,
                    anyAddress(),
                    DEFAULT_CONTROL_PORT,
                    80,
                    peers,
                    Duration.ofMillis(500),
                    Duration.ofSeconds(3),
                    Duration.ofMillis(100),
                    Duration.ofSeconds(5),
                    Duration.ofSeconds(2),
                    4096,
                    () -> new Heartbeat(0, 0));
        }

        public Config withListen(InetAddress bind, int port) {
            return new Config(
                    name,
                    address,
                    bind,
                    port,
                    servicePort,
                    peers,
                    heartbeatInterval,
                    deadInterval,
                    backoffMin,
                    backoffMax,
                    connectTimeout,
                    queueCapacity,
                    load);
        }

        public Config withServicePort(int port) {
            return new Config(
                    name,
                    address,
                    bindAddress,
                    controlPort,
                    port,
                    peers,
                    heartbeatInterval,
                    deadInterval,
                    backoffMin,
                    backoffMax,
                    connectTimeout,
                    queueCapacity,
                    load);
        }

        public Config withTimers(
                Duration heartbeat, Duration dead, Duration minBackoff, Duration maxBackoff, Duration connect) {
            return new Config(
                    name,
                    address,
                    bindAddress,
                    controlPort,
                    servicePort,
                    peers,
                    heartbeat,
                    dead,
                    minBackoff,
                    maxBackoff,
                    connect,
                    queueCapacity,
                    load);
        }

        public Config withQueueCapacity(int capacity) {
            return new Config(
                    name,
                    address,
                    bindAddress,
                    controlPort,
                    servicePort,
                    peers,
                    heartbeatInterval,
                    deadInterval,
                    backoffMin,
                    backoffMax,
                    connectTimeout,
                    capacity,
                    load);
        }

        public Config withLoad(Supplier<Heartbeat> supplier) {
            return new Config(
                    name,
                    address,
                    bindAddress,
                    controlPort,
                    servicePort,
                    peers,
                    heartbeatInterval,
                    deadInterval,
                    backoffMin,
                    backoffMax,
                    connectTimeout,
                    queueCapacity,
                    supplier);
        }

        private static InetAddress anyAddress() {
            try {
                return InetAddress.getByAddress(new byte[4]); // 0.0.0.0
            } catch (UnknownHostException e) {
                throw new AssertionError("4 bytes are always an address", e);
            }
        }
    }

    /**
     * A snapshot of one peer. {@code hello} and {@code lastHeartbeat} are the latest received (kept
     * while the link is down); {@code connectedSince} is null while it is down.
     */
    public record PeerState(
            String name,
            boolean up,
            Hello hello,
            Heartbeat lastHeartbeat,
            Instant connectedSince,
            long framesIn,
            long framesOut,
            long reconnects) {}

    private final Config cfg;
    private final ClusterKey key;
    private final ControlListener listener;
    private final SecureRandom random = new SecureRandom();
    private final long incarnation;
    private final Map<String, Peer> peers = new LinkedHashMap<>();
    private final Set<InetAddress> dialingAddresses = new HashSet<>();
    /** Bounds the connections that have not yet authenticated. */
    private final Semaphore handshakeSlots;

    private final Set<Thread> threads = ConcurrentHashMap.newKeySet();
    /** Connections still in their handshake: shut down on close to wake their threads. */
    private final Set<TcpSocket> handshaking = ConcurrentHashMap.newKeySet();

    private final AtomicBoolean started = new AtomicBoolean();
    private volatile boolean closed;
    private volatile TcpSocket server;

    // ---- the links' I/O, owned by the driver thread (see watchLinks and serviceLinks)
    /** Authenticated links on their way from a handshake thread to the driver. */
    private final ConcurrentLinkedQueue<Link> arriving = new ConcurrentLinkedQueue<>();

    private final List<Link> live = new ArrayList<>();
    private final Link[] watched;
    private int watchedCount;
    private volatile Thread driver;
    /** Wakes the driver when another thread queued a message or a link arrived. */
    private volatile Runnable wakeup = () -> {};
    /** Counted down once the driver has closed every link after {@link #close()}. */
    private final CountDownLatch linksClosed = new CountDownLatch(1);

    /** The plane's counters, by {@link ControlCounter} ordinal ({@link ControlCounter#MALFORMED}: the sum below). */
    private final AtomicLongArray counts = new AtomicLongArray(ControlCounter.values().length);

    private final Map<FrameException.Reason, AtomicLong> malformed = new EnumMap<>(FrameException.Reason.class);

    /** A control plane whose links authenticate with {@code key}, which every member must share. */
    public ControlPlane(Config cfg, ClusterKey key, ControlListener listener) {
        this(cfg, key, listener, 0);
    }

    /**
     * A plane that goes on with {@code incarnation} (0: a new one, drawn at random): a restarted node
     * that took over its earlier process's connections keeps its incarnation, so that its peers read
     * the gap as a cut link and keep what they shared with it (Btcp.takeOver).
     */
    public ControlPlane(Config cfg, ClusterKey key, ControlListener listener, long incarnation) {
        long drawn = incarnation;
        while (drawn == 0) drawn = random.nextLong();
        this.incarnation = drawn;
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
        watched = new Link[cfg.peers().size()];
        for (FrameException.Reason r : FrameException.Reason.values()) {
            malformed.put(r, new AtomicLong());
        }
    }

    /**
     * Binds the control port and starts accepting, dialing and heartbeating, with a thread of the
     * plane's own for the links' I/O.
     */
    public void start() throws IOException {
        EventFd events = new EventFd();
        start(events::signal);
        spawn("control-links-" + cfg.name(), () -> ownDriverLoop(events));
    }

    /**
     * Binds the control port and starts accepting and dialing; the links' I/O is left to the caller's
     * event loop (the node's packet loop), which calls {@link #watchLinks} and {@link #serviceLinks}
     * from one thread, and which {@code wakeup} must wake, from any thread, when there is work.
     */
    public void startDriven(Runnable wakeup) throws IOException {
        start(Objects.requireNonNull(wakeup, "wakeup"));
    }

    private void start(Runnable wake) throws IOException {
        if (!started.compareAndSet(false, true)) {
            throw new IllegalStateException("already started");
        }
        this.wakeup = wake;
        server = TcpSocket.listen(cfg.bindAddress(), cfg.controlPort(), 64);
        spawn("control-accept-" + cfg.name(), this::acceptLoop);
        for (Peer p : peers.values()) {
            if (p.weDial) {
                spawn("control-dial-" + cfg.name() + "-" + p.spec.name(), () -> dialLoop(p));
            }
        }
    }

    /** This plane's incarnation, drawn at random when it was built and sent in every Hello. */
    public long incarnation() {
        return incarnation;
    }

    /** The most links there can be at once: one per peer. A driver's poller needs as many slots. */
    public int maxLinks() {
        return watched.length;
    }

    /**
     * Queues {@code m} for {@code peer} without blocking; the driver sends it at the end of its
     * current round (at once if it waits: it is woken).
     *
     * @return false (and counts {@code sendDropped}) if the peer is down or its queue is full
     * @throws IllegalArgumentException for a peer not in the configuration, or a Hello or Auth
     */
    public boolean send(String peer, ControlMessage m) {
        Link link = enqueue(peer, m);
        if (link == null) {
            return false;
        }
        link.urgent = true;
        if (Thread.currentThread() != driver) {
            wakeup.run();
        }
        return true;
    }

    /**
     * Queues {@code m} like {@link #send}, but lets it wait up to {@link #LAZY_WAIT} for the next
     * message to the same peer, so that both leave in one segment: for messages nobody waits on
     * (a handoff's termination only frees the entry's table entry), under load it saves a segment
     * and its acknowledgment, each crossing two kernels and the packet loops of both nodes. From a
     * thread other than the driver it is the same as {@link #send}.
     */
    public boolean sendLazily(String peer, ControlMessage m) {
        if (Thread.currentThread() != driver) {
            return send(peer, m);
        }
        Link link = enqueue(peer, m);
        if (link == null) {
            return false;
        }
        if (link.lazySince == 0) {
            link.lazySince = Math.max(1, System.nanoTime());
        }
        return true;
    }

    /** Puts {@code m} on {@code peer}'s link queue: the link, or null (counted) if down or full. */
    private Link enqueue(String peer, ControlMessage m) {
        if (m instanceof Hello || m instanceof Auth) {
            throw new IllegalArgumentException(m.getClass().getSimpleName() + " is sent by the control plane itself");
        }
        Link link = peerOrThrow(peer).link;
        if (link == null || !link.queue.offer(m)) {
            count(ControlCounter.SEND_DROPPED);
            return null;
        }
        return link;
    }

    /** A snapshot of {@code peer}'s link. */
    public PeerState peer(String name) {
        Peer p = peerOrThrow(name);
        Link link = p.link;
        return new PeerState(
                name,
                link != null,
                p.hello,
                p.lastHeartbeat,
                link == null ? null : link.since,
                p.framesIn.get(),
                p.framesOut.get(),
                p.reconnects.get());
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

    private void count(ControlCounter c) {
        counts.incrementAndGet(c.ordinal());
    }

    /** Counter {@code c} over every link ({@link ControlCounter#MALFORMED}: every reason's). */
    public long get(ControlCounter c) {
        if (c != ControlCounter.MALFORMED) return counts.get(c.ordinal());
        long total = 0;
        for (AtomicLong n : malformed.values()) total += n.get();
        return total;
    }

    /** Malformed frames refused for {@code reason}. */
    public long malformed(FrameException.Reason reason) {
        return malformed.get(reason).get();
    }

    /**
     * Closes every link (telling the listener of each peer that goes down) and stops all threads. The
     * driver closes the links in its next round; one that does not come within the close wait (it
     * stopped first) leaves them to this thread.
     */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        TcpSocket ss = server;
        if (ss != null) {
            ss.shutdown();
        }
        for (TcpSocket s : handshaking) {
            s.shutdown();
        }
        for (Thread t : threads) {
            t.interrupt();
        }
        wakeup.run();
        long deadline = System.nanoTime() + CLOSE_WAIT.toNanos();
        try {
            if (started.get()
                    && Thread.currentThread() != driver
                    && !linksClosed.await(CLOSE_WAIT.toNanos(), TimeUnit.NANOSECONDS)) {
                LOG.warn("the control links' driver did not close them in time");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (linksClosed.getCount() > 0 && Thread.currentThread() != driver) {
            closeAllLinks(); // the driver is gone (or never came): nobody else touches the links
        }
        for (Thread t : threads) {
            if (t == Thread.currentThread()) {
                continue; // closed from a listener callback: this thread ends when the callback returns
            }
            try {
                long left = deadline - System.nanoTime();
                if (left <= 0 || !t.join(Duration.ofNanos(left))) {
                    LOG.warn("{} did not stop in time", t.getName());
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
        if (ss != null) {
            ss.close();
        }
    }

    // ---- the links' I/O: one thread, no blocking, nothing allocated in a round without messages

    /**
     * Puts each link's socket in a slot of {@code poller} from {@code first} on (watched for reading,
     * and for writing while it has bytes the kernel did not take); returns how many. Call from the
     * driver thread, then wait on the poller, then call {@link #serviceLinks}.
     */
    public int watchLinks(Poller poller, int first) {
        int n = 0;
        for (Link l : live) {
            if (n == watched.length || first + n >= poller.capacity()) break;
            poller.watch(first + n, l.socket.fd(), l.outLength > 0);
            watched[n++] = l;
        }
        watchedCount = n;
        return n;
    }

    /**
     * One round of the links' I/O, on the driver thread: reads the links the poller found ready and
     * delivers their messages to the listener (on this thread), takes in links that came up, closes
     * those silent for the dead interval, queues heartbeats that are due, and writes what is queued.
     * Messages queued while the round runs (by the listener, say) leave in the same round.
     */
    public void serviceLinks(Poller poller, int first, long nowNanos) {
        driver = Thread.currentThread();
        for (int i = 0; i < watchedCount; i++) {
            Link l = watched[i];
            watched[i] = null;
            if (!l.closed.get() && poller.ready(first + i)) {
                readFrom(l, nowNanos);
            }
        }
        watchedCount = 0;
        if (closed) {
            closeAllLinks();
            return;
        }
        for (Link l; (l = arriving.poll()) != null; ) {
            install(l, nowNanos);
        }
        boolean anyClosed = false;
        for (int i = 0; i < live.size(); i++) {
            Link l = live.get(i);
            if (!l.closed.get()) {
                if (nowNanos - l.lastHeard > cfg.deadInterval().toNanos()) {
                    count(ControlCounter.PEER_DEAD);
                    teardown(l);
                } else {
                    if (nowNanos - l.nextHeartbeat >= 0) {
                        l.nextHeartbeat = nowNanos + cfg.heartbeatInterval().toNanos();
                        send(l.peer.spec.name(), cfg.load().get());
                    }
                    if (l.urgent
                            || l.outLength > 0
                            || (l.lazySince != 0 && nowNanos - l.lazySince >= LAZY_WAIT.toNanos())) {
                        // Cleared before the queue is drained: a message queued meanwhile by
                        // another thread leaves now or sets the flag again for the next round.
                        l.urgent = false;
                        l.lazySince = 0;
                        writeTo(l);
                    }
                }
            }
            anyClosed |= l.closed.get();
        }
        if (anyClosed) {
            live.removeIf(l -> l.closed.get());
        }
    }

    /**
     * On the driver thread, after {@link #serviceLinks}: the time ({@link System#nanoTime}) by
     * which it must run again though no socket becomes ready and nobody wakes it: the next
     * heartbeat due, the next link to be declared dead, a lazy message's wait. {@code nowNanos}
     * if something is queued already; {@link Long#MAX_VALUE} if there is no link.
     */
    public long nextDeadlineNanos(long nowNanos) {
        if (closed || !arriving.isEmpty()) return nowNanos;
        long next = Long.MAX_VALUE;
        for (int i = 0; i < live.size(); i++) {
            Link l = live.get(i);
            if (l.closed.get()) continue;
            // As serviceLinks decides; bytes the kernel did not take wait for POLLOUT, not for time.
            if (l.urgent) return nowNanos;
            next = Math.min(
                    next,
                    Math.min(l.nextHeartbeat, l.lastHeard + cfg.deadInterval().toNanos() + 1));
            if (l.lazySince != 0) next = Math.min(next, l.lazySince + LAZY_WAIT.toNanos());
        }
        return next;
    }

    /** The driver of a plane started with {@link #start()}: a poll over its links and an eventfd. */
    private void ownDriverLoop(EventFd events) {
        Poller poller = new Poller(1 + watched.length);
        try {
            while (!closed) {
                poller.watch(0, events.fd(), false);
                int n = watchLinks(poller, 1);
                poller.await(1 + n, (int) Math.max(1, cfg.heartbeatInterval().toMillis() / 4));
                if (poller.ready(0)) {
                    events.drain();
                }
                serviceLinks(poller, 1, System.nanoTime());
            }
        } catch (SysException e) {
            LOG.error("control links' poll failed", e);
        } finally {
            closeAllLinks();
            events.close();
        }
    }

    /** Reads what the socket has, and delivers every whole frame whose tag verifies. */
    private void readFrom(Link l, long nowNanos) {
        try {
            for (int round = 0; round < 4; round++) {
                int room = l.in.length - l.inLength;
                int n = l.socket.read(l.in, l.inLength, room);
                if (n == TcpSocket.EOF) {
                    teardown(l);
                    return;
                }
                if (n == 0) {
                    return;
                }
                l.inLength += n;
                l.lastHeard = nowNanos;
                if (!deliverFrames(l)) {
                    teardown(l);
                    return;
                }
                if (n < room) {
                    return;
                }
            }
        } catch (SysException e) {
            teardown(l); // reset or failed: the peer is gone
        } catch (FrameException e) {
            malformed.get(e.reason()).incrementAndGet();
            LOG.info("closing control link to {}: {}", l.peer.spec.name(), e.getMessage());
            teardown(l);
        }
    }

    /**
     * Checks each whole frame's tag before anything else, and delivers it; keeps a partial frame for
     * the next read. False if the link must close (a bad tag, a Hello or Auth after the handshake).
     */
    private boolean deliverFrames(Link l) throws FrameException {
        Peer peer = l.peer;
        int at = 0;
        while (l.inLength - at >= ControlFrame.LENGTH_FIELD_SIZE) {
            int size = ControlFrame.checkLengthField(l.inView.getInt(at));
            if (l.inLength - at < size + LinkAuth.TAG_LENGTH) {
                break;
            }
            if (!l.inMac.verify(l.in, at, size, l.in, at + size)) {
                // Forged, altered, replayed, reordered or from another connection: never decoded.
                count(ControlCounter.BAD_MAC);
                LOG.warn(
                        "control frame {} from {} has a bad tag: closing the link",
                        l.inMac.count() - 1,
                        peer.spec.name());
                return false;
            }
            l.inView.limit(at + size).position(at);
            ControlMessage m;
            try {
                m = ControlFrame.decode(l.inView);
            } finally {
                l.inView.clear();
            }
            at += size + LinkAuth.TAG_LENGTH;
            count(ControlCounter.FRAMES_IN);
            peer.framesIn.incrementAndGet();
            if (m instanceof Hello || m instanceof Auth) {
                count(ControlCounter.UNEXPECTED_HELLO);
                return false;
            }
            if (m instanceof Heartbeat hb) {
                peer.lastHeartbeat = hb;
            }
            try {
                listener.onMessage(peer.spec.name(), m);
            } catch (RuntimeException e) {
                listenerError(e);
            }
            if (l.closed.get()) {
                return true; // the listener closed the plane
            }
        }
        System.arraycopy(l.in, at, l.in, 0, l.inLength - at);
        l.inLength -= at;
        return true;
    }

    /** Frames and tags what is queued, as far as the output buffer holds, and writes what the kernel takes. */
    private void writeTo(Link l) {
        while (l.out.length - l.outLength >= ControlFrame.MAX_FRAME_LENGTH + LinkAuth.TAG_LENGTH) {
            ControlMessage m = l.queue.poll();
            if (m == null) {
                break;
            }
            l.outView.clear().position(l.outLength);
            int n = ControlFrame.encode(m, l.outView);
            l.outMac.sign(l.out, l.outLength, n, l.out, l.outLength + n);
            l.outLength += n + LinkAuth.TAG_LENGTH;
            count(ControlCounter.FRAMES_OUT);
            l.peer.framesOut.incrementAndGet();
        }
        try {
            while (l.outLength > 0) {
                int w = l.socket.write(l.out, 0, l.outLength);
                if (w == 0) {
                    return; // the kernel's buffer is full: the poller says when it has room
                }
                System.arraycopy(l.out, w, l.out, 0, l.outLength - w);
                l.outLength -= w;
            }
        } catch (SysException e) {
            teardown(l);
        }
    }

    /** A link that authenticated: replaces the peer's old one, if any, and tells the listener. */
    private void install(Link link, long nowNanos) {
        Peer peer = link.peer;
        Link old = peer.link;
        if (old != null) {
            teardown(old);
        }
        if (peer.everUp) {
            peer.reconnects.incrementAndGet();
            count(ControlCounter.RECONNECTS);
        }
        peer.everUp = true;
        peer.hello = link.hello;
        link.lastHeard = nowNanos;
        link.nextHeartbeat = nowNanos + cfg.heartbeatInterval().toNanos();
        peer.link = link;
        live.add(link);
        // A load report right away, so the peer's policy need not wait one interval to know us.
        send(peer.spec.name(), cfg.load().get());
        try {
            listener.onPeerUp(peer.spec.name(), peer.hello);
        } catch (RuntimeException e) {
            listenerError(e);
        }
    }

    /** Closes {@code link}; if it was its peer's, the peer is down. Driver thread (or close, without one). */
    private void teardown(Link link) {
        if (!link.closed.compareAndSet(false, true)) {
            return;
        }
        link.socket.close();
        Peer peer = link.peer;
        if (peer.link == link) {
            peer.link = null;
            notifyDown(peer);
        }
        link.down.countDown();
    }

    private synchronized void closeAllLinks() {
        if (linksClosed.getCount() == 0) {
            return;
        }
        for (Link l : live) {
            teardown(l);
        }
        live.clear();
        for (Link l; (l = arriving.poll()) != null; ) {
            teardown(l);
        }
        linksClosed.countDown();
    }

    // ---- accepting and dialing

    private void acceptLoop() {
        while (!closed) {
            TcpSocket s;
            try {
                if (!server.awaitReadable(ACCEPT_POLL_MILLIS) || (s = server.accept()) == null) {
                    continue;
                }
            } catch (SysException e) {
                if (!closed) {
                    LOG.warn("accept failed: {}", e.toString());
                    pause(cfg.backoffMin());
                }
                continue;
            }
            if (!dialingAddresses.contains(s.remoteAddress())) {
                count(ControlCounter.UNKNOWN_ADDRESS);
                s.close();
            } else if (!handshakeSlots.tryAcquire()) {
                count(ControlCounter.HANDSHAKE_BUSY);
                s.close();
            } else {
                // handshake releases the slot once the peer has authenticated
                spawn(
                        "control-in-" + cfg.name() + "-" + s.remoteAddress().getHostAddress() + ":" + s.remotePort(),
                        () -> handshake(s, null));
            }
        }
    }

    private void dialLoop(Peer peer) {
        long backoff = cfg.backoffMin().toNanos();
        while (!closed) {
            boolean wasUp = false;
            try {
                TcpSocket s = TcpSocket.connect(
                        cfg.address(),
                        peer.spec.address(),
                        peer.spec.controlPort(),
                        IPTOS_LOWDELAY,
                        cfg.connectTimeout().toMillis());
                Link link = handshake(s, peer);
                if (link != null) {
                    wasUp = true;
                    while (!closed && !link.down.await(ACCEPT_POLL_MILLIS, TimeUnit.MILLISECONDS)) {
                        // the link is up: dial again once it is down
                    }
                }
            } catch (SysException e) {
                // refused, unreachable or timed out: try again after the backoff
            } catch (InterruptedException e) {
                return;
            }
            backoff = wasUp
                    ? cfg.backoffMin().toNanos()
                    : Math.min(2 * backoff, cfg.backoffMax().toNanos());
            try {
                // "Equal jitter": somewhere in the upper half, so that restarted nodes do not dial in step.
                TimeUnit.NANOSECONDS.sleep(
                        backoff / 2 + ThreadLocalRandom.current().nextLong(backoff / 2 + 1));
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    /**
     * Runs one connection's handshake on the calling thread, then hands the link to the driver. The
     * dialer sends its Hello; the acceptor checks it and answers with its own; each then sends its
     * Auth and checks the other's. Only then is the link installed. The whole handshake must end
     * within the connect timeout.
     *
     * @param dialed the peer we dialed, or null for an accepted connection, which holds one
     *               handshake slot until the peer has authenticated
     * @return the link, once handed to the driver; null if the handshake failed (the socket is closed)
     */
    private Link handshake(TcpSocket s, Peer dialed) {
        handshaking.add(s);
        boolean slotHeld = dialed == null;
        boolean helloIn = false;
        boolean weDial = dialed != null;
        Link link = null;
        try {
            s.setNoDelay(true);
            s.setTos(IPTOS_LOWDELAY);
            byte[] nonce = new byte[Hello.NONCE_LENGTH];
            random.nextBytes(nonce);
            byte[] mine =
                    encode(new Hello(cfg.name(), Hello.ipv4Of(cfg.address()), cfg.servicePort(), incarnation, nonce));
            // The whole handshake, not just each read, must end within the connect timeout: else a
            // stranger trickling bytes could hold a handshake slot (and keep a real peer out) for ever.
            long deadline = System.nanoTime() + cfg.connectTimeout().toNanos();
            SocketInput input = new SocketInput(s, deadline);
            FrameReader reader = new FrameReader(input);
            if (weDial) {
                writeHandshake(input, mine);
            }
            int size = reader.readFrame();
            byte[] theirs = Arrays.copyOf(reader.buffer(), size);
            ControlMessage first = reader.decode(size);
            Peer peer = acceptHello(first, dialed, s.remoteAddress());
            if (peer == null) {
                count(ControlCounter.HELLO_REJECTED);
                return null;
            }
            helloIn = true;
            if (!weDial) {
                writeHandshake(input, mine);
            }
            // The transcript, dialer's Hello first, as both sides saw it byte for byte.
            byte[] helloD = weDial ? mine : theirs;
            byte[] helloA = weDial ? theirs : mine;
            writeHandshake(input, encode(new Auth(LinkAuth.authMac(key, weDial, helloD, helloA))));
            ControlMessage second = reader.read();
            if (!(second instanceof Auth auth)
                    || !LinkAuth.authMatches(LinkAuth.authMac(key, !weDial, helloD, helloA), auth.mac())) {
                count(ControlCounter.AUTH_FAILED);
                LOG.warn(
                        "control connection from {} claiming to be {} failed to"
                                + " authenticate (sent {}): wrong cluster key, or not a member",
                        s.remoteAddress(),
                        peer.spec.name(),
                        second instanceof Auth
                                ? "a wrong MAC"
                                : second.getClass().getSimpleName());
                return null;
            }
            if (closed) {
                return null;
            }
            link = new Link(
                    peer,
                    (Hello) first,
                    s,
                    new FrameMac(LinkAuth.frameKey(key, weDial, helloD, helloA)),
                    new FrameMac(LinkAuth.frameKey(key, !weDial, helloD, helloA)));
            arriving.add(link);
            wakeup.run();
            return link;
        } catch (FrameException e) {
            malformed.get(e.reason()).incrementAndGet();
            countFailedAuth(helloIn);
            LOG.info("closing control connection from {}: {}", s.remoteAddress(), e.getMessage());
            return null;
        } catch (SocketTimeoutException e) {
            if (helloIn) {
                count(ControlCounter.AUTH_FAILED);
            } else {
                count(ControlCounter.HELLO_REJECTED);
            }
            return null;
        } catch (IOException e) {
            countFailedAuth(helloIn);
            return null;
        } finally {
            if (slotHeld) {
                handshakeSlots.release();
            }
            handshaking.remove(s);
            if (link == null) {
                s.close();
            }
        }
    }

    /** A connection that said Hello but ended before its Auth verified failed to authenticate. */
    private void countFailedAuth(boolean helloIn) {
        if (helloIn) {
            count(ControlCounter.AUTH_FAILED);
        }
    }

    private void writeHandshake(SocketInput input, byte[] frame) throws IOException {
        input.writeFully(frame);
        count(ControlCounter.FRAMES_OUT);
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

    private void notifyDown(Peer peer) {
        try {
            listener.onPeerDown(peer.spec.name());
        } catch (RuntimeException e) {
            listenerError(e);
        }
    }

    private void listenerError(RuntimeException e) {
        count(ControlCounter.LISTENER_ERRORS);
        LOG.warn("control listener failed", e);
    }

    // ---- helpers

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
     * Starts one of the plane's threads (platform threads: they block in poll). There are few of
     * them: accept, a dialer per peer, a bounded number of handshakes, and the links' own driver
     * when no event loop drives them.
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

    /**
     * A handshake's side of a socket: reads that wait, and fail with {@link SocketTimeoutException}
     * once the handshake's deadline has passed; writes that wait for room under the same deadline.
     */
    private static final class SocketInput extends InputStream {
        private final TcpSocket socket;
        private final long deadline;
        private final byte[] one = new byte[1];

        SocketInput(TcpSocket socket, long deadlineNanos) {
            this.socket = socket;
            this.deadline = deadlineNanos;
        }

        @Override
        public int read() throws IOException {
            return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            if (len == 0) {
                return 0;
            }
            while (true) {
                int n = socket.read(b, off, len);
                if (n != 0) {
                    return n; // bytes, or EOF (-1)
                }
                if (!socket.awaitReadable(millisLeft())) {
                    millisLeft(); // throws once the deadline has passed
                }
            }
        }

        void writeFully(byte[] b) throws IOException {
            for (int off = 0; off < b.length; ) {
                int n = socket.write(b, off, b.length - off);
                if (n == 0) {
                    socket.awaitWritable(millisLeft());
                }
                off += n;
            }
        }

        private long millisLeft() throws SocketTimeoutException {
            long left = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
            if (left <= 0) {
                throw new SocketTimeoutException("handshake not done in time");
            }
            return left;
        }
    }

    /** One configured peer and its current link, if any. */
    private static final class Peer {
        final PeerSpec spec;
        final boolean weDial;
        /** Written by the driver thread, read anywhere. */
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

    /**
     * One authenticated connection: a bounded queue any thread may add to, and buffers only the
     * driver thread touches.
     */
    private final class Link {
        final Peer peer;
        final Hello hello;
        final TcpSocket socket;
        /** Tags what this side sends, and checks what it receives. */
        final FrameMac outMac;

        final FrameMac inMac;
        final ArrayBlockingQueue<ControlMessage> queue = new ArrayBlockingQueue<>(cfg.queueCapacity());
        /** Received bytes not yet delivered: room for one whole tagged frame and more. */
        final byte[] in = new byte[2 * (ControlFrame.MAX_FRAME_LENGTH + LinkAuth.TAG_LENGTH)];

        final ByteBuffer inView = ByteBuffer.wrap(in);
        int inLength;
        /** Tagged frames the kernel has not taken yet. */
        final byte[] out = new byte[4 * (ControlFrame.MAX_FRAME_LENGTH + LinkAuth.TAG_LENGTH)];

        final ByteBuffer outView = ByteBuffer.wrap(out);
        int outLength;
        /** Something not lazy is queued: write this round. Set by any thread, cleared by the driver. */
        volatile boolean urgent;
        /** When the oldest lazy message still queued was queued (0: none); driver only. */
        long lazySince;

        long lastHeard;
        long nextHeartbeat;
        final AtomicBoolean closed = new AtomicBoolean();
        final CountDownLatch down = new CountDownLatch(1);
        final Instant since = Instant.now();

        Link(Peer peer, Hello hello, TcpSocket socket, FrameMac outMac, FrameMac inMac) {
            this.peer = peer;
            this.hello = hello;
            this.socket = socket;
            this.outMac = outMac;
            this.inMac = inMac;
        }
    }
}
