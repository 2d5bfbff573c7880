package dev.baton.route;

import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * Which nodes hold which paths (claim 25: content partitioned or partly replicated across the nodes).
 * Each node announces the URL paths of the files under its document root; the index maps a path to
 * its holders. A path nobody announced falls back to the holders of its nearest announced directory
 * (so {@code PUT /n2/uploads/new.bin} goes to whoever holds {@code /n2/uploads/}).
 *
 * <p>Immutable: the control channel builds a new index when an announcement completes and publishes
 * it with one volatile write, so the packet loop reads it without locks.
 */
public final class ContentIndex {
    private final Map<String, List<String>> holders;

    private ContentIndex(Map<String, List<String>> holders) {
        this.holders = holders;
    }

    public static ContentIndex empty() {
        return new ContentIndex(Map.of());
    }

    /** Builds the index from each node's announced file paths. */
    public static ContentIndex of(Map<String, ? extends Collection<String>> pathsByNode) {
        Map<String, Set<String>> m = new HashMap<>();
        pathsByNode.forEach((node, paths) -> {
            for (String p : paths) {
                m.computeIfAbsent(p, k -> new TreeSet<>()).add(node);
                for (int i = p.lastIndexOf('/', p.length() - 2); i > 0; i = p.lastIndexOf('/', i - 1)) {
                    m.computeIfAbsent(p.substring(0, i + 1), k -> new TreeSet<>())
                            .add(node);
                }
            }
        });
        Map<String, List<String>> frozen = new HashMap<>(m.size() * 2);
        m.forEach((k, v) -> frozen.put(k, List.copyOf(v)));
        return new ContentIndex(frozen);
    }

    /** Nodes holding {@code path} (exact file, else nearest directory), sorted by name; empty if none. */
    public List<String> holders(String path) {
        if (path == null) return List.of();
        List<String> h = holders.get(path);
        if (h != null) return h;
        for (int i = path.lastIndexOf('/', path.length() - 2); i > 0; i = path.lastIndexOf('/', i - 1)) {
            h = holders.get(path.substring(0, i + 1));
            if (h != null) return h;
        }
        return List.of();
    }

    /** Nodes holding exactly this file path (no directory fallback). */
    public List<String> exactHolders(String path) {
        List<String> h = path == null ? null : holders.get(path);
        return h == null ? List.of() : h;
    }

    public int size() {
        return holders.size();
    }

    /** Every indexed path (files and directories), for the CLI. */
    public List<String> paths() {
        return new ArrayList<>(new TreeSet<>(holders.keySet()));
    }
}
