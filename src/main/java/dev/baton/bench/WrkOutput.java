package dev.baton.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads what wrk 4 prints with {@code --latency}, plus the line of {@link #DONE_SCRIPT} when the run
 * had it. The text rounds (three or four digits, binary units for bytes: wrk's "MB" is MiB); the
 * script's line is exact, so its numbers win where both have one.
 *
 * <pre>
 *   21524 requests in 2.10s, 6.28MB read
 *   Non-2xx or 3xx responses: 21524
 *   Socket errors: connect 0, read 0, write 0, timeout 30
 *   Latency Distribution
 *      50%    1.45ms
 *      99%    4.95ms
 * </pre>
 */
public final class WrkOutput {
    /** Marks the line {@link #DONE_SCRIPT} prints. */
    public static final String DONE_MARK = "baton-wrk ";

    /**
     * A wrk Lua script whose {@code done()} prints one JSON line after {@link #DONE_MARK}: exact
     * request and byte counts, the errors, and the latency at every {@link WrkResult#QUANTILE_STEP}
     * percent from 0.5 to 99.5 (so runs made side by side can be merged; wrk's percentile(100) is 0).
     */
    public static final String DONE_SCRIPT = """
            -- Written by baton bench: prints the run's exact totals and latency quantiles as one line.
            done = function(summary, latency, requests)
              local e = summary.errors
              local q = {}
              for i = 1, 199 do q[i] = string.format("%d", latency:percentile(i / 2)) end
              io.write(string.format('baton-wrk {"durationUs":%d,"requests":%d,"bytes":%d,"connect":%d,'
                .. '"read":%d,"write":%d,"status":%d,"timeout":%d,"latencyUs":[%s]}\\n',
                summary.duration, summary.requests, summary.bytes, e.connect, e.read, e.write, e.status,
                e.timeout, table.concat(q, ",")))
            end
            """;

    /**
     * {@link #DONE_SCRIPT}, plus a {@code request()} that cycles through the paths given after the
     * URL on wrk's command line ({@code wrk ... URL /a /b /c}: wrk hands them to {@code init} as
     * {@code args[1..]}). A script with {@code request()} makes wrk build each request anew, so the
     * plain script stays for the runs that ask for one path.
     */
    public static final String CYCLE_SCRIPT = DONE_SCRIPT + """
            local paths = {}
            local next = 0
            init = function(args)
              for i = 1, #args do paths[i] = args[i] end
            end
            request = function()
              next = next % #paths + 1
              return wrk.format(nil, paths[next])
            end
            """;

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern TOTALS =
            Pattern.compile("(\\d+) requests in ([0-9.]+)(us|ms|s|m|h), ([0-9.]+)(B|KB|MB|GB|TB) read");
    private static final Pattern NON_2XX = Pattern.compile("Non-2xx or 3xx responses: (\\d+)");
    private static final Pattern SOCKET_ERRORS =
            Pattern.compile("Socket errors: connect (\\d+), read (\\d+), write (\\d+), timeout (\\d+)");
    private static final Pattern PERCENTILE =
            Pattern.compile("^\\s*([0-9.]+)%\\s+([0-9.]+)(us|ms|s|m|h)\\s*$", Pattern.MULTILINE);

    private WrkOutput() {}

    /**
     * The result in wrk's output.
     *
     * @throws IllegalArgumentException when there is no result in it (wrk could not connect at all,
     *     or refused its options): the message quotes the start of the text
     */
    public static WrkResult parse(String text) {
        Matcher totals = TOTALS.matcher(text);
        if (!totals.find()) {
            throw new IllegalArgumentException("no wrk result in: " + firstLines(text));
        }
        long requests = Long.parseLong(totals.group(1));
        double seconds = micros(totals.group(2), totals.group(3)) / 1e6;
        long bytes = Math.round(bytes(totals.group(4), totals.group(5)));
        long non2xx = find(NON_2XX, text, 1);
        long connect = find(SOCKET_ERRORS, text, 1);
        long read = find(SOCKET_ERRORS, text, 2);
        long write = find(SOCKET_ERRORS, text, 3);
        long timeouts = find(SOCKET_ERRORS, text, 4);
        double p50 = 0, p99 = 0;
        Matcher m = PERCENTILE.matcher(text);
        while (m.find()) {
            double level = Double.parseDouble(m.group(1));
            if (level == 50) p50 = micros(m.group(2), m.group(3));
            if (level == 99) p99 = micros(m.group(2), m.group(3));
        }
        List<Double> quantiles = List.of();
        for (String line : text.split("\n")) {
            if (line.startsWith(DONE_MARK)) {
                JsonNode done = readJson(line.substring(DONE_MARK.length()));
                requests = done.path("requests").asLong();
                bytes = done.path("bytes").asLong();
                seconds = done.path("durationUs").asLong() / 1e6;
                non2xx = done.path("status").asLong();
                connect = done.path("connect").asLong();
                read = done.path("read").asLong();
                write = done.path("write").asLong();
                timeouts = done.path("timeout").asLong();
                List<Double> q = new ArrayList<>();
                done.path("latencyUs").forEach(v -> q.add(v.asDouble()));
                quantiles = q;
                // Levels 0.5, 1.0, ... : level L is at index 2L - 1.
                if (q.size() >= 198) {
                    p50 = q.get(99);
                    p99 = q.get(197);
                }
            }
        }
        return new WrkResult(requests, bytes, seconds, non2xx, connect, read, write, timeouts, p50, p99, quantiles);
    }

    /** A wrk time ({@code 652.00us}, {@code 1.45ms}, {@code 2.10s}, {@code 1.02m}, {@code 1h}) in microseconds. */
    public static double micros(String number, String unit) {
        double v = Double.parseDouble(number);
        return switch (unit) {
            case "us" -> v;
            case "ms" -> v * 1e3;
            case "s" -> v * 1e6;
            case "m" -> v * 60e6;
            case "h" -> v * 3600e6;
            default -> throw new IllegalArgumentException("unknown time unit " + unit);
        };
    }

    /** A wrk byte size ({@code 6.28MB}): wrk's units are binary (1 MB = 1,048,576 bytes). */
    public static double bytes(String number, String unit) {
        double v = Double.parseDouble(number);
        int power = switch (unit) {
            case "B" -> 0;
            case "KB" -> 1;
            case "MB" -> 2;
            case "GB" -> 3;
            case "TB" -> 4;
            default -> throw new IllegalArgumentException("unknown size unit " + unit);
        };
        return v * Math.pow(1024, power);
    }

    /** A wrk count with its metric suffix ({@code 5.27k}, {@code 1.2M}, {@code 157.80}): 1k = 1,000. */
    public static double count(String text) {
        String t = text.strip();
        char last = t.isEmpty() ? ' ' : t.charAt(t.length() - 1);
        double scale = switch (Character.toLowerCase(last)) {
            case 'k' -> 1e3;
            case 'm' -> 1e6;
            case 'g' -> 1e9;
            default -> 1;
        };
        String number = scale == 1 ? t : t.substring(0, t.length() - 1);
        return Double.parseDouble(number) * scale;
    }

    /** The average of the per-thread {@code Req/Sec} row (wrk prints it with k/M suffixes), or 0. */
    public static double threadRequestsPerSecond(String text) {
        Matcher m = Pattern.compile("Req/Sec\\s+(\\S+)").matcher(text);
        return m.find() ? count(m.group(1)) : 0;
    }

    private static long find(Pattern p, String text, int group) {
        Matcher m = p.matcher(text);
        return m.find() ? Long.parseLong(m.group(group)) : 0;
    }

    private static JsonNode readJson(String s) {
        try {
            return JSON.readTree(s);
        } catch (IOException e) {
            throw new IllegalArgumentException("bad " + DONE_MARK.strip() + " line: " + s, e);
        }
    }

    private static String firstLines(String text) {
        String[] lines = text.strip().split("\n", 4);
        String first = String.join(" | ", Arrays.copyOf(lines, Math.min(3, lines.length)));
        return first.isEmpty() ? "(no output)" : first;
    }
}
