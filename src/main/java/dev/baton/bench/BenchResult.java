package dev.baton.bench;

import java.util.Collections;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A finished bench: how it ran, every cell, and the targets computed from them.
 *
 * @param setup what ran, in words, key to value (duration, connections, versions, kernel, date)
 * @param measurements every (path, workload) cell in the order measured
 * @param targets the targets
 */
public record BenchResult(Map<String, String> setup, List<Measurement> measurements, List<Targets.Target> targets) {
    public BenchResult {
        setup = Collections.unmodifiableMap(new LinkedHashMap<>(setup));
        measurements = List.copyOf(measurements);
        targets = List.copyOf(targets);
    }

    /** Builds the result, computing the targets from the measurements. */
    public static BenchResult of(Map<String, String> setup, List<Measurement> measurements) {
        return new BenchResult(setup, measurements, Targets.compute(cells(measurements)));
    }

    /** The cells keyed by path, then workload. */
    public static Map<BenchPath, Map<Workload, Measurement>> cells(List<Measurement> measurements) {
        Map<BenchPath, Map<Workload, Measurement>> cells = new EnumMap<>(BenchPath.class);
        for (Measurement m : measurements) {
            cells.computeIfAbsent(m.path(), p -> new EnumMap<>(Workload.class)).put(m.workload(), m);
        }
        return cells;
    }

    /** The cell of {@code path} and {@code workload}, or null. */
    public Measurement cell(BenchPath path, Workload workload) {
        return cells(measurements).getOrDefault(path, Map.of()).get(workload);
    }

    /** Every error of every cell, prefixed with its path and workload. */
    public List<String> errors() {
        return measurements.stream()
                .flatMap(m -> m.errors().stream()
                        .map(e -> m.path().label() + ", " + m.workload().label() + ": " + e))
                .toList();
    }
}
