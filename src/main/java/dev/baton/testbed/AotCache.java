package dev.baton.testbed;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.Optional;

/**
 * The node processes' ahead-of-time cache (JDK 25: JEP 483 classes loaded and linked, JEP 514 one
 * training run, JEP 515 method profiles). A node started with it is ready in about half the time
 * (2.3-2.5 s here without, 1.1-1.3 s with) and its JIT starts from the training run's profile.
 *
 * <p>The cache lives beside the jar ({@code baton.jar} → {@code baton.aot}) with a stamp naming the
 * jar's SHA-256 and the JVM it was made by: the JVM itself does not notice a rebuilt jar of the
 * same size, and would then run the cached classes of the old one. A cache whose stamp does not
 * match is not used (and is remade by the next {@link Testbed#up}).
 */
final class AotCache {
    private static String hashedVersion = "";
    private static String hash = "";

    private final Path jar;
    private final Path cache;
    private final Path training;
    private final Path stamp;

    private AotCache(Path jar) {
        this.jar = jar;
        String base = jar.getFileName().toString().replaceFirst("\\.jar$", "");
        this.cache = jar.resolveSibling(base + ".aot");
        this.training = jar.resolveSibling(base + ".aot.training");
        this.stamp = jar.resolveSibling(base + ".aot.stamp");
    }

    /** The cache for the nodes run from {@code jar}; empty when its folder is not writable. */
    static Optional<AotCache> forJar(Path jar) {
        Path dir = jar.toAbsolutePath().getParent();
        return dir != null && Files.isWritable(dir)
                ? Optional.of(new AotCache(jar.toAbsolutePath()))
                : Optional.empty();
    }

    /** True when the cache was made from this very jar by this JVM. */
    boolean usable() {
        try {
            return Files.isRegularFile(cache)
                    && Files.isRegularFile(stamp)
                    && Files.readString(stamp, StandardCharsets.UTF_8).equals(expectedStamp());
        } catch (IOException | UncheckedIOException e) {
            return false;
        }
    }

    /**
     * The jar's SHA-256, hashed once per version of the file (a restart should not wait ~50 ms for
     * it). The version is the inode's change time, which every write moves and no one can set back.
     */
    private String jarHash() throws IOException {
        String version = jar + " " + Files.getAttribute(jar, "unix:ctime") + " " + Files.size(jar);
        synchronized (AotCache.class) {
            if (!version.equals(hashedVersion)) {
                hash = ContentMap.sha256(jar);
                hashedVersion = version;
            }
            return hash;
        }
    }

    /** JVM options of a node that runs from the cache. */
    List<String> useOptions() {
        return List.of("-XX:AOTCache=" + cache);
    }

    /**
     * JVM options of the training node: it records what it loads and profiles, and at its exit
     * assembles the cache (in a child JVM, some seconds) into a file {@link #commit} then installs.
     * What an interrupted training left is removed first: installed under this jar's stamp, an
     * older jar's cache would run its classes.
     */
    List<String> startTraining() {
        try {
            Files.deleteIfExists(training);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot remove " + training, e);
        }
        return List.of("-XX:AOTCacheOutput=" + training);
    }

    /** Installs what the training run wrote; false (and nothing changed) if it wrote nothing. */
    boolean commit() {
        if (!Files.isRegularFile(training)) return false;
        try {
            Files.move(training, cache, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            Files.writeString(stamp, expectedStamp(), StandardCharsets.UTF_8);
            return true;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot install the AOT cache " + cache, e);
        }
    }

    Path path() {
        return cache;
    }

    private String expectedStamp() throws IOException {
        return "jar " + jarHash() + "\njvm " + Runtime.version() + " " + System.getProperty("java.home") + "\n";
    }
}
