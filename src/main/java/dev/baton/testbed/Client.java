package dev.baton.testbed;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/**
 * HTTP requests from the client namespace with curl, the way a real client would make them
 * (kernel TCP, real checksum verification). Each response body goes to a file, is hashed, then
 * deleted; the serving node comes from the {@code X-Baton-Node} response header.
 *
 * <p>Several paths in one call run in one curl invocation: sequentially they reuse one keep-alive
 * connection ({@link #getKeepAlive}); with {@link #getParallel} up to N transfers run at once, each
 * on its own connection.
 */
public final class Client {
    /** Default limit of one transfer ({@code curl --max-time}). */
    public static final Duration DEFAULT_MAX_TIME = Duration.ofSeconds(30);

    /** curl's per-transfer report, tab separated; see {@link #parseReport}. */
    static final String WRITE_OUT = "%{urlnum}\\t%{exitcode}\\t%{response_code}\\t%{size_download}\\t%{time_total}"
            + "\\t%{num_connects}\\t%header{x-baton-node}\\t%header{x-baton-via}\\t%{errormsg}\\n";

    private static final AtomicLong SEQUENCE = new AtomicLong();

    /**
     * What one transfer did.
     *
     * @param url the URL requested (percent-encoded)
     * @param status HTTP status, 0 if none was received
     * @param bytes body bytes received
     * @param sha256 lower-case hex SHA-256 of the body ("" if no body file was written)
     * @param servedBy the {@code X-Baton-Node} header, "" if absent
     * @param via the {@code X-Baton-Via} header (nginx's fallback proxy), "" if absent
     * @param time total time of the transfer
     * @param newConnections connections curl opened for this transfer (0 when it reused one)
     * @param curlExit curl's exit code for this transfer (0 = success)
     * @param error curl's error message, "" on success
     */
    public record Response(
            String url,
            int status,
            long bytes,
            String sha256,
            String servedBy,
            String via,
            Duration time,
            int newConnections,
            int curlExit,
            String error) {
        /** True when curl completed the transfer (whatever the HTTP status). */
        public boolean ok() {
            return curlExit == 0;
        }
    }

    private final String netns;
    private final Path workDir;
    private final Duration maxTime;

    /**
     * @param netns namespace curl runs in
     * @param workDir folder for the body files (created if missing)
     * @param maxTime limit of one transfer
     */
    public Client(String netns, Path workDir, Duration maxTime) {
        this.netns = netns;
        this.workDir = workDir;
        this.maxTime = maxTime;
    }

    /** GET {@code path} (decoded, e.g. {@code /docs/a b%.txt}) from a node. */
    public Response get(NodeInfo node, String path) {
        return get(node.baseUrl(), path);
    }

    /** GET {@code path} from {@code baseUrl} (e.g. {@code http://10.200.1.1}). */
    public Response get(String baseUrl, String path) {
        return transfer(List.of(), List.of(url(baseUrl, path)), 1).getFirst();
    }

    /** GET a URL exactly as given (already encoded, query included). */
    public Response getUrl(String url) {
        return transfer(List.of(), List.of(url), 1).getFirst();
    }

    /** GETs every path, in order, in one curl invocation: one keep-alive connection for all. */
    public List<Response> getKeepAlive(NodeInfo node, List<String> paths) {
        return transfer(
                List.of(), paths.stream().map(p -> url(node.baseUrl(), p)).toList(), 1);
    }

    /** GETs every path with up to {@code maxParallel} transfers at once; results in path order. */
    public List<Response> getParallel(NodeInfo node, List<String> paths, int maxParallel) {
        List<String> options =
                List.of("--parallel", "--parallel-immediate", "--parallel-max", Integer.toString(maxParallel));
        return transfer(options, paths.stream().map(p -> url(node.baseUrl(), p)).toList(), maxParallel);
    }

    /** POSTs the bytes of {@code body} to {@code path} ({@code --data-binary @file}). */
    public Response post(NodeInfo node, String path, Path body) {
        return transfer(
                        List.of(
                                "--data-binary",
                                "@" + body,
                                "-H",
                                "Content-Type: application/octet-stream",
                                "-H",
                                "Expect:"),
                        List.of(url(node.baseUrl(), path)),
                        1)
                .getFirst();
    }

    /** PUTs the bytes of {@code body} to {@code path} ({@code -T file}). */
    public Response put(NodeInfo node, String path, Path body) {
        return transfer(List.of("-T", body.toString(), "-H", "Expect:"), List.of(url(node.baseUrl(), path)), 1)
                .getFirst();
    }

    /**
     * Percent-encodes a decoded URL path (RFC 3986 section 2): every byte of its UTF-8 form except
     * unreserved characters and {@code /}.
     */
    public static String encodePath(String path) {
        StringBuilder s = new StringBuilder();
        for (byte b : path.getBytes(StandardCharsets.UTF_8)) {
            char c = (char) (b & 0xff);
            if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || "-._~/".indexOf(c) >= 0) {
                s.append(c);
            } else {
                s.append('%').append(String.format("%02X", b & 0xff));
            }
        }
        return s.toString();
    }

    private static String url(String baseUrl, String path) {
        return baseUrl + encodePath(path);
    }

    private List<Response> transfer(List<String> options, List<String> urls, int parallel) {
        createWorkDir();
        long id = SEQUENCE.incrementAndGet();
        List<String> argv = new ArrayList<>(List.of(
                "curl",
                "-sS",
                "--path-as-is",
                "--max-time",
                Long.toString(Math.max(1, maxTime.toSeconds())),
                "-w",
                WRITE_OUT));
        argv.addAll(options);
        List<Path> bodies = new ArrayList<>();
        for (int i = 0; i < urls.size(); i++) {
            Path body = workDir.resolve("body-" + ProcessHandle.current().pid() + "-" + id + "-" + i);
            bodies.add(body);
            argv.addAll(List.of("-o", body.toString(), urls.get(i)));
        }
        int rounds = (urls.size() + parallel - 1) / parallel;
        Duration limit = maxTime.multipliedBy(rounds).plusSeconds(10);
        try {
            ProcessResult result = Commands.run(Commands.inNetns(netns, argv), limit);
            Response[] responses = new Response[urls.size()];
            for (String line : result.stdout().split("\n")) {
                if (!line.isEmpty()) {
                    Report r = parseReport(line);
                    if (r.urlNumber() >= 0 && r.urlNumber() < urls.size()) {
                        Path body = bodies.get(r.urlNumber());
                        // curl may skip creating the file of an empty body.
                        String sha = Files.exists(body)
                                ? ContentMap.sha256(body)
                                : r.exitCode() == 0 && r.bytes() == 0 ? ContentMap.sha256(new byte[0]) : "";
                        responses[r.urlNumber()] = new Response(
                                urls.get(r.urlNumber()),
                                r.status(),
                                r.bytes(),
                                sha,
                                r.servedBy(),
                                r.via(),
                                r.time(),
                                r.newConnections(),
                                r.exitCode(),
                                r.error());
                    }
                }
            }
            for (int i = 0; i < responses.length; i++) {
                if (responses[i] == null) {
                    responses[i] = new Response(
                            urls.get(i),
                            0,
                            0,
                            "",
                            "",
                            "",
                            Duration.ZERO,
                            0,
                            result.exitCode() == 0 ? -1 : result.exitCode(),
                            "no report from curl: " + result.stderr().strip());
                }
            }
            return Arrays.asList(responses);
        } finally {
            for (Path body : bodies) {
                try {
                    Files.deleteIfExists(body);
                } catch (IOException e) {
                    // Leftover body files are removed with the state directory.
                }
            }
        }
    }

    /** One line of curl's {@link #WRITE_OUT} report. */
    record Report(
            int urlNumber,
            int exitCode,
            int status,
            long bytes,
            Duration time,
            int newConnections,
            String servedBy,
            String via,
            String error) {}

    static Report parseReport(String line) {
        String[] f = line.split("\t", -1);
        if (f.length < 9) {
            throw new IllegalArgumentException("unexpected curl report: " + line);
        }
        long micros = Math.round(Double.parseDouble(f[4]) * 1_000_000);
        return new Report(
                Integer.parseInt(f[0]),
                Integer.parseInt(f[1]),
                Integer.parseInt(f[2]),
                Long.parseLong(f[3]),
                Duration.ofNanos(micros * 1000),
                Integer.parseInt(f[5]),
                f[6].strip(),
                f[7].strip(),
                String.join("\t", Arrays.copyOfRange(f, 8, f.length)).strip());
    }

    private void createWorkDir() {
        try {
            Files.createDirectories(workDir);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
