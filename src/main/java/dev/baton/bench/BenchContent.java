package dev.baton.bench;

import dev.baton.testbed.Names;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * The bench's content, partitioned: every node holds {@link #SMALL_FILES} files of 1 KiB and
 * {@link #LARGE_FILES} of 1 MiB under {@code /bench/nN/}; n2 also holds one of 64 MiB. The bytes are
 * pseudo-random (seeded), so nothing on the way can compress them.
 */
final class BenchContent {
    static final int SMALL_FILES = 64;
    static final int LARGE_FILES = 4;
    static final int SMALL = 1024;
    static final int LARGE = 1 << 20;
    static final int HUGE = 64 << 20;
    /** The node holding the files the bench asks for. */
    static final int HOLDER = 2;

    private BenchContent() {}

    /** The file workload {@code w} asks for, held by {@link #HOLDER} only. */
    static String path(Workload w) {
        String dir = "/bench/" + Names.nodeName(HOLDER) + "/";
        return switch (w) {
            case SMALL_CLOSE, SMALL_KEEP_ALIVE -> dir + "1k-00.bin";
            case LARGE_KEEP_ALIVE, LARGE_CONCURRENT -> dir + "1m-0.bin";
            case HUGE_SINGLE -> dir + "64m.bin";
        };
    }

    /**
     * The first small file of every node, n1 first: (c) asks for these in turn on new connections, so
     * that whatever node a request enters, one in {@code nodes} is served there and the rest are
     * handed off, request by request (a random entry, as the client's view of it).
     */
    static List<String> smallOnEveryNode(int nodes) {
        List<String> paths = new ArrayList<>();
        for (int n = 1; n <= nodes; n++) paths.add("/bench/" + Names.nodeName(n) + "/1k-00.bin");
        return paths;
    }

    /** Its size. */
    static long size(Workload w) {
        return switch (w) {
            case SMALL_CLOSE, SMALL_KEEP_ALIVE -> SMALL;
            case LARGE_KEEP_ALIVE, LARGE_CONCURRENT -> LARGE;
            case HUGE_SINGLE -> HUGE;
        };
    }

    /** Writes {@code dir/n1 .. dir/nN}. */
    static void generate(Path dir, int nodes) {
        SplittableRandom random = new SplittableRandom(4);
        for (int n = 1; n <= nodes; n++) {
            Path root = dir.resolve(Names.nodeName(n)).resolve("bench").resolve(Names.nodeName(n));
            for (int i = 0; i < SMALL_FILES; i++) {
                write(root.resolve(String.format("1k-%02d.bin", i)), SMALL, random);
            }
            for (int i = 0; i < LARGE_FILES; i++) {
                write(root.resolve("1m-" + i + ".bin"), LARGE, random);
            }
            if (n == HOLDER) {
                write(root.resolve("64m.bin"), HUGE, random);
            }
        }
    }

    private static void write(Path file, int size, SplittableRandom random) {
        byte[] chunk = new byte[1 << 16];
        try {
            Files.createDirectories(file.getParent());
            try (OutputStream out = Files.newOutputStream(file)) {
                for (int left = size; left > 0; left -= chunk.length) {
                    random.nextBytes(chunk);
                    out.write(chunk, 0, Math.min(left, chunk.length));
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("writing " + file, e);
        }
    }
}
