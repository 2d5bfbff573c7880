package dev.baton.route;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ContentIndexTest {
    /** n1 and n2 each hold their own tree; /shared/ is replicated on both. */
    private static ContentIndex cluster() {
        Map<String, List<String>> byNode = new LinkedHashMap<>();
        byNode.put("n2", List.of("/n2/index.html", "/n2/uploads/old.bin", "/shared/logo.png", "/top.txt"));
        byNode.put("n1", List.of("/n1/index.html", "/n1/img/a.png", "/shared/logo.png"));
        return ContentIndex.of(byNode);
    }

    @Test
    void partitionedFileHasItsOneHolder() {
        ContentIndex index = cluster();

        assertThat(index.holders("/n1/img/a.png")).containsExactly("n1");
        assertThat(index.holders("/n2/index.html")).containsExactly("n2");
        assertThat(index.holders("/top.txt")).containsExactly("n2");
    }

    @Test
    void replicatedFileListsEveryHolderSortedByName() {
        assertThat(cluster().holders("/shared/logo.png")).containsExactly("n1", "n2");
    }

    @Test
    void unannouncedFileFallsBackToItsDirectory() {
        ContentIndex index = cluster();

        assertThat(index.holders("/n2/uploads/new.bin"))
                .isEqualTo(index.holders("/n2/uploads/"))
                .containsExactly("n2");
        assertThat(index.holders("/shared/new.css")).containsExactly("n1", "n2");
    }

    @Test
    void announcedDirectoryIsItselfAPath() {
        assertThat(cluster().holders("/n2/uploads/")).containsExactly("n2");
    }

    @Test
    void deepestAnnouncedDirectoryWins() {
        ContentIndex index = ContentIndex.of(Map.of(
                "a", List.of("/d/x.txt"),
                "b", List.of("/d/e/f/y.txt")));

        assertThat(index.holders("/d/e/f/new.txt")).containsExactly("b");
        assertThat(index.holders("/d/e/new.txt")).containsExactly("b");
        assertThat(index.holders("/d/new.txt")).containsExactly("a", "b");
        assertThat(index.holders("/d/e/f/g/h/deep.txt")).containsExactly("b");
    }

    @Test
    void rootNeverMatches() {
        ContentIndex index = cluster();

        assertThat(index.holders("/unknown.txt")).isEmpty();
        assertThat(index.holders("/nowhere/at/all.txt")).isEmpty();
        assertThat(index.holders("/")).isEmpty();
        assertThat(index.paths()).doesNotContain("/");
    }

    @Test
    void rootLevelFileDoesNotMakeRootADirectoryHolder() {
        ContentIndex index = ContentIndex.of(Map.of("a", List.of("/only.txt")));

        assertThat(index.holders("/only.txt")).containsExactly("a");
        assertThat(index.holders("/other.txt")).isEmpty();
        assertThat(index.paths()).containsExactly("/only.txt");
    }

    @Test
    void exactHoldersHasNoDirectoryFallback() {
        ContentIndex index = cluster();

        assertThat(index.exactHolders("/n2/uploads/new.bin")).isEmpty();
        assertThat(index.exactHolders("/n2/uploads/old.bin")).containsExactly("n2");
        assertThat(index.exactHolders("/shared/logo.png")).containsExactly("n1", "n2");
        assertThat(index.exactHolders(null)).isEmpty();
    }

    @Test
    void nullPathHasNoHolders() {
        assertThat(cluster().holders(null)).isEmpty();
    }

    @Test
    void emptyIndexHoldsNothing() {
        ContentIndex index = ContentIndex.empty();

        assertThat(index.holders("/a/b")).isEmpty();
        assertThat(index.exactHolders("/a/b")).isEmpty();
        assertThat(index.size()).isZero();
        assertThat(index.paths()).isEmpty();
    }

    @Test
    void odditiesInPathsAreMatchedInTheirDecodedForm() {
        ContentIndex index =
                ContentIndex.of(Map.of("a", List.of("/img/a b.png", "/100%.txt", "/docs/ünïcødé/日本.html")));

        assertThat(index.holders("/img/a b.png")).containsExactly("a");
        assertThat(index.holders("/100%.txt")).containsExactly("a");
        assertThat(index.holders("/docs/ünïcødé/日本.html")).containsExactly("a");
        assertThat(index.holders("/docs/ünïcødé/new.html")).containsExactly("a");
        // The encoded forms were not announced: the index does no decoding of its own.
        assertThat(index.exactHolders("/img/a%20b.png")).isEmpty();
        assertThat(index.exactHolders("/100%25.txt")).isEmpty();
    }

    @Test
    void pathsListsFilesAndTheirDirectoriesSorted() {
        ContentIndex index = ContentIndex.of(Map.of("a", List.of("/x/y/z.txt", "/b.txt")));

        assertThat(index.paths()).containsExactly("/b.txt", "/x/", "/x/y/", "/x/y/z.txt");
        assertThat(index.size()).isEqualTo(4);
    }

    @Test
    void holderListsCannotBeModified() {
        List<String> h = cluster().holders("/shared/logo.png");

        assertThatThrownBy(() -> h.add("intruder")).isInstanceOf(UnsupportedOperationException.class);
    }
}
