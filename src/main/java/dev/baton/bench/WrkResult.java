package dev.baton.bench;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * What one wrk run (or several merged) measured.
 *
 * @param requests responses completed
 * @param bytes bytes read by the client (HTTP heads and bodies)
 * @param seconds the run's duration
 * @param non2xx responses with a status other than 2xx or 3xx
 * @param connectErrors sockets that failed to connect
 * @param readErrors read errors
 * @param writeErrors write errors
 * @param timeouts requests that took longer than wrk's {@code --timeout}
 * @param p50Micros median latency, microseconds
 * @param p99Micros 99th percentile latency, microseconds
 * @param quantilesMicros the latency at 0.5 %, 1 %, ... 99.5 % ({@link #QUANTILE_STEP} apart), when the
 *     run printed them ({@link WrkOutput#DONE_SCRIPT}); used to merge runs, else empty
 */
public record WrkResult(
        long requests,
        long bytes,
        double seconds,
        long non2xx,
        long connectErrors,
        long readErrors,
        long writeErrors,
        long timeouts,
        double p50Micros,
        double p99Micros,
        List<Double> quantilesMicros) {
    /** Distance between the levels of {@link #quantilesMicros}, in percent. */
    public static final double QUANTILE_STEP = 0.5;

    public WrkResult {
        quantilesMicros = List.copyOf(quantilesMicros);
    }

    /** Every error wrk counts: non-2xx/3xx responses and socket errors. */
    public long errors() {
        return non2xx + connectErrors + readErrors + writeErrors + timeouts;
    }

    /** Requests per second. */
    public double requestsPerSecond() {
        return seconds > 0 ? requests / seconds : 0;
    }

    /** The errors in words, e.g. {@code "non-2xx 3, timeout 2"}, or {@code ""} when there are none. */
    public String errorText() {
        StringBuilder s = new StringBuilder();
        append(s, "non-2xx", non2xx);
        append(s, "connect", connectErrors);
        append(s, "read", readErrors);
        append(s, "write", writeErrors);
        append(s, "timeout", timeouts);
        return s.toString();
    }

    private static void append(StringBuilder s, String what, long n) {
        if (n != 0) {
            s.append(s.isEmpty() ? "" : ", ").append(what).append(' ').append(n);
        }
    }

    /**
     * Runs made at the same time (one wrk per entry node) as one: counts and bytes add up, the
     * duration is the longest, and p50/p99 are read from the pooled latency quantiles, each run's
     * quantile points weighted by its request count. Exact to the quantile step; a run without
     * quantiles cannot be merged with others.
     */
    public static WrkResult merge(List<WrkResult> runs) {
        if (runs.isEmpty()) {
            throw new IllegalArgumentException("nothing to merge");
        }
        if (runs.size() == 1) {
            return runs.getFirst();
        }
        long requests = 0, bytes = 0, non2xx = 0, connect = 0, read = 0, write = 0, timeouts = 0;
        double seconds = 0;
        for (WrkResult r : runs) {
            if (r.quantilesMicros().isEmpty() && r.requests() > 0) {
                throw new IllegalArgumentException("a run without latency quantiles cannot be merged");
            }
            requests += r.requests();
            bytes += r.bytes();
            non2xx += r.non2xx();
            connect += r.connectErrors();
            read += r.readErrors();
            write += r.writeErrors();
            timeouts += r.timeouts();
            seconds = Math.max(seconds, r.seconds());
        }
        return new WrkResult(
                requests,
                bytes,
                seconds,
                non2xx,
                connect,
                read,
                write,
                timeouts,
                pooledQuantile(runs, 50),
                pooledQuantile(runs, 99),
                List.of());
    }

    /**
     * The latency below which {@code percent} of all requests of {@code runs} fall: a run's quantile
     * point at level L stands for the {@link #QUANTILE_STEP} percent of its requests just below L, so
     * for one run this gives back its own quantile at every level it printed.
     */
    static double pooledQuantile(List<WrkResult> runs, double percent) {
        record Point(double micros, double weight) {}
        List<Point> points = new ArrayList<>();
        double total = 0;
        for (WrkResult r : runs) {
            double w = r.requests() * QUANTILE_STEP / 100;
            for (double q : r.quantilesMicros()) {
                points.add(new Point(q, w));
            }
            total += r.requests();
        }
        if (points.isEmpty()) {
            return 0;
        }
        points.sort(Comparator.comparingDouble(Point::micros));
        double wanted = total * percent / 100;
        double seen = 0;
        for (Point p : points) {
            seen += p.weight();
            if (seen >= wanted - 1e-9) {
                return p.micros();
            }
        }
        return points.getLast().micros();
    }
}
