package dev.baton.node;

import dev.baton.route.Member;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What this node's routing decided, for the dashboard: how many connections it chose to serve
 * itself and how many it sent toward each peer (the entry-to-chosen edges of the cluster's graph),
 * and the busiest paths with the member each was sent to ({@link HeavyHitters}, bounded).
 *
 * <p>{@link #record} runs once per routed connection on the packet loop's thread, never per
 * packet, and every second for what the kernel's data path decided (on the node's scheduler);
 * {@link #snapshot} runs on an HTTP thread. All take this object's lock, which the loop finds free
 * but for the instant a snapshot copies a few hundred numbers.
 */
final class RouteStats {
    /** Paths tracked per node: the top of a skewed workload, in a few kilobytes. */
    static final int TRACKED_PATHS = 64;

    /** A path and how often it was routed; {@code servedBy} counts since it entered the table. */
    record PathCount(String path, long count, long error, Map<String, Long> servedBy) {}

    /** A copy of the counts: {@code routedTo} by member name, this node included (served here). */
    record Snapshot(long routed, Map<String, Long> routedTo, List<PathCount> paths) {}

    /** Members by index (1..n); slot 0 unused. */
    private final String[] names;

    private final long[] routedTo;
    private final HeavyHitters paths;
    private long routed;

    /** @param members every member of the cluster, this node included, with their indexes */
    RouteStats(List<Member> members) {
        int max = 0;
        for (Member m : members) max = Math.max(max, m.index());
        names = new String[max + 1];
        for (Member m : members) names[m.index()] = m.name();
        routedTo = new long[max + 1];
        paths = new HeavyHitters(TRACKED_PATHS, max + 1);
    }

    /** One routing decision: {@code path} (null when the head had none) goes to {@code to}. */
    synchronized void record(String path, Member to) {
        record(path, to, 1);
    }

    /** {@code n} connections to {@code path} routed to {@code to} (the kernel decides in bulk). */
    synchronized void record(String path, Member to, long n) {
        routed += n;
        routedTo[to.index()] += n;
        if (path != null) paths.add(path, to.index(), n);
    }

    /** The counts now, with the {@code topPaths} busiest paths. */
    synchronized Snapshot snapshot(int topPaths) {
        Map<String, Long> to = new LinkedHashMap<>();
        for (int i = 1; i < names.length; i++) if (names[i] != null) to.put(names[i], routedTo[i]);
        List<PathCount> top = new ArrayList<>();
        for (HeavyHitters.Entry e : paths.top(topPaths)) {
            Map<String, Long> by = new LinkedHashMap<>();
            for (int i = 1; i < names.length; i++) if (e.byTag()[i] > 0) by.put(names[i], e.byTag()[i]);
            top.add(new PathCount(e.key(), e.count(), e.error(), by));
        }
        return new Snapshot(routed, to, top);
    }
}
