package dev.baton.node;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DocumentRootTest {
    @TempDir
    Path tmp;

    private Path root() throws IOException {
        return Files.createDirectories(tmp.resolve("root"));
    }

    private static void file(Path root, String relative) throws IOException {
        Path f = root.resolve(relative);
        Files.createDirectories(f.getParent());
        Files.writeString(f, relative);
    }

    @Test
    void listsNestedFilesAsUrlPaths() throws IOException {
        Path root = root();
        file(root, "index.html");
        file(root, "img/logo.png");
        file(root, "a/b/c/deep.txt");

        assertThat(DocumentRoot.scan(root)).containsExactly("/a/b/c/deep.txt", "/img/logo.png", "/index.html");
    }

    @Test
    void ignoresEmptyDirectories() throws IOException {
        Path root = root();
        Files.createDirectories(root.resolve("empty/also-empty"));
        file(root, "x.txt");

        assertThat(DocumentRoot.scan(root)).containsExactly("/x.txt");
    }

    @Test
    void emptyRootHasNoPaths() throws IOException {
        assertThat(DocumentRoot.scan(root())).isEmpty();
    }

    @Test
    void doesNotListASymlinkToAFileOutsideTheRoot() throws IOException {
        Path root = root();
        file(root, "inside.txt");
        Path secret = Files.writeString(tmp.resolve("secret.txt"), "not for the web");
        Files.createSymbolicLink(root.resolve("leak.txt"), secret);

        assertThat(Files.isRegularFile(root.resolve("leak.txt")))
                .as("the link resolves")
                .isTrue();
        assertThat(DocumentRoot.scan(root)).containsExactly("/inside.txt");
    }

    @Test
    void doesNotDescendIntoASymlinkToADirectoryOutsideTheRoot() throws IOException {
        Path root = root();
        file(root, "inside.txt");
        Path outside = Files.createDirectories(tmp.resolve("outside"));
        Files.writeString(outside.resolve("private.txt"), "not for the web");
        Files.createSymbolicLink(root.resolve("linked-dir"), outside);

        assertThat(DocumentRoot.scan(root)).containsExactly("/inside.txt");
    }

    @Test
    void listsNamesWithSpacesPercentAndUnicodeDecoded() throws IOException {
        Path root = root();
        file(root, "img/a b.png");
        file(root, "100%.txt");
        file(root, "ünï/日本.html");

        assertThat(DocumentRoot.scan(root)).containsExactly("/100%.txt", "/img/a b.png", "/ünï/日本.html");
    }

    @Test
    void outputIsSorted() throws IOException {
        Path root = root();
        for (String n : new String[] {"z.txt", "m/b.txt", "a.txt", "m/a.txt", "B.txt", "m.txt"}) {
            file(root, n);
        }

        assertThat(DocumentRoot.scan(root))
                .isSorted()
                .containsExactly("/B.txt", "/a.txt", "/m.txt", "/m/a.txt", "/m/b.txt", "/z.txt");
    }

    @Test
    void refusesAPlainFileAsRoot() throws IOException {
        Path f = Files.writeString(tmp.resolve("plain.txt"), "x");

        assertThatThrownBy(() -> DocumentRoot.scan(f))
                .isInstanceOf(IOException.class)
                .hasMessageContaining("not a directory");
    }

    @Test
    void refusesAMissingRoot() {
        assertThatThrownBy(() -> DocumentRoot.scan(tmp.resolve("missing")))
                .isInstanceOf(IOException.class)
                .hasMessageContaining("not a directory");
    }
}
