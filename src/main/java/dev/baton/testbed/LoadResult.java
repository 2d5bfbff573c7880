package dev.baton.testbed;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * What a load run saw from the client's side: how many requests ended byte-exact, what went wrong
 * with the others (the first few in plan order, and a count per kind), bytes, wall time and
 * latency percentiles of the good ones.
 *
 * @param requests requests planned
 * @param ok responses that were 200 with the expected length and SHA-256
 * @param failuresByKind failed requests per {@link Kind}, only kinds that happened
 * @param firstFailures the failures with the lowest plan indexes, at most {@link #MAX_LISTED}
 * @param bytes body bytes of the good responses
 * @param wall time from the first request started to the last one ended
 * @param p50 median latency (connect to last body byte) of the good responses, zero if none
 * @param p99 99th percentile of the same (nearest rank)
 * @param max slowest good response
 * @param servedElsewhere good responses whose {@code X-Baton-Node} is not the entry node's name
 *     (handed off, or fetched from a holder on a kept-alive connection)
 * @param connections TCP connections opened
 */
public record LoadResult(
        int requests,
        int ok,
        Map<Kind, Integer> failuresByKind,
        List<Failure> firstFailures,
        long bytes,
        Duration wall,
        Duration p50,
        Duration p99,
        Duration max,
        int servedElsewhere,
        int connections) {
    /** Failures listed one by one; the rest are only counted. */
    public static final int MAX_LISTED = 20;

    /** What was wrong with a request. */
    public enum Kind {
        /** The TCP connection could not be made (refused, unreachable, timed out). */
        CONNECT,
        /** The request did not end within its timeout. */
        TIMEOUT,
        /** The connection was reset or closed before the response head was complete. */
        IO,
        /** The response head was not HTTP/1.x or was too long. */
        BAD_HEAD,
        /** The status was not 200. */
        STATUS,
        /** The Content-Length was not the file's size. */
        LENGTH,
        /** The connection ended before the whole body arrived. */
        SHORT,
        /** The body had the right length and the wrong SHA-256: a wrong byte. */
        HASH,
        /** The run's time was up before the request was started. */
        NOT_RUN
    }

    /**
     * One failed request.
     *
     * @param index its position in the plan
     * @param path the file asked for
     * @param entry the node it was sent to
     * @param kind what went wrong
     * @param detail the specifics (expected and seen values, the exception)
     */
    public record Failure(int index, String path, String entry, Kind kind, String detail) {
        @Override
        public String toString() {
            return "#" + index + " " + path + " via " + entry + ": " + kind + " " + detail;
        }
    }

    public LoadResult {
        failuresByKind = Map.copyOf(failuresByKind);
        firstFailures = List.copyOf(firstFailures);
    }

    /** Requests that did not end byte-exact. */
    public int failed() {
        return requests - ok;
    }

    /** True when every planned request ended byte-exact. */
    public boolean allOk() {
        return ok == requests;
    }

    /** Good responses per second of wall time. */
    public double requestsPerSecond() {
        return wall.isZero() ? 0 : ok / (wall.toNanos() / 1e9);
    }

    /** Body bytes per second of wall time. */
    public double bytesPerSecond() {
        return wall.isZero() ? 0 : bytes / (wall.toNanos() / 1e9);
    }

    /** Collects outcomes from several threads and makes the result. */
    public static final class Recorder {
        private final int requests;
        private final long[] latencies;
        private int ok;
        private long bytes;
        private int servedElsewhere;
        private int connections;
        private final Map<Kind, Integer> byKind = new TreeMap<>();
        private final List<Failure> failures = new ArrayList<>();

        public Recorder(int requests) {
            this.requests = requests;
            this.latencies = new long[requests];
        }

        /** A response that was 200 with the expected length and hash. */
        public synchronized void ok(long bodyBytes, long nanos, boolean elsewhere) {
            latencies[ok++] = nanos;
            bytes += bodyBytes;
            if (elsewhere) {
                servedElsewhere++;
            }
        }

        /** A request that went wrong; kept in the list if it is among the first by plan index. */
        public synchronized void failed(Failure f) {
            byKind.merge(f.kind(), 1, Integer::sum);
            failures.add(f);
            if (failures.size() > 2 * MAX_LISTED) {
                trim();
            }
        }

        /** A new TCP connection was opened. */
        public synchronized void connected() {
            connections++;
        }

        /** Keeps the {@link #MAX_LISTED} failures with the lowest plan indexes. */
        private void trim() {
            failures.sort(Comparator.comparingInt(Failure::index));
            if (failures.size() > MAX_LISTED) {
                failures.subList(MAX_LISTED, failures.size()).clear();
            }
        }

        /** The result, with {@code wall} as the run's duration. */
        public synchronized LoadResult result(Duration wall) {
            trim();
            long[] sorted = Arrays.copyOf(latencies, ok);
            Arrays.sort(sorted);
            return new LoadResult(
                    requests,
                    ok,
                    byKind,
                    failures,
                    bytes,
                    wall,
                    percentile(sorted, 0.50),
                    percentile(sorted, 0.99),
                    sorted.length == 0 ? Duration.ZERO : Duration.ofNanos(sorted[sorted.length - 1]),
                    servedElsewhere,
                    connections);
        }
    }

    /** Nearest-rank percentile of sorted values (nanoseconds); zero when there are none. */
    static Duration percentile(long[] sorted, double q) {
        if (sorted.length == 0) {
            return Duration.ZERO;
        }
        int rank = (int) Math.ceil(q * sorted.length);
        return Duration.ofNanos(sorted[Math.max(0, Math.min(sorted.length, rank) - 1)]);
    }

    // ---------------------------------------------------------------- JSON (worker to parent)

    /** This result as JSON (durations in microseconds). */
    public ObjectNode toJson() {
        ObjectNode o = Description.JSON.createObjectNode();
        o.put("requests", requests)
                .put("ok", ok)
                .put("failed", failed())
                .put("bytes", bytes)
                .put("wallMicros", micros(wall))
                .put("p50Micros", micros(p50))
                .put("p99Micros", micros(p99))
                .put("maxMicros", micros(max))
                .put("servedElsewhere", servedElsewhere)
                .put("connections", connections);
        ObjectNode kinds = o.putObject("failuresByKind");
        failuresByKind.entrySet().stream()
                .sorted(Map.Entry.comparingByKey())
                .forEach(e -> kinds.put(e.getKey().name(), e.getValue()));
        var list = o.putArray("firstFailures");
        for (Failure f : firstFailures) {
            list.addObject()
                    .put("index", f.index())
                    .put("path", f.path())
                    .put("entry", f.entry())
                    .put("kind", f.kind().name())
                    .put("detail", f.detail());
        }
        return o;
    }

    /** A result read back from {@link #toJson()}. */
    public static LoadResult fromJson(JsonNode o) {
        Map<Kind, Integer> kinds = new LinkedHashMap<>();
        o.path("failuresByKind")
                .properties()
                .forEach(e -> kinds.put(Kind.valueOf(e.getKey()), e.getValue().asInt()));
        List<Failure> failures = new ArrayList<>();
        for (JsonNode f : o.path("firstFailures")) {
            failures.add(new Failure(
                    f.path("index").asInt(),
                    f.path("path").asText(),
                    f.path("entry").asText(),
                    Kind.valueOf(f.path("kind").asText()),
                    f.path("detail").asText()));
        }
        return new LoadResult(
                o.path("requests").asInt(),
                o.path("ok").asInt(),
                kinds,
                failures,
                o.path("bytes").asLong(),
                ofMicros(o.path("wallMicros").asLong()),
                ofMicros(o.path("p50Micros").asLong()),
                ofMicros(o.path("p99Micros").asLong()),
                ofMicros(o.path("maxMicros").asLong()),
                o.path("servedElsewhere").asInt(),
                o.path("connections").asInt());
    }

    private static long micros(Duration d) {
        return d.toNanos() / 1000;
    }

    private static Duration ofMicros(long micros) {
        return Duration.ofNanos(micros * 1000);
    }
}
