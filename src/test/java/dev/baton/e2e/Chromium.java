package dev.baton.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.baton.testbed.Commands;
import dev.baton.testbed.Testbed;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;

/**
 * Headless Chromium in a network namespace, driven over the Chrome DevTools Protocol.
 *
 * <p>The protocol runs over two pipes ({@code --remote-debugging-pipe}: commands in on descriptor
 * 3, answers and events out on 4, each message a JSON text ended by a NUL), not over a WebSocket:
 * the browser lives in the testbed's client namespace, whose loopback the test's JVM cannot reach,
 * while named pipes in a file system are the same in every namespace. Both FIFOs are opened
 * read-write here, so neither open can block on a browser that failed to start; every command waits
 * at most its timeout instead.
 *
 * <p>{@link #close} kills the processes this browser started (the process tree, then any process
 * whose command line names this browser's own profile directory, which a helper that detached would
 * still carry) and removes its temporary directory.
 */
final class Chromium implements AutoCloseable {
    /** The flags this machine needs as root, and no network use of the browser's own. */
    static final List<String> FLAGS = List.of(
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            "--mute-audio",
            "--remote-debugging-pipe");

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Duration COMMAND_TIMEOUT = Duration.ofSeconds(20);

    private final Path dir;
    private final Process process;
    private final FileChannel toBrowser;
    private final FileChannel fromBrowser;
    private final Thread reader;
    private final AtomicLong ids = new AtomicLong();
    private final Map<Long, CompletableFuture<JsonNode>> pending = new ConcurrentHashMap<>();
    /** Exceptions the page threw and errors it logged ({@code Runtime.exceptionThrown}, console errors). */
    final List<String> pageErrors = new CopyOnWriteArrayList<>();

    private String session;

    /** The browser's binary, or an assertion error that says how to install it. */
    static Path binary() {
        for (String name : List.of("chromium", "chromium-browser", "google-chrome")) {
            var found = Testbed.findOnPath(name);
            if (found.isPresent()) return found.get();
        }
        throw new AssertionError(
                "headless Chromium is needed and not installed: apt-get install -y --no-install-recommends"
                        + " chromium (.ci/run installs it)");
    }

    /**
     * Starts the browser in {@code netns} with a fresh profile, its log in {@code log}, and opens one
     * page of {@code width} x {@code height} CSS pixels (device scale 1).
     */
    static Chromium start(String netns, Path log, int width, int height) throws IOException {
        Path binary = binary();
        Path dir = Files.createTempDirectory("baton-chromium-");
        try {
            return new Chromium(dir, netns, binary, log, width, height);
        } catch (IOException | RuntimeException | Error e) {
            deleteTree(dir);
            throw e;
        }
    }

    private Chromium(Path dir, String netns, Path binary, Path log, int width, int height) throws IOException {
        this.dir = dir;
        Path in = dir.resolve("in");
        Path out = dir.resolve("out");
        Commands.check("mkfifo", "-m", "600", in.toString(), out.toString());
        toBrowser = FileChannel.open(in, StandardOpenOption.READ, StandardOpenOption.WRITE);
        fromBrowser = FileChannel.open(out, StandardOpenOption.READ, StandardOpenOption.WRITE);
        List<String> argv = new ArrayList<>(List.of(
                "sh",
                "-c",
                "in=$1; out=$2; shift 2; exec \"$@\" 3<\"$in\" 4>\"$out\"",
                "sh",
                in.toString(),
                out.toString(),
                binary.toString()));
        argv.addAll(FLAGS);
        argv.add("--user-data-dir=" + dir.resolve("profile"));
        argv.add("--window-size=" + width + "," + height);
        argv.add("about:blank");
        process = new ProcessBuilder(Commands.inNetns(netns, argv))
                .redirectErrorStream(true)
                .redirectOutput(log.toFile())
                .start();
        reader = Thread.ofPlatform().daemon().name("chromium-cdp").start(this::readLoop);
        try {
            String target = command(null, "Target.createTarget", Map.of("url", "about:blank"))
                    .path("targetId")
                    .asText();
            session = command(null, "Target.attachToTarget", Map.of("targetId", target, "flatten", true))
                    .path("sessionId")
                    .asText();
            command("Runtime.enable", Map.of());
            command("Page.enable", Map.of());
            resize(width, height);
        } catch (RuntimeException | Error e) {
            close();
            throw e;
        }
    }

    /** The page's viewport, in CSS pixels at scale 1: what a screenshot's size will be. */
    void resize(int width, int height) {
        command(
                "Emulation.setDeviceMetricsOverride",
                Map.of("width", width, "height", height, "deviceScaleFactor", 1, "mobile", false));
    }

    /** Opens {@code url} in the page (not waiting for it to load: see {@link #await}). */
    void navigate(String url) {
        JsonNode r = command("Page.navigate", Map.of("url", url));
        if (r.hasNonNull("errorText"))
            throw new AssertionError(
                    "navigating to " + url + ": " + r.path("errorText").asText());
    }

    /** The value of a JavaScript expression in the page (JSON-serialisable values only). */
    JsonNode eval(String expression) {
        JsonNode r = command("Runtime.evaluate", Map.of("expression", expression, "returnByValue", true));
        if (r.has("exceptionDetails")) {
            throw new AssertionError(
                    "`" + expression + "` threw: " + r.path("exceptionDetails").toString());
        }
        return r.path("result").path("value");
    }

    /**
     * Polls {@code expression} every 200 ms until it is true; fails with {@code what} after
     * {@code limit}. An expression that throws (the page is still loading) counts as false.
     */
    void await(String what, String expression, Duration limit) {
        long deadline = System.nanoTime() + limit.toNanos();
        String guarded = "(() => { try { return !!(" + expression + "); } catch (e) { return false; } })()";
        while (true) {
            if (eval(guarded).asBoolean(false)) return;
            if (System.nanoTime() > deadline) {
                throw new AssertionError("within " + limit.toSeconds() + " s: " + what + " (`" + expression
                        + "`); page errors: " + pageErrors);
            }
            EndToEnd.sleep(200);
        }
    }

    /** A PNG of the viewport. */
    byte[] screenshot() {
        String data = command("Page.captureScreenshot", Map.of("format", "png"))
                .path("data")
                .asText();
        return Base64.getDecoder().decode(data);
    }

    private JsonNode command(String method, Map<String, Object> params) {
        return command(session, method, params);
    }

    /** Sends one command and waits for its answer; a protocol error fails. */
    private JsonNode command(String sessionId, String method, Map<String, Object> params) {
        long id = ids.incrementAndGet();
        ObjectNode m = JSON.createObjectNode();
        m.put("id", id);
        m.put("method", method);
        m.set("params", JSON.valueToTree(params));
        if (sessionId != null) m.put("sessionId", sessionId);
        CompletableFuture<JsonNode> answer = new CompletableFuture<>();
        pending.put(id, answer);
        try {
            byte[] text = JSON.writeValueAsBytes(m);
            ByteBuffer b =
                    ByteBuffer.allocate(text.length + 1).put(text).put((byte) 0).flip();
            synchronized (toBrowser) {
                while (b.hasRemaining()) toBrowser.write(b);
            }
            JsonNode r = answer.get(COMMAND_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
            if (r.has("error")) throw new AssertionError(method + ": " + r.path("error"));
            return r.path("result");
        } catch (IOException e) {
            throw new UncheckedIOException(method, e);
        } catch (TimeoutException e) {
            throw new AssertionError("Chromium did not answer " + method + " within " + COMMAND_TIMEOUT.toSeconds()
                    + " s (alive: " + process.isAlive() + ")");
        } catch (ExecutionException e) {
            throw new AssertionError(method + ": " + e.getCause(), e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(method + ": interrupted", e);
        } finally {
            pending.remove(id);
        }
    }

    /** Splits what the browser writes at NULs: answers complete their command, two kinds of event are kept. */
    private void readLoop() {
        ByteBuffer buffer = ByteBuffer.allocate(1 << 16);
        ByteArrayOutputStream message = new ByteArrayOutputStream();
        try {
            while (fromBrowser.read(buffer.clear()) >= 0) {
                buffer.flip();
                while (buffer.hasRemaining()) {
                    byte b = buffer.get();
                    if (b != 0) {
                        message.write(b);
                        continue;
                    }
                    JsonNode m = JSON.readTree(message.toString(StandardCharsets.UTF_8));
                    message.reset();
                    if (m.has("id")) {
                        CompletableFuture<JsonNode> f = pending.get(m.path("id").asLong());
                        if (f != null) f.complete(m);
                    } else if (m.path("method").asText().equals("Runtime.exceptionThrown")) {
                        pageErrors.add(m.path("params").path("exceptionDetails").toString());
                    } else if (m.path("method").asText().equals("Runtime.consoleAPICalled")
                            && m.path("params").path("type").asText().equals("error")) {
                        pageErrors.add("console.error: "
                                + m.path("params").path("args").toString());
                    }
                }
            }
        } catch (IOException e) {
            // closed: the browser is gone
        }
    }

    @Override
    public void close() {
        List<ProcessHandle> tree = new ArrayList<>(process.descendants().toList());
        tree.add(process.toHandle());
        for (ProcessHandle p : tree) p.destroyForcibly();
        // A helper that left the tree still names our profile in its command line.
        String marker = "--user-data-dir=" + dir.resolve("profile");
        try (Stream<ProcessHandle> all = ProcessHandle.allProcesses()) {
            all.filter(p -> p.info()
                            .arguments()
                            .map(a -> List.of(a).contains(marker))
                            .orElse(false))
                    .forEach(p -> {
                        tree.add(p);
                        p.destroyForcibly();
                    });
        }
        for (ProcessHandle p : tree) {
            try {
                p.onExit().get(5, TimeUnit.SECONDS);
            } catch (Exception e) {
                // reported below if it is still there
            }
        }
        List<Long> left = tree.stream()
                .filter(ProcessHandle::isAlive)
                .map(ProcessHandle::pid)
                .toList();
        try {
            toBrowser.close();
            fromBrowser.close();
        } catch (IOException e) {
            // nothing more to do with them
        }
        reader.interrupt();
        deleteTree(dir);
        if (!left.isEmpty()) throw new AssertionError("Chromium processes still alive after SIGKILL: " + left);
    }

    private static void deleteTree(Path dir) {
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
        } catch (IOException e) {
            throw new UncheckedIOException("removing " + dir, e);
        }
    }
}
