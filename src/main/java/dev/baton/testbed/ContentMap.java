package dev.baton.testbed;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.stream.Stream;

/**
 * Which node holds which file: the content directory has one folder per node ({@code n1/},
 * {@code n2/} ...), each that node's document root. A file present under the same relative path in
 * several folders is replicated, and must then be byte-identical in each.
 */
public final class ContentMap {
    private final Map<String, ContentEntry> byPath;

    private ContentMap(Map<String, ContentEntry> byPath) {
        this.byPath = byPath;
    }

    /** A map built from entries (used by tests and when reading a state file). */
    public static ContentMap of(List<ContentEntry> entries) {
        Map<String, ContentEntry> map = new TreeMap<>();
        for (ContentEntry e : entries) {
            map.put(e.path(), e);
        }
        return new ContentMap(map);
    }

    /**
     * Scans {@code contentDir/n1 .. contentDir/nN}. Folders of nodes beyond {@code nodes} are ignored.
     *
     * @throws IllegalArgumentException if a node's folder is missing or a replicated file differs
     *     between holders
     */
    public static ContentMap scan(Path contentDir, int nodes) {
        Map<String, List<String>> holders = new TreeMap<>();
        Map<String, ContentEntry> first = new TreeMap<>();
        for (int n = 1; n <= nodes; n++) {
            String name = Names.nodeName(n);
            Path root = contentDir.resolve(name);
            if (!Files.isDirectory(root)) {
                throw new IllegalArgumentException("content directory " + contentDir + " has no folder " + name
                        + " (one folder per node: n1/, n2/ ...)");
            }
            for (Path file : regularFiles(root)) {
                String path = urlPath(root, file);
                ContentEntry seen = first.get(path);
                long size = size(file);
                String hash = sha256(file);
                if (seen == null) {
                    first.put(path, new ContentEntry(path, size, hash, List.of()));
                } else if (!seen.sha256().equals(hash)) {
                    throw new IllegalArgumentException("replicated file " + path + " differs between "
                            + holders.get(path).getFirst() + " and " + name);
                }
                holders.computeIfAbsent(path, p -> new ArrayList<>()).add(name);
            }
        }
        Map<String, ContentEntry> map = new TreeMap<>();
        first.forEach((path, e) -> map.put(path, new ContentEntry(path, e.bytes(), e.sha256(), holders.get(path))));
        return new ContentMap(map);
    }

    /** Every file, sorted by path. */
    public List<ContentEntry> entries() {
        return List.copyOf(byPath.values());
    }

    /** The entry for a decoded URL path, if any node holds it. */
    public Optional<ContentEntry> find(String path) {
        return Optional.ofNullable(byPath.get(path));
    }

    /** Files held by the named node, sorted by path. */
    public List<ContentEntry> heldBy(String node) {
        return byPath.values().stream().filter(e -> e.holders().contains(node)).toList();
    }

    /** Lower-case hex SHA-256 of a file. */
    public static String sha256(Path file) {
        MessageDigest digest = newSha256();
        byte[] buffer = new byte[1 << 16];
        try (InputStream in = Files.newInputStream(file)) {
            int n;
            while ((n = in.read(buffer)) > 0) {
                digest.update(buffer, 0, n);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return HexFormat.of().formatHex(digest.digest());
    }

    /** Lower-case hex SHA-256 of bytes. */
    public static String sha256(byte[] bytes) {
        return HexFormat.of().formatHex(newSha256().digest(bytes));
    }

    static MessageDigest newSha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has SHA-256", e);
        }
    }

    private static List<Path> regularFiles(Path root) {
        try (Stream<Path> walk = Files.walk(root)) {
            return walk.filter(Files::isRegularFile).sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static String urlPath(Path root, Path file) {
        StringBuilder path = new StringBuilder();
        for (Path part : root.relativize(file)) {
            path.append('/').append(part);
        }
        return path.toString();
    }

    private static long size(Path file) {
        try {
            return Files.size(file);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
