package dev.baton.testbed;

import dev.baton.testbed.LoadMix.Request;
import dev.baton.testbed.LoadMix.Target;
import dev.baton.testbed.LoadResult.Failure;
import dev.baton.testbed.LoadResult.Kind;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Runs a load plan ({@link LoadMix}) from the network namespace it is in: {@code concurrency}
 * threads take the next request of the plan, each on a new TCP connection (or, with keep-alive,
 * on one kept per thread and entry node), and check every response byte-exact: status 200,
 * Content-Length and body length equal to the file's size, SHA-256 equal to the content map's.
 * Bodies are hashed as they arrive, never stored.
 *
 * <p>The HTTP/1.1 client is a small one written for this check (RFC 9112: request line, Host,
 * Content-Length or close-delimited bodies; chunked bodies are reported as {@link Kind#BAD_HEAD}):
 * it sees every byte and can say exactly what was wrong, which a general client hides. It runs on
 * the kernel's TCP like any client. Every request has a deadline that bounds the connect and each
 * read; the whole run has one too, after which requests not yet started count as
 * {@link Kind#NOT_RUN}.
 */
public final class LoadClient {
    /** Longest response head accepted. */
    static final int MAX_HEAD = 16 * 1024;

    private static final int BUFFER = 64 * 1024;

    /**
     * How to run a plan.
     *
     * @param concurrency requests in flight at once
     * @param requestTimeout limit of one request, connect to last body byte
     * @param keepAlive reuse connections (one per thread and entry node) instead of a new one per request
     * @param maxTime no request is started after this much time
     */
    public record Options(int concurrency, Duration requestTimeout, boolean keepAlive, Duration maxTime) {
        public Options {
            if (concurrency < 1) {
                throw new IllegalArgumentException("concurrency must be >= 1, got " + concurrency);
            }
            if (requestTimeout.isNegative() || requestTimeout.isZero() || maxTime.isNegative()) {
                throw new IllegalArgumentException("timeouts must be positive");
            }
        }

        /** 16 at once, 30 s per request, a new connection each, 10 minutes at most. */
        public static Options defaults() {
            return new Options(16, Duration.ofSeconds(30), false, Duration.ofMinutes(10));
        }

        public Options withConcurrency(int c) {
            return new Options(c, requestTimeout, keepAlive, maxTime);
        }

        public Options withRequestTimeout(Duration d) {
            return new Options(concurrency, d, keepAlive, maxTime);
        }

        public Options withKeepAlive(boolean k) {
            return new Options(concurrency, requestTimeout, k, maxTime);
        }

        public Options withMaxTime(Duration d) {
            return new Options(concurrency, requestTimeout, keepAlive, d);
        }
    }

    private LoadClient() {}

    /** Runs {@code plan} and returns what happened; never throws for a failed request. */
    public static LoadResult run(List<Request> plan, Options options) {
        LoadResult.Recorder recorder = new LoadResult.Recorder(plan.size());
        AtomicInteger next = new AtomicInteger();
        long start = System.nanoTime();
        long stopStarting = start + options.maxTime().toNanos();
        int threads = Math.min(options.concurrency(), Math.max(1, plan.size()));
        List<Thread> workers = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            Worker w = new Worker(plan, options, recorder, next, stopStarting);
            workers.add(Thread.ofPlatform().daemon().name("load-" + t).start(w::run));
        }
        for (Thread t : workers) {
            try {
                t.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while waiting for the load run", e);
            }
        }
        return recorder.result(Duration.ofNanos(System.nanoTime() - start));
    }

    /** One thread of the run, with its own buffer, digest and (keep-alive) connections. */
    private static final class Worker {
        private final List<Request> plan;
        private final Options options;
        private final LoadResult.Recorder recorder;
        private final AtomicInteger next;
        private final long stopStarting;
        private final byte[] buffer = new byte[BUFFER];
        private final MessageDigest digest = ContentMap.newSha256();
        private final Map<Target, Socket> kept = new HashMap<>();

        Worker(
                List<Request> plan,
                Options options,
                LoadResult.Recorder recorder,
                AtomicInteger next,
                long stopStarting) {
            this.plan = plan;
            this.options = options;
            this.recorder = recorder;
            this.next = next;
            this.stopStarting = stopStarting;
        }

        void run() {
            try {
                for (int i = next.getAndIncrement(); i < plan.size(); i = next.getAndIncrement()) {
                    Request r = plan.get(i);
                    if (System.nanoTime() - stopStarting >= 0) {
                        recorder.failed(failure(r, Kind.NOT_RUN, "the run's time was up"));
                        continue;
                    }
                    execute(r);
                }
            } finally {
                kept.values().forEach(LoadClient::closeQuietly);
            }
        }

        private void execute(Request r) {
            long start = System.nanoTime();
            long deadline = start + options.requestTimeout().toNanos();
            Socket reused = kept.remove(r.entry());
            if (reused != null) {
                Attempt a = attempt(r, reused, deadline);
                // A kept connection the server has closed meanwhile fails before any response
                // byte: retry once on a new one, as clients may for a GET (RFC 9112 section 9.3.1).
                if (a.failure == null || a.responseBytes > 0) {
                    finish(r, a, start);
                    return;
                }
            }
            Socket fresh;
            try {
                fresh = connect(r.entry(), deadline);
            } catch (IOException e) {
                Kind kind = e instanceof SocketTimeoutException ? Kind.TIMEOUT : Kind.CONNECT;
                recorder.failed(failure(
                        r,
                        kind,
                        "connect to " + r.entry().host() + ":" + r.entry().port() + ": " + e));
                return;
            }
            finish(r, attempt(r, fresh, deadline), start);
        }

        private void finish(Request r, Attempt a, long start) {
            if (a.failure != null) {
                recorder.failed(a.failure);
                return;
            }
            recorder.ok(
                    r.expected().bytes(),
                    System.nanoTime() - start,
                    !a.servedBy.isEmpty() && !a.servedBy.equals(r.entry().name()));
        }

        private Socket connect(Target target, long deadline) throws IOException {
            Socket s = new Socket();
            try {
                s.setTcpNoDelay(true);
                s.connect(new InetSocketAddress(target.host(), target.port()), millisLeft(deadline));
                recorder.connected();
                return s;
            } catch (IOException e) {
                closeQuietly(s);
                throw e;
            }
        }

        /** One request on {@code s}; keeps the socket for the next request if all went well. */
        private Attempt attempt(Request r, Socket s, long deadline) {
            Attempt a = new Attempt();
            boolean keep = false;
            try {
                OutputStream out = s.getOutputStream();
                out.write(requestHead(r).getBytes(StandardCharsets.ISO_8859_1));
                out.flush();
                InputStream in = s.getInputStream();
                Head head = readHead(r, s, in, deadline, a);
                if (head == null) {
                    return a;
                }
                a.servedBy = head.header("x-baton-node");
                long expected = r.expected().bytes();
                if (head.status != 200) {
                    a.failure = failure(
                            r,
                            Kind.STATUS,
                            "status " + head.status + " (served by " + (a.servedBy.isEmpty() ? "?" : a.servedBy) + ")");
                    return a;
                }
                if (head.header("transfer-encoding").length() > 0) {
                    a.failure = failure(
                            r,
                            Kind.BAD_HEAD,
                            "Transfer-Encoding " + head.header("transfer-encoding")
                                    + " (this client reads Content-Length bodies only)");
                    return a;
                }
                long length = head.contentLength;
                if (length >= 0 && length != expected) {
                    a.failure = failure(r, Kind.LENGTH, "Content-Length " + length + ", file has " + expected);
                    return a;
                }
                digest.reset();
                long got = readBody(s, in, head, length >= 0 ? length : Long.MAX_VALUE, deadline);
                if (got != expected) {
                    a.failure = failure(r, Kind.SHORT, "body ended after " + got + " of " + expected + " bytes");
                    return a;
                }
                String sha = HexFormat.of().formatHex(digest.digest());
                if (!sha.equals(r.expected().sha256())) {
                    a.failure = failure(
                            r,
                            Kind.HASH,
                            "sha256 " + sha + ", expected " + r.expected().sha256() + " (served by "
                                    + (a.servedBy.isEmpty() ? "?" : a.servedBy) + ")");
                    return a;
                }
                keep = options.keepAlive()
                        && length >= 0
                        && !head.header("connection").equalsIgnoreCase("close");
                return a;
            } catch (SocketTimeoutException e) {
                a.failure = failure(
                        r,
                        Kind.TIMEOUT,
                        "no answer within " + options.requestTimeout().toMillis() + " ms (" + a.responseBytes
                                + " bytes of the response received)");
                return a;
            } catch (IOException e) {
                a.failure = failure(
                        r,
                        a.headDone ? Kind.SHORT : Kind.IO,
                        e + " after " + a.responseBytes + " bytes of the response");
                return a;
            } finally {
                if (keep) {
                    kept.put(r.entry(), s);
                } else {
                    closeQuietly(s);
                }
            }
        }

        private String requestHead(Request r) {
            return "GET " + Client.encodePath(r.expected().path()) + " HTTP/1.1\r\nHost: "
                    + r.entry().host() + "\r\nUser-Agent: baton-load\r\n"
                    + (options.keepAlive() ? "" : "Connection: close\r\n") + "\r\n";
        }

        /**
         * Reads until the blank line that ends the head; the bytes after it stay in
         * {@link #buffer} ({@code head.bodyStart .. head.bufferEnd}). Null with {@code a.failure}
         * set if the head is bad.
         */
        private Head readHead(Request r, Socket s, InputStream in, long deadline, Attempt a) throws IOException {
            int filled = 0;
            while (true) {
                int end = indexOfBlankLine(buffer, filled);
                if (end >= 0) {
                    a.headDone = true;
                    Head head = Head.parse(new String(buffer, 0, end, StandardCharsets.ISO_8859_1));
                    if (head == null) {
                        a.failure = failure(
                                r,
                                Kind.BAD_HEAD,
                                "not an HTTP/1.x response head: "
                                        + abbreviate(new String(buffer, 0, end, StandardCharsets.ISO_8859_1)));
                        return null;
                    }
                    head.bodyStart = end + 4;
                    head.bufferEnd = filled;
                    return head;
                }
                if (filled >= MAX_HEAD) {
                    a.failure = failure(r, Kind.BAD_HEAD, "response head longer than " + MAX_HEAD + " bytes");
                    return null;
                }
                s.setSoTimeout(millisLeft(deadline));
                int n = in.read(buffer, filled, MAX_HEAD - filled);
                if (n < 0) {
                    throw new IOException("connection closed before the response head ended");
                }
                filled += n;
                a.responseBytes += n;
            }
        }

        /** Hashes up to {@code length} body bytes (or until EOF) and returns how many there were. */
        private long readBody(Socket s, InputStream in, Head head, long length, long deadline) throws IOException {
            long got = Math.min(length, head.bufferEnd - head.bodyStart);
            digest.update(buffer, head.bodyStart, (int) got);
            while (got < length) {
                s.setSoTimeout(millisLeft(deadline));
                int n = in.read(buffer, 0, (int) Math.min(buffer.length, length - got));
                if (n < 0) {
                    break;
                }
                digest.update(buffer, 0, n);
                got += n;
            }
            return got;
        }

        private Failure failure(Request r, Kind kind, String detail) {
            return new Failure(r.index(), r.expected().path(), r.entry().name(), kind, detail);
        }

        /** What one try on one connection did. */
        private static final class Attempt {
            Failure failure;
            String servedBy = "";
            long responseBytes;
            boolean headDone;
        }
    }

    /** A parsed response head: status, and the headers this client needs, names lower-cased. */
    static final class Head {
        final int status;
        final long contentLength;
        private final Map<String, String> headers;
        int bodyStart;
        int bufferEnd;

        private Head(int status, long contentLength, Map<String, String> headers) {
            this.status = status;
            this.contentLength = contentLength;
            this.headers = headers;
        }

        /** The header's value, "" if absent. */
        String header(String lowerCaseName) {
            return headers.getOrDefault(lowerCaseName, "");
        }

        /** Parses a head without its final blank line; null if it is not an HTTP/1.x response. */
        static Head parse(String text) {
            String[] lines = text.split("\r\n");
            String[] statusLine = lines[0].split(" ", 3);
            if (statusLine.length < 2 || !statusLine[0].startsWith("HTTP/1.") || !statusLine[1].matches("\\d{3}")) {
                return null;
            }
            Map<String, String> headers = new HashMap<>();
            for (int i = 1; i < lines.length; i++) {
                int colon = lines[i].indexOf(':');
                if (colon <= 0) {
                    return null;
                }
                headers.put(
                        lines[i].substring(0, colon).strip().toLowerCase(Locale.ROOT),
                        lines[i].substring(colon + 1).strip());
            }
            long length = -1;
            String cl = headers.get("content-length");
            if (cl != null) {
                if (!cl.matches("\\d{1,18}")) {
                    return null;
                }
                length = Long.parseLong(cl);
            }
            return new Head(Integer.parseInt(statusLine[1]), length, headers);
        }
    }

    /** Index of the {@code \r\n\r\n} that ends a head within {@code b[0..n)}, or -1. */
    static int indexOfBlankLine(byte[] b, int n) {
        for (int i = 0; i + 3 < n; i++) {
            if (b[i] == '\r' && b[i + 1] == '\n' && b[i + 2] == '\r' && b[i + 3] == '\n') {
                return i;
            }
        }
        return -1;
    }

    /** Milliseconds until {@code deadline}, at least 1 (a socket timeout of 0 would mean forever). */
    private static int millisLeft(long deadline) throws SocketTimeoutException {
        long left = (deadline - System.nanoTime()) / 1_000_000;
        if (left <= 0) {
            throw new SocketTimeoutException("deadline passed");
        }
        return (int) Math.min(Integer.MAX_VALUE, left);
    }

    private static String abbreviate(String s) {
        String line = s.replace("\r", "\\r").replace("\n", "\\n");
        return line.length() <= 120 ? line : line.substring(0, 120) + "...";
    }

    private static void closeQuietly(Socket s) {
        try {
            s.close();
        } catch (IOException e) {
            // Nothing to do: the socket is gone either way.
        }
    }
}
