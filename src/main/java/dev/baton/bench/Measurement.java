package dev.baton.bench;

import java.util.List;
import java.util.Map;

/**
 * One (path, workload) cell of the bench.
 *
 * @param path the way to the holder
 * @param workload what was asked for
 * @param requests responses completed
 * @param bytes bytes the client read (HTTP heads and bodies)
 * @param seconds how long it ran
 * @param p50Micros median latency as the client saw it (for the single transfer: its total time)
 * @param p99Micros 99th percentile likewise
 * @param cpuMicrosPerRequest per node (n1 ...): user + system CPU time of the processes in its
 *     namespace (baton node, nginx, proxies) over the run, divided by {@code requests}
 * @param machineCpuMicrosPerRequest the whole machine's busy CPU time over the run ({@code /proc/stat}:
 *     every node, the router, the client, softirq wherever it ran), divided by {@code requests}
 * @param entryNode the node whose outgoing bytes are counted: where the client entered (n1 for the
 *     proxies and the handed-off paths, the holder for direct and local)
 * @param entryBytes bytes that node sent toward the network on the measured device
 * @param clientBytes bytes the client received over connections through that node
 * @param handedOff connections the nodes handed off during the run (baton paths; 0 otherwise)
 * @param connectionsSeen new connections the BTCPs saw during the run
 * @param errors every error, in words (non-2xx, socket errors, wrong byte count, a failed command);
 *     empty when there was none
 */
public record Measurement(
        BenchPath path,
        Workload workload,
        long requests,
        long bytes,
        double seconds,
        double p50Micros,
        double p99Micros,
        Map<String, Double> cpuMicrosPerRequest,
        double machineCpuMicrosPerRequest,
        String entryNode,
        long entryBytes,
        long clientBytes,
        long handedOff,
        long connectionsSeen,
        List<String> errors) {
    public Measurement {
        cpuMicrosPerRequest = Map.copyOf(cpuMicrosPerRequest);
        errors = List.copyOf(errors);
    }

    public double requestsPerSecond() {
        return seconds > 0 ? requests / seconds : 0;
    }

    /** Megabytes (10^6 bytes) per second read by the client. */
    public double megabytesPerSecond() {
        return seconds > 0 ? bytes / seconds / 1e6 : 0;
    }

    /** Share of the client's bytes that the entry node sent ({@code entryBytes / clientBytes}), or NaN. */
    public double entryShare() {
        return clientBytes > 0 ? (double) entryBytes / clientBytes : Double.NaN;
    }

    public boolean ok() {
        return errors.isEmpty();
    }
}
