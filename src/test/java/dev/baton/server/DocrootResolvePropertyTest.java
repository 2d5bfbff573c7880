package dev.baton.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.baton.http.RequestParser;
import dev.baton.http.RequestParser.Result;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.lifecycle.BeforeContainer;

/**
 * The built-in server's resolver ({@link Connection#resolve}) never yields a path outside the
 * document root, whatever it is given: raw strings with dot segments, backslashes and encodings, or
 * what the parser makes of a hostile target; symbolic links inside the root that lead out (absolute,
 * relative, to a directory, a loop) are never followed out.
 */
class DocrootResolvePropertyTest {
    static final String CANARY = "CANARY-outside-the-docroot-7f3a";
    static Path tmp;
    static Path docroot;

    @BeforeContainer
    static void tree() throws IOException {
        tmp = Files.createTempDirectory("baton-resolve");
        Files.writeString(tmp.resolve("secret.txt"), CANARY);
        Files.createDirectories(tmp.resolve("root2"));
        Files.writeString(tmp.resolve("root2/x.txt"), CANARY);
        Path root = Files.createDirectories(tmp.resolve("root"));
        Files.writeString(root.resolve("a.txt"), "a");
        Files.createDirectories(root.resolve("dir/sub"));
        Files.writeString(root.resolve("dir/index.html"), "index");
        Files.writeString(root.resolve("dir/sub/b.txt"), "b");
        Files.writeString(root.resolve("..\\x"), "backslash");
        Files.createSymbolicLink(root.resolve("link-abs"), tmp.resolve("secret.txt"));
        Files.createSymbolicLink(root.resolve("link-rel"), Path.of("../secret.txt"));
        Files.createSymbolicLink(root.resolve("dir/link-up"), Path.of("../../secret.txt"));
        Files.createSymbolicLink(root.resolve("linkdir-out"), tmp);
        Files.createSymbolicLink(root.resolve("linkdir-in"), Path.of("dir"));
        Files.createSymbolicLink(root.resolve("link-in"), Path.of("a.txt"));
        Files.createSymbolicLink(root.resolve("loop"), Path.of("loop"));
        Files.createSymbolicLink(root.resolve("dangling"), Path.of("nowhere"));
        docroot = root.toRealPath();
    }

    @AfterContainer
    static void removeTree() throws IOException {
        try (Stream<Path> all = Files.walk(tmp)) {
            for (Path p : all.sorted(Comparator.reverseOrder()).toList()) Files.delete(p);
        }
    }

    private static final List<String> SEGMENTS = List.of(
            "..",
            ".",
            "",
            "a.txt",
            "dir",
            "sub",
            "b.txt",
            "index.html",
            "link-abs",
            "link-rel",
            "link-up",
            "linkdir-out",
            "linkdir-in",
            "link-in",
            "loop",
            "dangling",
            "root",
            "root2",
            "x.txt",
            "secret.txt",
            "..\\x",
            "\\",
            "%2e%2e",
            "%2e",
            "%2f",
            "%2F",
            "%5c",
            "%252e",
            "%00",
            "%c0%ae",
            "..;",
            "...",
            "~",
            "/");

    @Provide
    Arbitrary<String> paths() {
        Arbitrary<String> joined = Arbitraries.of(SEGMENTS).list().ofMaxSize(8).map(l -> "/" + String.join("/", l));
        Arbitrary<String> noise = Arbitraries.strings()
                .withChars("./\\%2eEfF5cC0a")
                .ofMaxLength(30)
                .map(s -> "/" + s);
        Arbitrary<String> anything = Arbitraries.strings().ofMaxLength(40); // any UTF-16, not even starting with '/'
        return Arbitraries.oneOf(joined, joined, noise, anything);
    }

    @Property(tries = 3000)
    void neverResolvesOutsideTheDocroot(@ForAll("paths") String raw) throws IOException {
        checkResolved(raw, Connection.resolve(docroot, raw));
        // What the server really resolves: the parser's routing path of that target, when it has one.
        byte[] head = ("GET " + raw + " HTTP/1.1\r\nHost: t\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1);
        RequestParser p = new RequestParser();
        if (p.feed(head, 0, head.length) == Result.COMPLETE && p.path() != null) {
            assertThat(p.path()).startsWith("/").doesNotContain("/../").doesNotEndWith("/..");
            checkResolved(raw, Connection.resolve(docroot, p.path()));
        }
    }

    private static void checkResolved(String raw, Path file) {
        if (file == null) return;
        assertThat(file).as("resolved from %s", raw).startsWith(docroot);
        assertThat(Files.isRegularFile(file)).isTrue();
        try {
            assertThat(Files.readString(file)).as("resolved from %s", raw).doesNotContain(CANARY);
            assertThat(file.toRealPath()).isEqualTo(file);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Property(tries = 50)
    void resolvesWhatLiesInsideIncludingLinksThatStayInside(@ForAll("inside") String path) {
        // The other direction: the check must not make the server refuse its own files.
        assertThat(Connection.resolve(docroot, path)).as(path).isNotNull();
    }

    @Provide
    Arbitrary<String> inside() {
        return Arbitraries.of(
                "/a.txt",
                "/dir/",
                "/dir",
                "/dir/sub/b.txt",
                "/link-in",
                "/linkdir-in/sub/b.txt",
                "/linkdir-in/",
                "/..\\x",
                "/linkdir-out/root/a.txt");
    }
}
