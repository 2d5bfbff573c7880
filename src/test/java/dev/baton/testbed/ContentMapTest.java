package dev.baton.testbed;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ContentMapTest {
    @TempDir
    Path dir;

    @Test
    void filesInSeveralFoldersAreReplicated() throws IOException {
        write("n1/a/b.bin", "same");
        write("n2/a/b.bin", "same");
        write("n2/only.txt", "x");
        Files.createDirectories(dir.resolve("n3"));
        ContentMap map = ContentMap.scan(dir, 3);
        ContentEntry shared = map.find("/a/b.bin").orElseThrow();
        assertThat(shared.holders()).containsExactly("n1", "n2");
        assertThat(shared.replicated()).isTrue();
        assertThat(shared.bytes()).isEqualTo(4);
        // sha256("same")
        assertThat(shared.sha256()).isEqualTo("0967115f2813a3541eaef77de9d9d5773f1c0c04314b0bbfe4ff3b3b1c55b5d5");
        assertThat(map.heldBy("n2")).extracting(ContentEntry::path).containsExactly("/a/b.bin", "/only.txt");
        assertThat(map.heldBy("n3")).isEmpty();
    }

    @Test
    void entriesAreSortedByPath() throws IOException {
        write("n1/z.txt", "z");
        write("n1/a/x.txt", "x");
        write("n1/m b.txt", "m");
        assertThat(ContentMap.scan(dir, 1).entries())
                .extracting(ContentEntry::path)
                .containsExactly("/a/x.txt", "/m b.txt", "/z.txt");
    }

    @Test
    void refusesReplicasThatDiffer() throws IOException {
        write("n1/a.txt", "one");
        write("n2/a.txt", "two");
        assertThatThrownBy(() -> ContentMap.scan(dir, 2))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("/a.txt")
                .hasMessageContaining("n1")
                .hasMessageContaining("n2");
    }

    @Test
    void refusesAMissingNodeFolder() throws IOException {
        write("n1/a.txt", "one");
        assertThatThrownBy(() -> ContentMap.scan(dir, 2))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("no folder n2");
    }

    @Test
    void ignoresFoldersOfNodesBeyondTheCount() throws IOException {
        write("n1/a.txt", "one");
        write("n4/b.txt", "two");
        assertThat(ContentMap.scan(dir, 1).entries())
                .extracting(ContentEntry::path)
                .containsExactly("/a.txt");
    }

    private void write(String relative, String text) throws IOException {
        Path file = dir.resolve(relative);
        Files.createDirectories(file.getParent());
        Files.writeString(file, text);
    }
}
