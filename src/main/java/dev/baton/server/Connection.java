package dev.baton.server;

import dev.baton.http.Invalid;
import dev.baton.http.RequestParser;
import dev.baton.http.RequestParser.Result;
import dev.baton.server.Input.ProtocolException;
import dev.baton.server.StaticServer.Config;
import dev.baton.server.StaticServer.Counters;
import java.io.EOFException;
import java.io.IOException;
import java.io.Serial;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One client connection of the {@link StaticServer}, run on its own virtual thread: reads request
 * heads with a {@link RequestParser}, answers them in order (persistent connections and pipelining,
 * RFC 9112 §9.3), and closes on error, on {@code Connection: close}, or when idle.
 *
 * <p><b>Back-end forwarding.</b> A GET/HEAD for a path missing from the document root, without an
 * {@code X-Baton-Forwarded} header, goes to the node the {@link BackendLocator} names: a new TCP
 * connection (connect and read timeouts 10 s each) carrying {@code <method> <target> HTTP/1.1},
 * {@code Host}, {@code X-Baton-Forwarded: 1} and {@code Connection: close}. The holder's status line
 * and headers are relayed, minus its hop-by-hop {@code Connection}/{@code Keep-Alive} (RFC 9110
 * §7.6.1) so the client connection stays persistent, plus {@code X-Baton-Via: <this node>}; then
 * exactly Content-Length body bytes. The holder's own {@code X-Baton-Node} is kept: it names the node
 * that served the bytes. A request that carries {@code X-Baton-Forwarded} is never forwarded again,
 * so two nodes that each think the other holds a path cannot loop. If the holder fails before
 * anything was relayed, the client gets 502; after, the client connection is closed.
 *
 * <p><b>What a client can forge.</b> {@code X-Baton-Forwarded} is a loop guard, not a credential: its
 * only effect (any value, even empty) is that this server answers from its own document root and
 * never fetches from another node, so a client that sends it can only deny itself forwarding (it gets
 * the 404 it would get without a cluster). The forwarded request is built afresh: method, the
 * client's target (already checked to be visible ASCII), our validated Host, our own loop guard;
 * no client field is copied, so nothing a client sends reaches a holder as ours. {@code X-Baton-Via}
 * is only ever a response field, added by the node that relayed. Nothing else in a request changes
 * what a node trusts.
 *
 * <p><b>Paths.</b> Files are looked up by the parser's normalised path ({@link RequestParser#path()},
 * the same key the BTCP routed by), resolved by {@link #resolve(Path, String)}; a target the parser
 * refuses ({@link RequestParser#pathRefused()}) is a 400 whatever the method.
 */
final class Connection implements Runnable {
    private static final Logger LOG = LoggerFactory.getLogger(Connection.class);

    private static final int BUFFER_BYTES = 16 * 1024;
    /** Longest chunk-size line, trailer line or back-end header line. */
    private static final int MAX_LINE = 8192;
    /** Most trailer fields after a chunked body, and most header fields from a back end. */
    private static final int MAX_FIELDS = 100;
    /** Bytes per {@code transferTo} call, so the write watchdog sees progress. */
    private static final long TRANSFER_CHUNK = 1 << 20;
    /** Size of the piece written when the socket is full (see {@link #transfer}). */
    private static final int SPARE_BYTES = 16 * 1024;
    /**
     * Long enough for a SYN's first three retransmissions (sent 1, 3 and 7 s after it: RFC 6298's
     * initial RTO of 1 s, doubled). At 2 s, two lost exchanges in a row failed the fetch with a 502:
     * "Connect timed out" 2.005 s after a fallback under FaultedLoadIT's 5% loss on every node. A
     * holder that refuses still fails at once.
     */
    private static final int FORWARD_CONNECT_TIMEOUT_MS = 10_000;

    private static final int FORWARD_READ_TIMEOUT_MS = 10_000;
    /** Interim (1xx) responses skipped from a back end before giving up. */
    private static final int MAX_INTERIM = 4;
    /** How long and how much to drain after our FIN, so unread input does not turn into a RST. */
    private static final long LINGER_NANOS = TimeUnit.SECONDS.toNanos(2);

    private static final int LINGER_MAX_BYTES = 256 * 1024;

    private static final DateTimeFormatter IMF_FIXDATE = DateTimeFormatter.ofPattern(
                    "EEE, dd MMM yyyy HH:mm:ss 'GMT'", Locale.US)
            .withZone(ZoneOffset.UTC);
    private static volatile CachedDate cachedDate = new CachedDate(0, "");

    private record CachedDate(long epochSecond, String text) {}

    private final SocketChannel ch;
    private final Config cfg;
    private final Path docroot;
    private final Counters counters;
    private final RequestParser parser = new RequestParser();
    private final int idleMillis;
    private final long headNanos;
    private final int ioMillis;
    private final long ioNanos;
    private Input in;
    /** Buffer for {@link #transfer} when the socket is full; allocated on first need. */
    private ByteBuffer spare;
    /** Request version for the response's Connection header: 11 until a head was parsed. */
    private int version = 11;
    /** {@code System.nanoTime()} by which the current write must progress; 0 when not writing. */
    private volatile long writeDeadline;

    Connection(SocketChannel ch, Config cfg, Path docroot, Counters counters) {
        this.ch = ch;
        this.cfg = cfg;
        this.docroot = docroot;
        this.counters = counters;
        this.idleMillis = (int) cfg.idleTimeout().toMillis();
        this.headNanos = cfg.headTimeout().toNanos();
        this.ioMillis = (int) cfg.ioTimeout().toMillis();
        this.ioNanos = cfg.ioTimeout().toNanos();
    }

    /**
     * Ends the connection now, from any thread: a blocked read or write fails at once, and the peer
     * gets a RST (unsent data is dropped). Shutting the output down first matters: a virtual thread
     * parked in {@code transferTo} (sendfile) is not woken by {@code close()} alone (measured on
     * JDK 25), but is by the shutdown, which makes the socket writable and the next sendfile fail.
     */
    void abort() {
        try {
            ch.setOption(StandardSocketOptions.SO_LINGER, 0);
            ch.shutdownOutput();
        } catch (IOException | RuntimeException e) {
            // already closed or never connected: close anyway
        }
        StaticServer.closeQuietly(ch);
    }

    void abortIfWriteStalled(long nowNanos) {
        long d = writeDeadline;
        if (d != 0 && nowNanos - d > 0) abort();
    }

    @Override
    public void run() {
        try {
            ch.setOption(StandardSocketOptions.TCP_NODELAY, true);
            in = new Input(ch.socket(), BUFFER_BYTES);
            boolean keepAlive = true;
            while (keepAlive) {
                Result r = readHead();
                if (r == null) return; // peer closed, idle timeout, or head timeout
                counters.requests.increment();
                keepAlive = r == Result.INVALID ? rejectInvalid() : respond();
            }
            lingeringClose();
        } catch (IOException e) {
            LOG.debug("connection ended: {}", e.toString());
        } catch (RuntimeException e) {
            LOG.warn("connection failed", e);
        } finally {
            StaticServer.closeQuietly(ch); // graceful: data already queued still reaches the client
        }
    }

    /**
     * Reads one request head: waits up to the idle timeout for its first byte, then up to the head
     * timeout for the rest, however the bytes trickle in (the deadline is fixed at the first byte, so
     * a client sending one byte a second cannot hold the connection longer). Bytes after the head
     * stay in {@link #in} (body or pipelined request).
     *
     * @return COMPLETE or INVALID, or null if the connection should just be closed
     */
    private Result readHead() throws IOException {
        parser.reset();
        long deadline = 0;
        while (true) {
            if (in.available() > 0) {
                if (deadline == 0) deadline = System.nanoTime() + headNanos;
                Result r = parser.feed(in.buf, in.pos, in.available());
                in.pos += parser.lastFeedConsumed();
                if (r == Result.COMPLETE) version = parser.version();
                if (r != Result.NEED_MORE) return r;
            }
            long timeout = deadline == 0 ? idleMillis : TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
            if (timeout <= 0) return headTimedOut();
            try {
                if (!in.fill((int) timeout)) return null;
            } catch (SocketTimeoutException e) {
                return deadline == 0 ? null : headTimedOut();
            }
        }
    }

    private Result headTimedOut() {
        counters.headTimeouts.increment();
        return null;
    }

    /** 400, 414 or 431 for a head the parser rejected; the connection then closes. */
    private boolean rejectInvalid() throws IOException {
        Invalid why = parser.invalidReason();
        int status = switch (why) {
            case TOO_LARGE, TOO_MANY_HEADERS -> 431;
            case TARGET_TOO_LONG -> 414;
            default -> 400;
        };
        counters.badRequest.increment();
        sendSimple(status, false, false, "");
        return false;
    }

    /** Answers one parsed request; returns whether the connection stays open. */
    private boolean respond() throws IOException {
        String method = parser.method();
        boolean keepAlive = parser.keepAlive();
        boolean hasBody = parser.chunked() || parser.contentLength() > 0;
        if (parser.version() == 11 && parser.host() == null) {
            return badRequest(); // RFC 9112 §3.2: MUST answer 400 to an HTTP/1.1 request without Host
        }
        if (parser.pathRefused()) {
            return badRequest(); // '..' above the root, bad escapes, invalid UTF-8: see RequestParser
        }
        return switch (method) {
            case "POST", "PUT" -> upload(keepAlive);
            case "GET", "HEAD" -> {
                if (parser.path() == null) yield badRequest();
                // A body on GET/HEAD is not read: close after the response instead of parsing it.
                yield get(method.equals("HEAD"), keepAlive && !hasBody);
            }
            default -> {
                boolean stay = keepAlive && !hasBody;
                sendSimple(405, stay, method.equals("HEAD"), "Allow: GET, HEAD, POST, PUT\r\n");
                yield stay;
            }
        };
    }

    private boolean badRequest() throws IOException {
        counters.badRequest.increment();
        sendSimple(400, false, parser.method().equals("HEAD"), "");
        return false;
    }

    // ------------------------------------------------------------------ GET / HEAD

    private boolean get(boolean headOnly, boolean keepAlive) throws IOException {
        String path = parser.path();
        Path file = resolve(docroot, path);
        if (file == null) {
            BackendLocator locator = cfg.locator();
            if (locator != null && parser.header("X-Baton-Forwarded") == null) {
                InetSocketAddress holder = locator.holderOf(path);
                if (holder != null) return forward(holder, headOnly, keepAlive);
            }
            counters.notFound.increment();
            sendSimple(404, keepAlive, headOnly, "");
            return keepAlive;
        }
        FileChannel fc;
        try {
            fc = FileChannel.open(file, StandardOpenOption.READ);
        } catch (IOException e) { // removed or unreadable since resolve()
            counters.notFound.increment();
            sendSimple(404, keepAlive, headOnly, "");
            return keepAlive;
        }
        try (fc) {
            long size = fc.size();
            StringBuilder h = statusLine(200);
            h.append("Content-Type: ")
                    .append(ContentTypes.of(file.getFileName().toString()))
                    .append("\r\n");
            h.append("Content-Length: ").append(size).append("\r\n");
            endHead(h, keepAlive);
            counters.served200.increment(); // counted when committed, before the client can see it
            write(ByteBuffer.wrap(h.toString().getBytes(StandardCharsets.ISO_8859_1)));
            if (!headOnly) transfer(fc, size);
        }
        return keepAlive;
    }

    /**
     * The regular file a routing path names under the document root, or null. Symbolic links are
     * resolved ({@code toRealPath}) and the result must still lie under the (real) document root, so
     * no link can lead outside it (a link inside the root to a file inside it is followed). A
     * directory stands for its {@code index.html}. Any string is safe here, normalised or not: the
     * check is on the resolved real path, component by component ({@code Path.startsWith}).
     *
     * @param docroot the document root as a real path ({@code toRealPath()})
     * @param path    a routing path; anything not starting with '/' names nothing
     */
    static Path resolve(Path docroot, String path) {
        if (path == null || !path.startsWith("/")) return null;
        boolean wantsDirectory = path.length() > 1 && path.endsWith("/");
        Path real;
        try {
            real = underDocroot(docroot, docroot.resolve(path.substring(1)));
        } catch (InvalidPathException e) {
            return null;
        }
        if (real == null) return null;
        if (Files.isDirectory(real)) {
            real = underDocroot(docroot, real.resolve("index.html"));
        } else if (wantsDirectory) {
            return null;
        }
        return real != null && Files.isRegularFile(real) ? real : null;
    }

    private static Path underDocroot(Path docroot, Path p) {
        try {
            Path real = p.toRealPath();
            return real.startsWith(docroot) ? real : null;
        } catch (IOException e) {
            return null;
        }
    }

    /**
     * Sends {@code size} bytes of the file with sendfile, in chunks so the watchdog sees progress.
     *
     * <p>On a virtual thread the socket is non-blocking underneath, and {@code transferTo} returns 0
     * when the socket buffer is full instead of waiting (measured on JDK 25: a busy loop). Then one
     * small piece goes through a blocking {@code write}, which parks the thread until the peer reads;
     * sendfile resumes after it.
     */
    private void transfer(FileChannel fc, long size) throws IOException {
        long pos = 0;
        try {
            while (pos < size) {
                armWrite(); // re-armed per chunk: the bound is on progress, not on the whole file
                long n = fc.transferTo(pos, Math.min(TRANSFER_CHUNK, size - pos), ch);
                if (n > 0) {
                    pos += n;
                    continue;
                }
                if (spare == null) spare = ByteBuffer.allocateDirect(SPARE_BYTES);
                spare.clear().limit((int) Math.min(SPARE_BYTES, size - pos));
                if (fc.read(spare, pos) <= 0) throw new EOFException("file shrank while being sent");
                spare.flip();
                pos += spare.remaining();
                while (spare.hasRemaining()) ch.write(spare);
            }
        } finally {
            writeDeadline = 0;
        }
    }

    // ------------------------------------------------------------------ POST / PUT

    /** Reads the body, answers its length and SHA-256 (nothing is stored). */
    private boolean upload(boolean keepAlive) throws IOException {
        long length = parser.contentLength();
        boolean chunked = parser.chunked();
        if (length > StaticServer.MAX_BODY_BYTES) {
            sendSimple(413, false, false, "");
            return false;
        }
        String expect = parser.header("Expect");
        if (expect != null && expect.equalsIgnoreCase("100-continue") && version == 11 && (chunked || length > 0)) {
            write(ByteBuffer.wrap("HTTP/1.1 100 Continue\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1)));
        }
        MessageDigest sha = sha256();
        long bytes;
        try {
            if (chunked) {
                bytes = readChunked(sha);
            } else {
                bytes = Math.max(length, 0); // neither header: no body (RFC 9112 §6.3)
                in.digest(bytes, sha, ioMillis);
            }
        } catch (BodyTooLarge e) {
            sendSimple(413, false, false, "");
            return false;
        } catch (ProtocolException e) {
            counters.badRequest.increment();
            sendSimple(400, false, false, "");
            return false;
        }
        counters.uploads.increment();
        String json = "{\"bytes\":" + bytes + ",\"sha256\":\"" + HexFormat.of().formatHex(sha.digest()) + "\"}";
        sendBody(200, keepAlive, false, "application/json", json);
        return keepAlive;
    }

    /** chunked-body per RFC 9112 §7.1: chunk-size [ chunk-ext ] CRLF data CRLF ... 0 CRLF trailers CRLF. */
    private long readChunked(MessageDigest sha) throws IOException {
        long total = 0;
        while (true) {
            String line = in.readLine(MAX_LINE, ioMillis);
            int semicolon = line.indexOf(';');
            long size = parseHex((semicolon < 0 ? line : line.substring(0, semicolon)).strip());
            if (size == 0) break;
            total += size;
            if (total > StaticServer.MAX_BODY_BYTES) throw new BodyTooLarge();
            in.digest(size, sha, ioMillis);
            if (!in.readLine(2, ioMillis).isEmpty()) throw new ProtocolException("chunk data not followed by CRLF");
        }
        for (int fields = 0; ; fields++) { // trailer section, ignored
            if (in.readLine(MAX_LINE, ioMillis).isEmpty()) return total;
            if (fields == MAX_FIELDS) throw new ProtocolException("too many trailer fields");
        }
    }

    private static long parseHex(String s) throws ProtocolException {
        if (s.isEmpty() || s.length() > 15) throw new ProtocolException("bad chunk-size: " + s);
        long v = 0;
        for (int i = 0; i < s.length(); i++) {
            int d = Character.digit(s.charAt(i), 16);
            if (d < 0) throw new ProtocolException("bad chunk-size: " + s);
            v = v << 4 | d;
        }
        return v;
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has SHA-256", e);
        }
    }

    /** A body over {@link StaticServer#MAX_BODY_BYTES}. */
    private static final class BodyTooLarge extends IOException {
        @Serial
        private static final long serialVersionUID = 1L;
    }

    // ------------------------------------------------------------------ back-end forwarding

    /** Fetches the target from {@code holder} and relays the response; see the class Javadoc. */
    private boolean forward(InetSocketAddress holder, boolean headOnly, boolean keepAlive) throws IOException {
        boolean relaying = false;
        try (Socket s = new Socket()) {
            s.connect(holder, FORWARD_CONNECT_TIMEOUT_MS);
            s.setTcpNoDelay(true);
            String host = parser.host() != null ? parser.host() : holder.getHostString() + ":" + holder.getPort();
            String request = (headOnly ? "HEAD " : "GET ") + parser.target() + " HTTP/1.1\r\n"
                    + "Host: " + host + "\r\n"
                    + "X-Baton-Forwarded: 1\r\n"
                    + "Connection: close\r\n\r\n";
            s.getOutputStream().write(request.getBytes(StandardCharsets.ISO_8859_1));

            Input holderIn = new Input(s, BUFFER_BYTES);
            HolderHead holderHead = readHolderHead(holderIn);
            int status = holderHead.status();
            boolean noBody = headOnly || status == 204 || status == 304;
            boolean untilEof = !noBody && (holderHead.transferEncoding() || holderHead.contentLength() < 0);
            // Close-delimited (RFC 9112 §6.3 item 8): only closing can end the body for our client too.
            // A chunked body relayed until the holder's close is self-delimiting: the client stays.
            boolean stay = keepAlive && !(untilEof && !holderHead.transferEncoding());

            StringBuilder h = new StringBuilder(512);
            String statusLine = holderHead.statusLine();
            h.append("HTTP/1.1")
                    .append(statusLine, statusLine.indexOf(' '), statusLine.length())
                    .append("\r\n");
            for (String field : holderHead.fields()) h.append(field).append("\r\n");
            h.append("X-Baton-Via: ").append(cfg.nodeName()).append("\r\n");
            endHead(h, stay);

            relaying = true;
            counters.forwarded.increment(); // counted when committed; a relay cut short also counts as failed
            write(ByteBuffer.wrap(h.toString().getBytes(StandardCharsets.ISO_8859_1)));
            if (!noBody) relayBody(holderIn, untilEof ? Long.MAX_VALUE : holderHead.contentLength());
            return stay;
        } catch (IOException | IllegalArgumentException e) {
            counters.forwardFailed.increment();
            LOG.warn("forwarding to {} failed: {}", holder, e.toString()); // the client gets a 502
            if (relaying || !ch.isOpen()) return false; // framing toward the client is broken: close
            sendSimple(502, keepAlive, headOnly, "");
            return keepAlive;
        }
    }

    /**
     * A back end's final response head.
     *
     * @param fields           field lines to relay: hop-by-hop Connection, Keep-Alive and
     *                         Proxy-Connection dropped (RFC 9110 §7.6.1)
     * @param contentLength    -1 if absent
     * @param transferEncoding whether a Transfer-Encoding field was present
     */
    private record HolderHead(
            String statusLine, int status, List<String> fields, long contentLength, boolean transferEncoding) {}

    /** Reads the holder's response head, skipping a few interim 1xx responses; bounded in size. */
    private static HolderHead readHolderHead(Input from) throws IOException {
        for (int interim = 0; interim <= MAX_INTERIM; interim++) {
            String statusLine = from.readLine(MAX_LINE, FORWARD_READ_TIMEOUT_MS);
            int status = parseStatus(statusLine);
            List<String> fields = new ArrayList<>();
            long length = -1;
            boolean transferEncoding = false;
            for (String line = from.readLine(MAX_LINE, FORWARD_READ_TIMEOUT_MS);
                    !line.isEmpty();
                    line = from.readLine(MAX_LINE, FORWARD_READ_TIMEOUT_MS)) {
                if (fields.size() == MAX_FIELDS) throw new ProtocolException("too many header fields from back end");
                int colon = line.indexOf(':');
                if (colon <= 0) throw new ProtocolException("bad header field from back end");
                switch (line.substring(0, colon).strip().toLowerCase(Locale.ROOT)) {
                    case "connection", "keep-alive", "proxy-connection" -> {
                        continue;
                    }
                    case "content-length" -> {
                        long n = parseLength(line);
                        if (length >= 0 && n != length)
                            throw new ProtocolException("conflicting Content-Length from back end");
                        length = n;
                    }
                    case "transfer-encoding" -> transferEncoding = true;
                    default -> {}
                }
                fields.add(line);
            }
            if (status >= 200) return new HolderHead(statusLine, status, fields, length, transferEncoding);
        }
        throw new ProtocolException("too many interim responses from back end");
    }

    /** status-line = HTTP-version SP status-code SP [ reason-phrase ] (RFC 9112 §4). */
    private static int parseStatus(String line) throws ProtocolException {
        if (line.length() < 12 || !line.startsWith("HTTP/1.") || line.charAt(8) != ' ') {
            throw new ProtocolException("bad status line from back end");
        }
        try {
            int status = Integer.parseInt(line.substring(9, 12));
            if (status < 100 || status > 599 || (line.length() > 12 && line.charAt(12) != ' '))
                throw new NumberFormatException();
            return status;
        } catch (NumberFormatException e) {
            throw new ProtocolException("bad status code from back end");
        }
    }

    private static long parseLength(String line) throws ProtocolException {
        String v = line.substring(line.indexOf(':') + 1).strip();
        if (v.isEmpty() || v.length() > 18 || !v.chars().allMatch(c -> c >= '0' && c <= '9')) {
            throw new ProtocolException("bad Content-Length from back end");
        }
        return Long.parseLong(v);
    }

    /** Relays {@code length} body bytes (or up to end of stream for Long.MAX_VALUE) to the client. */
    private void relayBody(Input from, long length) throws IOException {
        long left = length;
        while (left > 0) {
            if (from.available() == 0 && !from.fill(FORWARD_READ_TIMEOUT_MS)) {
                if (length == Long.MAX_VALUE) return;
                throw new EOFException("back end closed before Content-Length bytes");
            }
            int take = (int) Math.min(left, from.available());
            write(ByteBuffer.wrap(from.buf, from.pos, take));
            from.pos += take;
            left -= take;
        }
    }

    // ------------------------------------------------------------------ responses

    private StringBuilder statusLine(int status) {
        StringBuilder h = new StringBuilder(256);
        h.append("HTTP/1.1 ").append(status).append(' ').append(reason(status)).append("\r\n");
        h.append("Date: ").append(httpDate()).append("\r\n");
        h.append("Server: baton\r\n");
        h.append("X-Baton-Node: ").append(cfg.nodeName()).append("\r\n");
        return h;
    }

    /** Persistence signalling per RFC 9112 §9.3 and §9.6. */
    private void endHead(StringBuilder h, boolean keepAlive) {
        if (!keepAlive) h.append("Connection: close\r\n");
        else if (version == 10) h.append("Connection: keep-alive\r\n");
        h.append("\r\n");
    }

    private void sendSimple(int status, boolean keepAlive, boolean headOnly, String extraHeaders) throws IOException {
        StringBuilder h = statusLine(status).append(extraHeaders);
        sendBody(keepAlive, headOnly, "text/plain; charset=utf-8", status + " " + reason(status) + "\n", h);
    }

    private void sendBody(int status, boolean keepAlive, boolean headOnly, String type, String body)
            throws IOException {
        sendBody(keepAlive, headOnly, type, body, statusLine(status));
    }

    /** {@code h}: the head so far, its status line included. */
    private void sendBody(boolean keepAlive, boolean headOnly, String type, String body, StringBuilder h)
            throws IOException {
        byte[] b = body.getBytes(StandardCharsets.UTF_8);
        h.append("Content-Type: ").append(type).append("\r\n");
        h.append("Content-Length: ").append(b.length).append("\r\n");
        endHead(h, keepAlive);
        if (!headOnly) h.append(body);
        write(ByteBuffer.wrap(h.toString().getBytes(StandardCharsets.UTF_8)));
    }

    private static String reason(int status) {
        return switch (status) {
            case 200 -> "OK";
            case 400 -> "Bad Request";
            case 404 -> "Not Found";
            case 405 -> "Method Not Allowed";
            case 413 -> "Content Too Large";
            case 414 -> "URI Too Long";
            case 431 -> "Request Header Fields Too Large";
            case 502 -> "Bad Gateway";
            default -> "Unknown";
        };
    }

    /** IMF-fixdate (RFC 9110 §5.6.7), formatted at most once a second. */
    private static String httpDate() {
        long now = System.currentTimeMillis() / 1000;
        CachedDate c = cachedDate;
        if (c.epochSecond() != now) {
            c = new CachedDate(now, IMF_FIXDATE.format(Instant.ofEpochSecond(now)));
            cachedDate = c;
        }
        return c.text();
    }

    private void write(ByteBuffer b) throws IOException {
        try {
            while (b.hasRemaining()) {
                armWrite();
                ch.write(b);
            }
        } finally {
            writeDeadline = 0;
        }
    }

    private void armWrite() {
        long d = System.nanoTime() + ioNanos;
        writeDeadline = d == 0 ? 1 : d;
    }

    /**
     * Half-closes, then reads and discards what the client still sends for a short while: closing
     * with unread input would send a RST that can destroy the response in flight (RFC 9112 §9.6).
     */
    private void lingeringClose() {
        try {
            ch.shutdownOutput();
            long deadline = System.nanoTime() + LINGER_NANOS;
            int drained = 0;
            while (drained < LINGER_MAX_BYTES) {
                long left = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
                if (left <= 0) return;
                drained += in.available();
                in.pos = in.lim;
                if (!in.fill((int) left)) return;
            }
        } catch (IOException e) {
            // timeout or reset: closing anyway
        }
    }
}
