package dev.baton.testbed;

import java.io.BufferedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;

/**
 * A deterministic sample content set: the same paths and the same bytes on every run and every
 * machine, so hashes in tests and docs stay valid. Bytes come from SplitMix64 seeded with the
 * FNV-1a hash of the path (both fully specified here, not left to a library).
 *
 * <p>For three nodes: n1 has {@code /index.html}, {@code /img/logo.png} (64 KiB),
 * {@code /docs/guide.html} (8 KiB); n2 has {@code /video/big.bin} (33 MiB), {@code /data/1k.bin},
 * {@code /empty.txt} (0 bytes); n3 has {@code /api/data.json}, {@code /img/photo.jpg} (1 MiB) and
 * {@code /docs/a b%.txt} (a name that needs percent-encoding); {@code /shared/site.css} is on n1
 * and n3, {@code /shared/rep.bin} (2 MiB) on n2 and n3. With fewer nodes the files fold onto the
 * nodes there are; each node beyond three gets {@code /extra/nK/page.html}, {@code /extra/nK/blob.bin}
 * and {@code /extra/shared-nK.bin}, the last also held by the next node.
 *
 * <p>For load runs ({@link LoadMix}) there is a size ladder on every node: node K holds
 * {@code /mix/nK/0.bin, 1.bin, 100.bin, 1k.bin, 10k.bin, 100k.bin, 1m.bin} (0 B to 1 MiB, about
 * 1.1 MiB per node); {@code /mix/rep/100.bin}, {@code /mix/rep/10k.bin} and {@code /mix/rep/1m.bin}
 * are each held by two neighbouring nodes, and {@code /mix/8m.bin} (8 MiB) by node 3 alone. The
 * whole set takes about 38 MiB + 11 MiB + 1.1 MiB per node on disk (53 MiB for four nodes).
 */
public final class SampleContent {
    private SampleContent() {}

    /** What a sample file is: its path, size, text or binary, and its holders (node numbers). */
    public record SampleFile(String path, long bytes, boolean text, List<Integer> holders) {
        public SampleFile {
            holders = List.copyOf(holders);
        }
    }

    /** File names (without {@code .bin}) and sizes of the per-node size ladder under {@code /mix/nK/}. */
    private static final List<String> LADDER_NAMES = List.of("0", "1", "100", "1k", "10k", "100k", "1m");

    private static final List<Long> LADDER_BYTES = List.of(0L, 1L, 100L, 1024L, 10L * 1024, 100L * 1024, 1024L * 1024);

    /** The sample files for a cluster of {@code nodes} nodes. */
    public static List<SampleFile> files(int nodes) {
        if (nodes < 1) {
            throw new IllegalArgumentException("need at least one node, got " + nodes);
        }
        List<SampleFile> files = new ArrayList<>();
        files.add(file(nodes, "/index.html", 1_200, true, 1));
        files.add(file(nodes, "/img/logo.png", 64 * 1024, false, 1));
        files.add(file(nodes, "/docs/guide.html", 8 * 1024, true, 1));
        files.add(file(nodes, "/video/big.bin", 33L * 1024 * 1024, false, 2));
        files.add(file(nodes, "/data/1k.bin", 1024, false, 2));
        files.add(file(nodes, "/empty.txt", 0, true, 2));
        files.add(file(nodes, "/api/data.json", 2 * 1024, true, 3));
        files.add(file(nodes, "/img/photo.jpg", 1024 * 1024, false, 3));
        files.add(file(nodes, "/docs/a b%.txt", 300, true, 3));
        files.add(file(nodes, "/shared/site.css", 1_500, true, 1, 3));
        files.add(file(nodes, "/shared/rep.bin", 2 * 1024 * 1024, false, 2, 3));
        for (int k = 4; k <= nodes; k++) {
            files.add(file(nodes, "/extra/n" + k + "/page.html", 4 * 1024, true, k));
            files.add(file(nodes, "/extra/n" + k + "/blob.bin", 256 * 1024, false, k));
            files.add(file(nodes, "/extra/shared-n" + k + ".bin", 128 * 1024, false, k, k % nodes + 1));
        }
        for (int k = 1; k <= nodes; k++) {
            for (int i = 0; i < LADDER_NAMES.size(); i++) {
                files.add(
                        file(nodes, "/mix/n" + k + "/" + LADDER_NAMES.get(i) + ".bin", LADDER_BYTES.get(i), false, k));
            }
        }
        files.add(file(nodes, "/mix/rep/100.bin", 100, false, 1, 2));
        files.add(file(nodes, "/mix/rep/10k.bin", 10 * 1024, false, 2, 3));
        files.add(file(nodes, "/mix/rep/1m.bin", 1024 * 1024, false, 3, 4));
        files.add(file(nodes, "/mix/8m.bin", 8L * 1024 * 1024, false, 3));
        return files;
    }

    /**
     * Writes the sample set under {@code contentDir/n1 .. nN} and returns its map.
     * Existing files with the same names are overwritten.
     */
    public static ContentMap generate(Path contentDir, int nodes) {
        for (SampleFile f : files(nodes)) {
            for (int holder : f.holders()) {
                Path target = contentDir
                        .resolve(Names.nodeName(holder))
                        .resolve(f.path().substring(1));
                write(target, f);
            }
        }
        for (int n = 1; n <= nodes; n++) {
            createDirectories(contentDir.resolve(Names.nodeName(n)));
        }
        return ContentMap.scan(contentDir, nodes);
    }

    /** The bytes of a sample file, without writing it (for tests of small files). */
    public static byte[] bytes(SampleFile f) {
        var out = new ByteArrayOutputStream();
        try {
            writeTo(out, f);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    private static SampleFile file(int nodes, String path, long bytes, boolean text, int... holders) {
        TreeSet<Integer> folded = new TreeSet<>();
        for (int h : holders) {
            folded.add((h - 1) % nodes + 1);
        }
        return new SampleFile(path, bytes, text, List.copyOf(folded));
    }

    private static void write(Path target, SampleFile f) {
        createDirectories(target.getParent());
        try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(target), 1 << 16)) {
            writeTo(out, f);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void writeTo(OutputStream out, SampleFile f) throws IOException {
        SplitMix64 random = new SplitMix64(fnv1a(f.path()));
        if (f.text()) {
            out.write(text(f, random));
            return;
        }
        long left = f.bytes();
        byte[] block = new byte[8];
        while (left > 0) {
            long r = random.next();
            for (int i = 0; i < 8; i++) {
                block[i] = (byte) (r >>> (8 * i));
            }
            int n = (int) Math.min(8, left);
            out.write(block, 0, n);
            left -= n;
        }
    }

    private static final String[] WORDS = {
        "baton", "handoff", "kernel", "segment", "window", "client", "node", "cluster", "request", "content", "route",
        "packet", "stream", "server", "socket", "tunnel"
    };

    /** Readable text of exactly {@code f.bytes()} ASCII bytes, shaped after the file's extension. */
    private static byte[] text(SampleFile f, SplitMix64 random) {
        int size = (int) f.bytes();
        String head;
        String tail;
        if (f.path().endsWith(".html")) {
            head = "<!doctype html>\n<html><head><title>" + f.path() + "</title></head>\n<body><p>";
            tail = "</p></body></html>\n";
        } else if (f.path().endsWith(".json")) {
            head = "{\"path\":\"" + f.path() + "\",\"text\":\"";
            tail = "\"}\n";
        } else if (f.path().endsWith(".css")) {
            head = "/* " + f.path() + ": ";
            tail = " */\nbody { margin: 0; }\n";
        } else {
            head = f.path() + ": ";
            tail = "\n";
        }
        StringBuilder s = new StringBuilder(size);
        if (head.length() + tail.length() <= size) {
            s.append(head);
            while (s.length() < size - tail.length()) {
                s.append(WORDS[(int) ((random.next() >>> 1) % WORDS.length)]).append(' ');
            }
            s.setLength(size - tail.length());
            s.append(tail);
        }
        while (s.length() < size) {
            s.append('.');
        }
        return s.toString().getBytes(StandardCharsets.US_ASCII);
    }

    /** 64-bit FNV-1a over the UTF-8 bytes of a string. */
    static long fnv1a(String s) {
        long hash = 0xcbf29ce484222325L;
        for (byte b : s.getBytes(StandardCharsets.UTF_8)) {
            hash ^= b & 0xff;
            hash *= 0x100000001b3L;
        }
        return hash;
    }

    /** SplitMix64 (Steele, Lea, Flood 2014): tiny, fast, and its output is fixed by its definition. */
    static final class SplitMix64 {
        private long state;

        SplitMix64(long seed) {
            this.state = seed;
        }

        long next() {
            long z = (state += 0x9e3779b97f4a7c15L);
            z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
            z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
            return z ^ (z >>> 31);
        }
    }

    private static void createDirectories(Path dir) {
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
