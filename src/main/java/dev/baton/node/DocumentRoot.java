package dev.baton.node;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/** The URL paths of the files a node serves: one per regular file under its document root. */
public final class DocumentRoot {
    /** More files than this is a configuration mistake, not a web site; refuse rather than swell. */
    public static final int MAX_FILES = 1_000_000;

    private DocumentRoot() {}

    /**
     * Every regular file under {@code root} as a decoded URL path ({@code /img/a b.png}), sorted.
     * Symbolic links are not followed: a link could point out of the document root.
     */
    public static List<String> scan(Path root) throws IOException {
        if (!Files.isDirectory(root)) throw new IOException("document root is not a directory: " + root);
        List<String> paths = new ArrayList<>();
        try (Stream<Path> files = Files.walk(root)) {
            // NOFOLLOW_LINKS: Files.walk reports a symbolic link as an entry of its own, and the
            // default isRegularFile would follow it to a file that may lie outside the root.
            files.filter(f -> Files.isRegularFile(f, LinkOption.NOFOLLOW_LINKS)).forEach(f -> {
                if (paths.size() == MAX_FILES) {
                    throw new IllegalStateException("more than " + MAX_FILES + " files under " + root);
                }
                StringBuilder b = new StringBuilder();
                for (Path part : root.relativize(f)) b.append('/').append(part);
                paths.add(b.toString());
            });
        }
        paths.sort(null);
        return paths;
    }
}
