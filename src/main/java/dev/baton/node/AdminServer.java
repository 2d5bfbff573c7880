package dev.baton.node;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A node's admin endpoint: a Unix domain socket (file system paths are visible across network
 * namespaces, so the testbed reaches every node without touching their networks). A client writes
 * one command line ({@code stats}, {@code content}) and reads one JSON line back.
 */
final class AdminServer implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(AdminServer.class);
    /** Answers one command line with one line of JSON. */
    interface Handler {
        String handle(String command) throws IOException;
    }

    private static final int MAX_COMMAND = 256;
    private static final long CLIENT_TIMEOUT_SECONDS = 5;

    private final Path path;
    private final Handler handler;
    private final ScheduledExecutorService timeouts = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "admin-timeouts");
        t.setDaemon(true);
        return t;
    });
    private ServerSocketChannel server;
    private volatile boolean closed;

    AdminServer(Path path, Handler handler) {
        this.path = path;
        this.handler = handler;
    }

    void start() throws IOException {
        if (path == null) return;
        Files.deleteIfExists(path); // left by a crashed run
        server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        server.bind(UnixDomainSocketAddress.of(path));
        Thread.ofPlatform().daemon().name("admin").start(this::acceptLoop);
    }

    private void acceptLoop() {
        while (!closed) {
            try {
                SocketChannel c = server.accept();
                Thread.ofVirtual().start(() -> serve(c));
            } catch (IOException e) {
                if (!closed) LOG.warn("admin socket: {}", e.toString());
                return;
            }
        }
    }

    private void serve(SocketChannel c) {
        // Every wait has a timeout: a client that never finishes its line is cut off.
        var timeout = timeouts.schedule(() -> closeQuietly(c), CLIENT_TIMEOUT_SECONDS, TimeUnit.SECONDS);
        try (c) {
            ByteBuffer in = ByteBuffer.allocate(MAX_COMMAND);
            while (in.hasRemaining()) {
                if (c.read(in) < 0) break;
                if (indexOfNewline(in) >= 0) break;
            }
            int nl = indexOfNewline(in);
            String line = new String(in.array(), 0, nl >= 0 ? nl : in.position(), StandardCharsets.UTF_8);
            String reply = handler.handle(line) + "\n";
            ByteBuffer out = ByteBuffer.wrap(reply.getBytes(StandardCharsets.UTF_8));
            while (out.hasRemaining()) c.write(out);
        } catch (IOException | RuntimeException e) {
            // The client went away or sent garbage: nothing to answer.
        } finally {
            timeout.cancel(false);
        }
    }

    private static int indexOfNewline(ByteBuffer b) {
        for (int i = 0; i < b.position(); i++) if (b.get(i) == '\n') return i;
        return -1;
    }

    private static void closeQuietly(SocketChannel c) {
        try {
            c.close();
        } catch (IOException ignored) {
            // already closed
        }
    }

    @Override
    public void close() {
        closed = true;
        timeouts.shutdownNow();
        if (server != null) {
            try {
                server.close();
                Files.deleteIfExists(path);
            } catch (IOException ignored) {
                // best effort on shutdown
            }
        }
    }
}
