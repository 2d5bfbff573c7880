package dev.baton.server;

import dev.baton.sys.Netns;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;

/**
 * baton's built-in static web server: one node's document root over HTTP/1.1 (RFC 9110, RFC 9112).
 *
 * <p>The cluster works with any unmodified server; this one exists so a node runs out of the box and
 * so tests can tell which node answered: every final response carries {@code X-Baton-Node: <name>}.
 *
 * <p>What it does:
 * <ul>
 *   <li>GET/HEAD of regular files under the document root (a directory serves its
 *       {@code index.html}), body sent with {@code FileChannel.transferTo} (sendfile, zero-copy);</li>
 *   <li>POST/PUT to any path: reads the body (Content-Length or chunked, at most 1 GiB, honouring
 *       {@code Expect: 100-continue}) and answers {@code {"bytes":N,"sha256":"..."}} without storing
 *       it, to prove uploads arrive byte-exact;</li>
 *   <li>back-end forwarding: a GET/HEAD for a path it lacks is fetched from the node the
 *       {@link BackendLocator} names and relayed on the same persistent client connection (see
 *       {@link Connection});</li>
 *   <li>persistent connections and pipelining (RFC 9112 §9.3), HTTP/1.0 with keep-alive.</li>
 * </ul>
 * Not supported: ranges, conditional requests, compression, TLS, HTTP/2, directory listings.
 *
 * <p>Threads: one platform thread accepts; one virtual thread per connection does blocking I/O; one
 * watchdog thread closes connections whose writes make no progress for {@code ioTimeout}. Bounds:
 * {@code maxConnections} open connections (more are closed at once and counted), an idle timeout
 * between requests, a timeout for the whole request head, and {@code ioTimeout} on every body read,
 * write and back-end exchange.
 */
public final class StaticServer implements AutoCloseable {

    /** Largest request body accepted by POST/PUT (413 beyond it). */
    public static final long MAX_BODY_BYTES = 1L << 30;

    /**
     * Server configuration.
     *
     * @param bindAddress    where to listen; port 0 picks a free port (see {@link #port()})
     * @param docroot        the document root; nothing outside it is ever served
     * @param nodeName       value of the {@code X-Baton-Node} response header
     * @param locator        where to forward requests for paths this node lacks; null disables forwarding
     * @param idleTimeout    how long a persistent connection may wait for the next request
     * @param headTimeout    how long a request head may take once its first byte arrived
     * @param ioTimeout      bound on each body read, response write and back-end read without progress
     * @param maxConnections open connections at most; further accepts are closed and counted
     * @param namespace      the network namespace to listen in ({@link Netns}); null: this process's
     */
    public record Config(
            InetSocketAddress bindAddress,
            Path docroot,
            String nodeName,
            BackendLocator locator,
            Duration idleTimeout,
            Duration headTimeout,
            Duration ioTimeout,
            int maxConnections,
            String namespace) {
        public static final Duration DEFAULT_IDLE_TIMEOUT = Duration.ofSeconds(15);
        public static final Duration DEFAULT_HEAD_TIMEOUT = Duration.ofSeconds(10);
        public static final Duration DEFAULT_IO_TIMEOUT = Duration.ofSeconds(30);
        public static final int DEFAULT_MAX_CONNECTIONS = 4096;

        public Config {
            Objects.requireNonNull(bindAddress, "bindAddress");
            Objects.requireNonNull(docroot, "docroot");
            Objects.requireNonNull(nodeName, "nodeName");
            if (nodeName.isEmpty() || !nodeName.chars().allMatch(c -> c > 0x20 && c < 0x7f)) {
                throw new IllegalArgumentException("nodeName must be visible ASCII: " + nodeName);
            }
            positive(idleTimeout, "idleTimeout");
            positive(headTimeout, "headTimeout");
            positive(ioTimeout, "ioTimeout");
            if (maxConnections < 1) throw new IllegalArgumentException("maxConnections < 1");
        }

        private static void positive(Duration d, String name) {
            Objects.requireNonNull(d, name);
            if (d.isNegative() || d.isZero() || d.toMillis() > Integer.MAX_VALUE) {
                throw new IllegalArgumentException(name + " out of range: " + d);
            }
        }

        /** Defaults: no locator, idle 15 s, head 10 s, I/O 30 s, 4096 connections. */
        public static Config of(InetSocketAddress bindAddress, Path docroot, String nodeName) {
            return new Config(
                    bindAddress,
                    docroot,
                    nodeName,
                    null,
                    DEFAULT_IDLE_TIMEOUT,
                    DEFAULT_HEAD_TIMEOUT,
                    DEFAULT_IO_TIMEOUT,
                    DEFAULT_MAX_CONNECTIONS,
                    null);
        }

        public Config withLocator(BackendLocator l) {
            return new Config(
                    bindAddress, docroot, nodeName, l, idleTimeout, headTimeout, ioTimeout, maxConnections, namespace);
        }

        public Config withIdleTimeout(Duration d) {
            return new Config(
                    bindAddress, docroot, nodeName, locator, d, headTimeout, ioTimeout, maxConnections, namespace);
        }

        public Config withHeadTimeout(Duration d) {
            return new Config(
                    bindAddress, docroot, nodeName, locator, idleTimeout, d, ioTimeout, maxConnections, namespace);
        }

        public Config withIoTimeout(Duration d) {
            return new Config(
                    bindAddress, docroot, nodeName, locator, idleTimeout, headTimeout, d, maxConnections, namespace);
        }

        public Config withMaxConnections(int n) {
            return new Config(
                    bindAddress, docroot, nodeName, locator, idleTimeout, headTimeout, ioTimeout, n, namespace);
        }

        public Config withNamespace(String n) {
            return new Config(
                    bindAddress, docroot, nodeName, locator, idleTimeout, headTimeout, ioTimeout, maxConnections, n);
        }
    }

    /**
     * A snapshot of the server's counters. Responses are counted when committed (just before their
     * head is written). {@code forwarded} counts relayed responses; {@code forwardFailed} counts 502s
     * and relays cut short (those were counted as forwarded too). {@code headTimeouts} counts
     * connections closed, without a response, because a request head had begun but was not complete
     * within the head timeout (a client trickling its head, or one that stopped mid-head).
     */
    public record Stats(
            long requests,
            long served200,
            long notFound,
            long badRequest,
            long forwarded,
            long forwardFailed,
            long uploads,
            long connectionsRejected,
            long headTimeouts) {}

    /** Live counters, shared with the connections. */
    static final class Counters {
        final LongAdder requests = new LongAdder();
        final LongAdder served200 = new LongAdder();
        final LongAdder notFound = new LongAdder();
        final LongAdder badRequest = new LongAdder();
        final LongAdder forwarded = new LongAdder();
        final LongAdder forwardFailed = new LongAdder();
        final LongAdder uploads = new LongAdder();
        final LongAdder connectionsRejected = new LongAdder();
        final LongAdder headTimeouts = new LongAdder();
    }

    private final Config cfg;
    private final Counters counters = new Counters();
    private final Set<Connection> connections = ConcurrentHashMap.newKeySet();
    private final AtomicInteger open = new AtomicInteger();
    private volatile boolean closed;
    private ServerSocketChannel listener;
    private Path docroot;
    private Thread acceptor;
    private Thread watchdog;

    public StaticServer(Config cfg) {
        this.cfg = Objects.requireNonNull(cfg, "cfg");
    }

    /** Binds and starts accepting. */
    public synchronized void start() throws IOException {
        if (listener != null) throw new IllegalStateException("already started");
        docroot = cfg.docroot().toRealPath();
        // A socket lives in the namespace it was made in, whichever thread uses it later.
        listener = cfg.namespace() == null
                ? ServerSocketChannel.open()
                : Netns.call(cfg.namespace(), ServerSocketChannel::open);
        listener.setOption(StandardSocketOptions.SO_REUSEADDR, true);
        listener.bind(cfg.bindAddress(), 1024);
        acceptor = Thread.ofPlatform()
                .name("baton-http-accept-" + cfg.nodeName())
                .daemon()
                .start(this::acceptLoop);
        watchdog = Thread.ofPlatform()
                .name("baton-http-watchdog-" + cfg.nodeName())
                .daemon()
                .start(this::watchLoop);
    }

    /** The bound port (useful with port 0). */
    public int port() {
        try {
            return ((InetSocketAddress) listener.getLocalAddress()).getPort();
        } catch (IOException e) {
            throw new IllegalStateException("not bound", e);
        }
    }

    public Stats stats() {
        Counters c = counters;
        return new Stats(
                c.requests.sum(),
                c.served200.sum(),
                c.notFound.sum(),
                c.badRequest.sum(),
                c.forwarded.sum(),
                c.forwardFailed.sum(),
                c.uploads.sum(),
                c.connectionsRejected.sum(),
                c.headTimeouts.sum());
    }

    /** Stops accepting and closes every open connection. */
    @Override
    public void close() throws IOException {
        closed = true;
        if (listener != null) listener.close();
        for (Connection c : connections) c.abort();
        if (watchdog != null) watchdog.interrupt();
        try {
            if (acceptor != null) acceptor.join(Duration.ofSeconds(5));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void acceptLoop() {
        while (!closed) {
            SocketChannel ch;
            try {
                ch = listener.accept();
            } catch (ClosedChannelException e) {
                return;
            } catch (IOException e) {
                // EMFILE and friends: back off a little instead of spinning.
                sleepQuietly(10);
                continue;
            }
            if (open.incrementAndGet() > cfg.maxConnections()) {
                open.decrementAndGet();
                counters.connectionsRejected.increment();
                closeQuietly(ch);
                continue;
            }
            Connection c = new Connection(ch, cfg, docroot, counters);
            connections.add(c);
            if (closed) c.abort(); // close() may have swept the set just before the add
            Thread.ofVirtual().name("baton-http-conn").start(() -> {
                try {
                    c.run();
                } finally {
                    connections.remove(c);
                    open.decrementAndGet();
                }
            });
        }
    }

    /** Closes connections whose current write made no progress within ioTimeout. */
    private void watchLoop() {
        long periodMillis = Math.max(50, Math.min(1000, cfg.ioTimeout().toMillis() / 4));
        while (!closed) {
            if (!sleepQuietly(periodMillis)) return;
            long now = System.nanoTime();
            for (Connection c : connections) c.abortIfWriteStalled(now);
        }
    }

    private static boolean sleepQuietly(long millis) {
        try {
            Thread.sleep(millis);
            return true;
        } catch (InterruptedException e) {
            return false;
        }
    }

    static void closeQuietly(AutoCloseable c) {
        try {
            if (c != null) c.close();
        } catch (Exception ignored) {
            // nothing useful to do
        }
    }
}
