package dev.baton.testbed;

import java.util.List;

/**
 * One file of the cluster's content (claim 25: content partitioned or partly replicated).
 *
 * @param path the URL path, decoded, starting with {@code /} (e.g. {@code /docs/a b%.txt})
 * @param bytes its size
 * @param sha256 lower-case hex SHA-256 of its bytes
 * @param holders names of the nodes whose document root has it, in node order
 */
public record ContentEntry(String path, long bytes, String sha256, List<String> holders) {
    public ContentEntry {
        holders = List.copyOf(holders);
    }

    /** True when more than one node holds the file. */
    public boolean replicated() {
        return holders.size() > 1;
    }
}
