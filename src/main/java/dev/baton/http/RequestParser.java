package dev.baton.http;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Locale;
import java.util.Objects;

/**
 * Incremental, resumable parser of an HTTP/1.x request head (request line, header fields, up to the
 * empty line), RFC 9112 §2-§5.
 *
 * <p>Used on the packet path by the entry node's BTCP (the request arrives in TCP segments split
 * anywhere) and by the built-in server. It is an explicit state machine over bytes: {@link #feed}
 * may be called with any number of segments of any size, and gives the same result as one feed of
 * the whole head. Feeding never allocates; the few result Strings are built once, at
 * {@link Result#COMPLETE}. One parser is reused across requests with {@link #reset()}.
 *
 * <p>Limits (documented, all bounded):
 * <ul>
 *   <li>{@code maxHeadBytes}: every byte consumed counts, including tolerated leading empty lines and
 *       the final CRLFCRLF; exceeding it gives {@link Invalid#TOO_LARGE} (or
 *       {@link Invalid#TARGET_TOO_LONG} while inside the request-target);</li>
 *   <li>{@code maxHeaders}: header field lines; one more gives {@link Invalid#TOO_MANY_HEADERS}.</li>
 * </ul>
 *
 * <p>Syntax accepted: CRLF or bare LF line ends and any number of empty lines before the request
 * line (RFC 9112 §2.2); method of tchar (RFC 9110 §5.6.2); request-target of VCHAR without '#';
 * HTTP/1.0 and HTTP/1.1 only. Rejected: NUL anywhere, bare CR, obs-fold and whitespace-led lines
 * (RFC 9112 §5.2, §2.2), whitespace before the colon (RFC 9112 §5.1), control characters in values,
 * duplicate Host (RFC 9112 §3.2), malformed or conflicting Content-Length, Transfer-Encoding not
 * ending in chunked or combined with Content-Length (RFC 9112 §6.1, §6.3).
 *
 * <p>A malformed request is a result ({@link Result#INVALID} with {@link #invalidReason()}), never an
 * exception: the caller serves it locally and lets the server answer 400. A well-formed request whose
 * target cannot be routed (bad percent-encoding, decoded NUL, invalid UTF-8, a path climbing above
 * root) is still {@link Result#COMPLETE} with {@link #path()} null and {@link #pathRefused()} true.
 *
 * <p><b>Hostile requests: the rule for each.</b> Every decision is a function of the bytes alone (no
 * clock, no state beyond this head), so the same bytes split into any segments get the same
 * decision. "Local" means the entry node serves the request itself ({@link #routable()} false), and
 * its server answers; the built-in server's status is given.
 * <table>
 *   <caption>hostile inputs</caption>
 *   <tr><th>input</th><th>parser</th><th>routing</th><th>built-in server</th></tr>
 *   <tr><td>two or more Host fields (any case, even equal values)</td><td>INVALID
 *       {@link Invalid#DUPLICATE_HOST} (RFC 9112 §3.2)</td><td>local</td><td>400</td></tr>
 *   <tr><td>no Host, HTTP/1.1</td><td>COMPLETE, {@link #host()} null</td><td>local (the server MUST
 *       answer 400, RFC 9112 §3.2: no handoff is spent on it)</td><td>400</td></tr>
 *   <tr><td>no Host, HTTP/1.0</td><td>COMPLETE</td><td>by path</td><td>by path</td></tr>
 *   <tr><td>Host with a byte outside uri-host/port (space, '/', '@', '')</td><td>INVALID
 *       {@link Invalid#BAD_HEADER}</td><td>local</td><td>400</td></tr>
 *   <tr><td>absolute-form {@code GET http://other/x}</td><td>COMPLETE: path from the target, host
 *       from its authority, the Host field ignored (RFC 9112 §3.2.2); userinfo or a scheme other than
 *       http(s) is {@link Invalid#BAD_TARGET}</td><td>by path</td><td>serves {@code /x}</td></tr>
 *   <tr><td>head over {@code maxHeadBytes}</td><td>INVALID {@link Invalid#TARGET_TOO_LONG} while in the
 *       target, else {@link Invalid#TOO_LARGE}; more than {@code maxHeaders} fields
 *       {@link Invalid#TOO_MANY_HEADERS}</td><td>local</td><td>414 / 431</td></tr>
 *   <tr><td>{@code ..} and {@code .} segments, raw or as {@code %2e}; {@code %2f}</td><td>percent-decoded
 *       first (so {@code %2e%2e} is {@code ..} and {@code %2f} is a separator), then RFC 3986 §5.2.4
 *       remove_dot_segments and empty segments merged; a {@code ..} above the root makes
 *       {@link #path()} null and {@link #pathRefused()} true (never clamped)</td><td>by the normalised
 *       path; local when refused</td><td>the normalised path, inside the document root; 400 when
 *       refused</td></tr>
 *   <tr><td>backslash, raw or {@code %5c}</td><td>an ordinary path byte (not a separator: the nodes
 *       are POSIX)</td><td>by path</td><td>a file name containing '' (404)</td></tr>
 *   <tr><td>{@code %252e%252e} (double encoding)</td><td>decoded once: a segment named {@code %2e%2e}</td>
 *       <td>by path</td><td>404</td></tr>
 *   <tr><td>NUL byte anywhere</td><td>INVALID {@link Invalid#NUL_BYTE}</td><td>local</td><td>400</td></tr>
 *   <tr><td>{@code %00}, bad {@code %} escape, invalid UTF-8 after decoding</td><td>COMPLETE,
 *       {@link #pathRefused()}</td><td>local</td><td>400</td></tr>
 *   <tr><td>byte &ge; 0x80 or a control byte in the target</td><td>INVALID {@link Invalid#BAD_TARGET}</td>
 *       <td>local</td><td>400</td></tr>
 *   <tr><td>byte &ge; 0x80 in a field value (obs-text)</td><td>COMPLETE, kept as ISO-8859-1</td><td>by
 *       path</td><td>by path</td></tr>
 *   <tr><td>control byte in a field value, bare CR</td><td>INVALID {@link Invalid#BAD_HEADER},
 *       {@link Invalid#BARE_CR}</td><td>local</td><td>400</td></tr>
 *   <tr><td>bare LF line ends</td><td>accepted (RFC 9112 §2.2)</td><td>by path</td><td>by path</td></tr>
 *   <tr><td>obs-fold</td><td>INVALID {@link Invalid#OBS_FOLD}</td><td>local</td><td>400</td></tr>
 *   <tr><td>head that never ends (no empty line)</td><td>NEED_MORE until {@code maxHeadBytes}, then
 *       INVALID</td><td>local once the BTCP's request timeout (5 s from the handshake) passes</td><td>closes
 *       the connection after its head timeout</td></tr>
 *   <tr><td>Content-Length over 18 digits, negative, or conflicting</td><td>INVALID
 *       {@link Invalid#BAD_CONTENT_LENGTH}</td><td>local</td><td>400</td></tr>
 *   <tr><td>huge but valid Content-Length</td><td>COMPLETE</td><td>by path</td><td>413 for POST/PUT over
 *       1 GiB</td></tr>
 *   <tr><td>Transfer-Encoding with Content-Length, or not ending in chunked</td><td>INVALID
 *       {@link Invalid#BAD_TRANSFER_ENCODING}</td><td>local</td><td>400</td></tr>
 *   <tr><td>HTTP/0.9 ({@code GET /x} CRLF), HTTP/2 preface ({@code PRI * HTTP/2.0})</td><td>INVALID
 *       {@link Invalid#BAD_REQUEST_LINE}, {@link Invalid#BAD_VERSION}</td><td>local</td><td>400</td></tr>
 *   <tr><td>pipelined requests</td><td>parsing stops at the first head's end</td><td>by the first
 *       request; later ones go to the node serving the connection</td><td>answered in order (back-end
 *       forwarding for paths it lacks)</td></tr>
 *   <tr><td>lowercase method {@code get}</td><td>COMPLETE: methods are case-sensitive tokens (RFC 9110
 *       §9.1), so {@code get} is not GET</td><td>by path</td><td>405</td></tr>
 * </table>
 */
public final class RequestParser {

    /** Outcome of {@link #feed}. */
    public enum Result {
        /** The head is not complete yet: every byte given was consumed. */
        NEED_MORE,
        /** The head is complete: {@link #headBytes()} bytes were consumed in total; results are valid. */
        COMPLETE,
        /** The head is malformed or over a limit: see {@link #invalidReason()}. */
        INVALID
    }

    /** Default limit of the head size in bytes (the same order as nginx and Apache defaults). */
    public static final int DEFAULT_MAX_HEAD_BYTES = 8192;
    /** Default limit of the number of header field lines (Apache's LimitRequestFields). */
    public static final int DEFAULT_MAX_HEADERS = 100;

    private static final byte CR = '\r';
    private static final byte LF = '\n';
    private static final byte SP = ' ';
    private static final byte HTAB = '\t';

    // States of the machine; the comments name the RFC 9112 grammar element being read.
    private static final int S_LEADING = 0; // before request-line, empty lines tolerated (§2.2)
    private static final int S_LEADING_LF = 1; // CR seen in an empty leading line
    private static final int S_METHOD = 2; // method = token
    private static final int S_TARGET_FIRST = 3; // first byte of request-target
    private static final int S_TARGET = 4; // request-target
    private static final int S_VERSION = 5; // HTTP-version
    private static final int S_LINE_LF = 6; // CR seen after HTTP-version
    private static final int S_FIELD_START = 7; // start of a field line, or of the final empty line
    private static final int S_NAME = 8; // field-name = token
    private static final int S_VALUE = 9; // OWS field-value OWS
    private static final int S_VALUE_LF = 10; // CR seen after a field value
    private static final int S_END_LF = 11; // CR seen on the final empty line
    private static final int S_DONE = 12;
    private static final int S_FAILED = 13;

    /** tchar per RFC 9110 §5.6.2. */
    private static final boolean[] TCHAR = new boolean[256];

    static {
        for (int c = '0'; c <= '9'; c++) TCHAR[c] = true;
        for (int c = 'a'; c <= 'z'; c++) TCHAR[c] = true;
        for (int c = 'A'; c <= 'Z'; c++) TCHAR[c] = true;
        for (char c : "!#$%&'*+-.^_`|~".toCharArray()) TCHAR[c] = true;
    }

    private final int maxHeadBytes;
    private final int maxHeaders;

    /** The head as received, from the first byte of the request line (leading empty lines not kept). */
    private final byte[] head;

    private final int[] nameStart;
    private final int[] nameEnd;
    private final int[] valueStart;
    private final int[] valueEnd;

    private int state;
    private int consumed;
    private int lastFeedConsumed;
    private int stored;
    private int headerCount;
    private int methodEnd;
    private int targetStart;
    private int targetEnd;
    private int versionStart;
    private Invalid invalid;

    // Results, built at COMPLETE.
    private String method;
    private String target;
    private String path;
    private String query;
    private String host;
    private boolean pathRefused;
    private int version;
    private boolean keepAlive;
    private boolean chunked;
    private long contentLength;

    /** A parser with {@link #DEFAULT_MAX_HEAD_BYTES} and {@link #DEFAULT_MAX_HEADERS}. */
    public RequestParser() {
        this(DEFAULT_MAX_HEAD_BYTES, DEFAULT_MAX_HEADERS);
    }

    /**
     * @param maxHeadBytes most bytes a head may take, final CRLFCRLF and leading empty lines included
     * @param maxHeaders   most header field lines
     */
    public RequestParser(int maxHeadBytes, int maxHeaders) {
        if (maxHeadBytes < 16) throw new IllegalArgumentException("maxHeadBytes < 16: " + maxHeadBytes);
        if (maxHeaders < 0) throw new IllegalArgumentException("maxHeaders < 0: " + maxHeaders);
        this.maxHeadBytes = maxHeadBytes;
        this.maxHeaders = maxHeaders;
        this.head = new byte[maxHeadBytes];
        this.nameStart = new int[maxHeaders];
        this.nameEnd = new int[maxHeaders];
        this.valueStart = new int[maxHeaders];
        this.valueEnd = new int[maxHeaders];
        reset();
    }

    /** Forgets the current request: the parser is ready for a new head. Does not allocate. */
    public void reset() {
        state = S_LEADING;
        consumed = 0;
        lastFeedConsumed = 0;
        stored = 0;
        headerCount = 0;
        methodEnd = targetStart = targetEnd = versionStart = 0;
        invalid = null;
        method = target = path = query = host = null;
        pathRefused = false;
        version = 0;
        keepAlive = false;
        chunked = false;
        contentLength = -1;
    }

    /**
     * Consumes bytes of the head. Stops right after the final empty line: bytes after it are not
     * consumed ({@link #lastFeedConsumed()} tells how many were), so a pipelined next request can be
     * fed to a fresh parse. After COMPLETE or INVALID, further feeds consume nothing and return the
     * same result until {@link #reset()}.
     */
    public Result feed(byte[] buf, int off, int len) {
        Objects.checkFromIndexSize(off, len, buf.length);
        lastFeedConsumed = 0;
        if (state == S_DONE) return Result.COMPLETE;
        if (state == S_FAILED) return Result.INVALID;
        for (int i = 0; i < len; i++) {
            if (consume(buf[off + i])) return finish(i + 1);
        }
        lastFeedConsumed = len;
        return Result.NEED_MORE;
    }

    /**
     * As {@link #feed(byte[], int, int)}, from {@code src}'s position to its limit (heap or direct, as
     * read from a TUN device); the position advances by the bytes consumed.
     */
    public Result feed(ByteBuffer src) {
        lastFeedConsumed = 0;
        if (state == S_DONE) return Result.COMPLETE;
        if (state == S_FAILED) return Result.INVALID;
        int start = src.position();
        int len = src.remaining();
        for (int i = 0; i < len; i++) {
            if (consume(src.get(start + i))) {
                Result r = finish(i + 1);
                src.position(start + i + 1);
                return r;
            }
        }
        lastFeedConsumed = len;
        src.position(start + len);
        return Result.NEED_MORE;
    }

    /** Takes one byte; true when the parse has ended (complete or failed). */
    private boolean consume(byte b) {
        if (++consumed > maxHeadBytes) {
            fail(state == S_TARGET || state == S_TARGET_FIRST ? Invalid.TARGET_TOO_LONG : Invalid.TOO_LARGE);
        } else if (b == 0) {
            fail(Invalid.NUL_BYTE);
        } else {
            step(b);
        }
        return state == S_DONE || state == S_FAILED;
    }

    private Result finish(int consumedNow) {
        lastFeedConsumed = consumedNow;
        if (state == S_DONE) complete(); // may still fail on header semantics
        return state == S_DONE ? Result.COMPLETE : Result.INVALID;
    }

    /** One byte through the state machine; {@code b} is never NUL here. */
    private void step(byte b) {
        int c = b & 0xff;
        switch (state) {
            case S_LEADING -> {
                if (b == CR) state = S_LEADING_LF;
                else if (b == LF) {
                    /* empty line before the request line: ignored, RFC 9112 §2.2 */
                } else if (TCHAR[c]) {
                    store(b);
                    state = S_METHOD;
                } else fail(Invalid.BAD_REQUEST_LINE);
            }
            case S_LEADING_LF -> {
                if (b == LF) state = S_LEADING;
                else fail(Invalid.BARE_CR);
            }
            case S_METHOD -> {
                store(b);
                if (TCHAR[c]) return;
                if (b == SP) {
                    methodEnd = stored - 1;
                    targetStart = stored;
                    state = S_TARGET_FIRST;
                } else if (b == CR || b == LF || b == HTAB) fail(Invalid.BAD_REQUEST_LINE);
                else fail(Invalid.BAD_METHOD);
            }
            case S_TARGET_FIRST, S_TARGET -> {
                store(b);
                if (c > 0x20 && c < 0x7f && b != '#') {
                    state = S_TARGET;
                    return;
                }
                if (b == SP && state == S_TARGET) {
                    targetEnd = stored - 1;
                    versionStart = stored;
                    state = S_VERSION;
                } else if (b == SP || b == CR || b == LF || b == HTAB) fail(Invalid.BAD_REQUEST_LINE);
                else fail(Invalid.BAD_TARGET);
            }
            case S_VERSION -> {
                store(b);
                if (c > 0x20 && c < 0x7f) return;
                if (b == CR || b == LF) {
                    checkVersion(stored - 1);
                    if (state != S_FAILED) state = b == CR ? S_LINE_LF : S_FIELD_START;
                } else {
                    fail(Invalid.BAD_REQUEST_LINE);
                }
            }
            case S_LINE_LF, S_VALUE_LF -> {
                store(b);
                if (b == LF) state = S_FIELD_START;
                else fail(Invalid.BARE_CR);
            }
            case S_FIELD_START -> {
                store(b);
                if (b == CR) state = S_END_LF;
                else if (b == LF) state = S_DONE;
                else if (b == SP || b == HTAB) fail(Invalid.OBS_FOLD);
                else if (!TCHAR[c]) fail(Invalid.BAD_HEADER);
                else if (headerCount == maxHeaders) fail(Invalid.TOO_MANY_HEADERS);
                else {
                    nameStart[headerCount] = stored - 1;
                    state = S_NAME;
                }
            }
            case S_NAME -> {
                store(b);
                if (TCHAR[c]) return;
                if (b == ':') {
                    nameEnd[headerCount] = stored - 1;
                    valueStart[headerCount] = -1;
                    valueEnd[headerCount] = stored;
                    state = S_VALUE;
                } else if (b == SP || b == HTAB) {
                    fail(Invalid.SPACE_BEFORE_COLON);
                } else {
                    fail(Invalid.BAD_HEADER);
                }
            }
            case S_VALUE -> {
                store(b);
                int h = headerCount;
                if (b == SP || b == HTAB) return; // OWS; trailing OWS is trimmed through valueEnd
                if (b == CR || b == LF) {
                    if (valueStart[h] < 0) valueStart[h] = valueEnd[h];
                    headerCount++;
                    state = b == CR ? S_VALUE_LF : S_FIELD_START;
                } else if (c < 0x20 || c == 0x7f) {
                    fail(Invalid.BAD_HEADER);
                } else { // field-vchar: VCHAR or obs-text (RFC 9110 §5.5)
                    if (valueStart[h] < 0) valueStart[h] = stored - 1;
                    valueEnd[h] = stored;
                }
            }
            case S_END_LF -> {
                store(b);
                if (b == LF) state = S_DONE;
                else fail(Invalid.BARE_CR);
            }
            default -> throw new IllegalStateException("state " + state);
        }
    }

    private void store(byte b) {
        head[stored++] = b; // cannot overflow: stored <= consumed <= maxHeadBytes == head.length
    }

    private void fail(Invalid reason) {
        invalid = reason;
        state = S_FAILED;
    }

    /** HTTP-version = "HTTP/" DIGIT "." DIGIT; only 1.0 and 1.1 are served (RFC 9112 §2.3). */
    private void checkVersion(int versionEnd) {
        int n = versionEnd - versionStart;
        if (n != 8
                || !startsWith(versionStart, "HTTP/1.")
                || (head[versionStart + 7] != '0' && head[versionStart + 7] != '1')) {
            fail(n == 0 ? Invalid.BAD_REQUEST_LINE : Invalid.BAD_VERSION);
            return;
        }
        version = head[versionStart + 7] == '1' ? 11 : 10;
    }

    private boolean startsWith(int at, String s) {
        for (int k = 0; k < s.length(); k++) {
            if (head[at + k] != s.charAt(k)) return false;
        }
        return true;
    }

    // ---------------------------------------------------------------- COMPLETE: build the results

    /** Builds the results and checks the header semantics; may turn the parse INVALID. */
    private void complete() {
        method = ascii(0, methodEnd);
        target = ascii(targetStart, targetEnd);

        int hostCount = 0;
        boolean close = false;
        boolean keepAliveToken = false;
        String transferEncoding = null;
        for (int h = 0; h < headerCount; h++) {
            if (nameIs(h, "host")) {
                if (++hostCount > 1) {
                    fail(Invalid.DUPLICATE_HOST);
                    return;
                }
                host = headerValue(h).toLowerCase(Locale.ROOT);
                if (!validHost(host)) {
                    fail(Invalid.BAD_HEADER);
                    return;
                }
            } else if (nameIs(h, "content-length")) {
                long n = parseContentLength(headerValue(h));
                if (n < 0 || (contentLength >= 0 && n != contentLength)) {
                    fail(Invalid.BAD_CONTENT_LENGTH);
                    return;
                }
                contentLength = n;
            } else if (nameIs(h, "transfer-encoding")) {
                transferEncoding = transferEncoding == null ? headerValue(h) : transferEncoding + "," + headerValue(h);
            } else if (nameIs(h, "connection")) {
                for (String token : headerValue(h).split(",")) {
                    String t = token.strip();
                    if (t.equalsIgnoreCase("close")) close = true;
                    else if (t.equalsIgnoreCase("keep-alive")) keepAliveToken = true;
                }
            }
        }
        if (transferEncoding != null) {
            // RFC 9112 §6.1: chunked must be the final coding; with Content-Length, or in HTTP/1.0,
            // the framing is faulty. Reject outright: these are request-smuggling vectors.
            String[] codings = transferEncoding.split(",");
            String last = codings.length == 0 ? "" : codings[codings.length - 1].strip();
            if (!last.equalsIgnoreCase("chunked") || contentLength >= 0 || version == 10) {
                fail(Invalid.BAD_TRANSFER_ENCODING);
                return;
            }
            chunked = true;
        }
        keepAlive = version == 11 ? !close : keepAliveToken && !close;
        parseTarget();
    }

    /** Classifies the request-target (RFC 9112 §3.2) and derives path, query and host. */
    private void parseTarget() {
        String pathAndQuery;
        if (target.charAt(0) == '/') {
            if (method.equals("CONNECT")) {
                fail(Invalid.BAD_TARGET);
                return;
            }
            pathAndQuery = target;
        } else if (target.equals("*")) { // asterisk-form, OPTIONS only (§3.2.4)
            if (!method.equals("OPTIONS")) fail(Invalid.BAD_TARGET);
            return;
        } else if (method.equals("CONNECT")) { // authority-form (§3.2.3): host ":" port
            if (target.indexOf('/') >= 0 || target.indexOf('?') >= 0 || target.indexOf('@') >= 0)
                fail(Invalid.BAD_TARGET);
            return;
        } else { // absolute-form (§3.2.2): the target's authority replaces the Host header
            int schemeEnd = target.indexOf("://");
            String scheme = schemeEnd < 0 ? "" : target.substring(0, schemeEnd);
            if (!scheme.equalsIgnoreCase("http") && !scheme.equalsIgnoreCase("https")) {
                fail(Invalid.BAD_TARGET);
                return;
            }
            int authorityStart = schemeEnd + 3;
            int authorityEnd = authorityStart;
            while (authorityEnd < target.length()
                    && target.charAt(authorityEnd) != '/'
                    && target.charAt(authorityEnd) != '?') {
                authorityEnd++;
            }
            String authority = target.substring(authorityStart, authorityEnd).toLowerCase(Locale.ROOT);
            if (authority.isEmpty() || authority.indexOf('@') >= 0 || !validHost(authority)) {
                fail(Invalid.BAD_TARGET);
                return;
            }
            host = authority;
            pathAndQuery = target.substring(authorityEnd);
            if (pathAndQuery.isEmpty() || pathAndQuery.charAt(0) == '?') pathAndQuery = "/" + pathAndQuery;
        }
        int q = pathAndQuery.indexOf('?');
        query = q < 0 ? null : pathAndQuery.substring(q + 1);
        path = normalizePath(q < 0 ? pathAndQuery : pathAndQuery.substring(0, q));
        pathRefused = path == null;
    }

    /**
     * The routing key of an absolute path: percent-decoded (RFC 3986 §2.1) as UTF-8, empty segments
     * merged, dot segments removed (RFC 3986 §5.2.4). Null when the path cannot be routed: bad
     * percent-encoding, a decoded NUL, invalid UTF-8, or ".." above the root (which §5.2.4 would
     * silently clamp; we refuse it, as it is always an attack or a broken client).
     */
    static String normalizePath(String raw) {
        String decoded = percentDecode(raw);
        if (decoded == null) return null;
        ArrayList<String> segments = new ArrayList<>();
        boolean trailingSlash = false;
        int i = 1; // raw starts with '/'
        while (i <= decoded.length()) {
            int slash = decoded.indexOf('/', i);
            int end = slash < 0 ? decoded.length() : slash;
            String segment = decoded.substring(i, end);
            boolean last = slash < 0;
            if (segment.equals("..")) {
                if (segments.isEmpty()) return null;
                segments.removeLast();
                trailingSlash = true;
            } else if (segment.equals(".") || segment.isEmpty()) {
                trailingSlash = true;
            } else {
                segments.add(segment);
                trailingSlash = false;
            }
            if (last) break;
            i = end + 1;
        }
        if (segments.isEmpty()) return "/";
        StringBuilder sb = new StringBuilder(decoded.length());
        for (String s : segments) sb.append('/').append(s);
        if (trailingSlash) sb.append('/');
        return sb.toString();
    }

    /** Percent-decodes as UTF-8; null on a bad escape, a decoded NUL or malformed UTF-8. */
    private static String percentDecode(String raw) {
        if (raw.indexOf('%') < 0) return raw; // the target is ASCII VCHAR already
        byte[] out = new byte[raw.length()];
        int n = 0;
        for (int i = 0; i < raw.length(); i++) {
            char ch = raw.charAt(i);
            if (ch != '%') {
                out[n++] = (byte) ch;
                continue;
            }
            if (i + 2 >= raw.length()) return null;
            int hi = Character.digit(raw.charAt(i + 1), 16);
            int lo = Character.digit(raw.charAt(i + 2), 16);
            if (hi < 0 || lo < 0) return null;
            int v = hi << 4 | lo;
            if (v == 0) return null;
            out[n++] = (byte) v;
            i += 2;
        }
        try {
            return StandardCharsets.UTF_8
                    .newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(out, 0, n))
                    .toString();
        } catch (CharacterCodingException e) {
            return null;
        }
    }

    /** Content-Length = 1*DIGIT, possibly a list of identical values (RFC 9110 §8.6); -1 if bad. */
    private static long parseContentLength(String value) {
        long result = -1;
        for (String element : value.split(",", -1)) {
            String s = element.strip();
            if (s.isEmpty() || s.length() > 18) return -1;
            long n = 0;
            for (int i = 0; i < s.length(); i++) {
                char ch = s.charAt(i);
                if (ch < '0' || ch > '9') return -1;
                n = n * 10 + (ch - '0');
            }
            if (result >= 0 && n != result) return -1;
            result = n;
        }
        return result;
    }

    /** Host = uri-host [ ":" port ] (RFC 9110 §7.2), checked loosely: reg-name, IP literal, port chars. */
    private static boolean validHost(String h) {
        for (int i = 0; i < h.length(); i++) {
            char ch = h.charAt(i);
            boolean ok = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || "-._~!$&'()*+,;=:[]%".indexOf(ch) >= 0;
            if (!ok) return false;
        }
        return true;
    }

    private boolean nameIs(int h, String lowerName) {
        int start = nameStart[h];
        if (nameEnd[h] - start != lowerName.length()) return false;
        for (int k = 0; k < lowerName.length(); k++) {
            int ch = head[start + k];
            if (ch >= 'A' && ch <= 'Z') ch += 'a' - 'A';
            if (ch != lowerName.charAt(k)) return false;
        }
        return true;
    }

    private String ascii(int from, int to) {
        return new String(head, from, to - from, StandardCharsets.ISO_8859_1);
    }

    private void requireComplete() {
        if (state != S_DONE) throw new IllegalStateException("request head not complete");
    }

    // ---------------------------------------------------------------- accessors

    /** Bytes consumed in total, through the final empty line; valid after COMPLETE. */
    public int headBytes() {
        requireComplete();
        return consumed;
    }

    /** Bytes taken from the buffer of the last {@link #feed} call (the rest belongs to the next request). */
    public int lastFeedConsumed() {
        return lastFeedConsumed;
    }

    /** Why the head was rejected; null unless the last result was INVALID. */
    public Invalid invalidReason() {
        return invalid;
    }

    /** Whether the parser has a complete, valid head. */
    public boolean isComplete() {
        return state == S_DONE;
    }

    public String method() {
        requireComplete();
        return method;
    }

    /** The raw request-target as received. */
    public String target() {
        requireComplete();
        return target;
    }

    /**
     * The routing key (see {@link #normalizePath}), or null for asterisk-form, authority-form, or a
     * target that cannot be routed.
     */
    public String path() {
        requireComplete();
        return path;
    }

    /**
     * True when the target is in origin- or absolute-form but its path cannot be routed: a bad
     * percent escape, a decoded NUL, invalid UTF-8, or a {@code ..} above the root. Servers answer
     * such a request 400 whatever its method.
     */
    public boolean pathRefused() {
        requireComplete();
        return pathRefused;
    }

    /**
     * Whether a routing policy may send this request elsewhere: it has a {@link #path()}, and a
     * server would not have to refuse it for its Host (RFC 9112 §3.2: an HTTP/1.1 request without
     * Host MUST get 400; duplicate Host is already INVALID). False means: serve it where it landed,
     * and let that node's server answer. A pure function of the head, so every node and every
     * segmentation of the same bytes gets the same answer.
     */
    public boolean routable() {
        requireComplete();
        return path != null && !(version == 11 && host == null);
    }

    /** The raw query after the first '?', or null if there is none. */
    public String query() {
        requireComplete();
        return query;
    }

    /** Host (lowercased, port kept): from an absolute-form target, else the Host header; null if absent. */
    public String host() {
        requireComplete();
        return host;
    }

    /** 10 for HTTP/1.0, 11 for HTTP/1.1. */
    public int version() {
        requireComplete();
        return version;
    }

    /** Persistence per RFC 9112 §9.3: HTTP/1.1 unless "close"; HTTP/1.0 only with "keep-alive". */
    public boolean keepAlive() {
        requireComplete();
        return keepAlive;
    }

    /** Content-Length, or -1 if absent. */
    public long contentLength() {
        requireComplete();
        return contentLength;
    }

    /** Whether the body is chunked (Transfer-Encoding present; its final coding is then chunked). */
    public boolean chunked() {
        requireComplete();
        return chunked;
    }

    /** Number of header field lines. */
    public int headerCount() {
        requireComplete();
        return headerCount;
    }

    /** Name of the i-th header field, as received. */
    public String headerName(int i) {
        requireComplete();
        Objects.checkIndex(i, headerCount);
        return ascii(nameStart[i], nameEnd[i]);
    }

    /** Value of the i-th header field, without surrounding whitespace. */
    public String headerValue(int i) {
        requireComplete();
        Objects.checkIndex(i, headerCount);
        return new String(head, valueStart[i], valueEnd[i] - valueStart[i], StandardCharsets.ISO_8859_1);
    }

    /** Value of the first header field named {@code name} (case-insensitive), or null. */
    public String header(String name) {
        requireComplete();
        String lower = name.toLowerCase(Locale.ROOT);
        for (int h = 0; h < headerCount; h++) {
            if (nameIs(h, lower)) return headerValue(h);
        }
        return null;
    }
}
