package dev.baton.testbed;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SampleContentTest {
    @TempDir
    Path dir;

    @Test
    void generatesTheSameBytesOnEveryRun() {
        SampleContent.SampleFile logo = file(3, "/img/logo.png");
        assertThat(SampleContent.bytes(logo))
                .isEqualTo(SampleContent.bytes(logo))
                .hasSize(64 * 1024);
        // Pinned: the sample hashes are meant to be stable across runs, machines and JDKs.
        assertThat(ContentMap.sha256(SampleContent.bytes(file(3, "/data/1k.bin"))))
                .isEqualTo("4274d9f173daf96335154e1d9689e1782a6e13a84039cd53256486f18902805f");
        assertThat(ContentMap.sha256(SampleContent.bytes(file(3, "/api/data.json"))))
                .isEqualTo("2597afc15bcc702cb6f1c4401f72db26180eedbf9c6577e1295fec1d78a343f7");
    }

    @Test
    void textFilesAreReadableAndExactlyTheirSize() {
        String html = new String(SampleContent.bytes(file(3, "/docs/guide.html")), StandardCharsets.US_ASCII);
        assertThat(html).hasSize(8 * 1024).startsWith("<!doctype html>").endsWith("</html>\n");
        assertThat(SampleContent.bytes(file(3, "/empty.txt"))).isEmpty();
    }

    @Test
    void placesFilesOnTheNodesOfTheDesign() {
        ContentMap map = SampleContent.generate(dir, 3);
        assertThat(holders(map, "/index.html")).containsExactly("n1");
        assertThat(holders(map, "/video/big.bin")).containsExactly("n2");
        assertThat(map.find("/video/big.bin").orElseThrow().bytes()).isEqualTo(33L * 1024 * 1024);
        assertThat(holders(map, "/docs/a b%.txt")).containsExactly("n3");
        assertThat(holders(map, "/shared/site.css")).containsExactly("n1", "n3");
        assertThat(holders(map, "/shared/rep.bin")).containsExactly("n2", "n3");
        assertThat(map.find("/empty.txt").orElseThrow().bytes()).isZero();
        // 11 named files, a seven-rung size ladder per node, three replicated rungs and one 8 MiB file.
        assertThat(map.entries()).hasSize(11 + 3 * 7 + 4);
        assertThat(Files.exists(dir.resolve("n3/docs/a b%.txt"))).isTrue();
    }

    @Test
    void foldsFilesOntoFewerNodes() {
        List<SampleContent.SampleFile> two = SampleContent.files(2);
        assertThat(find(two, "/api/data.json").holders()).containsExactly(1);
        assertThat(find(two, "/shared/site.css").holders()).containsExactly(1);
        assertThat(find(two, "/shared/rep.bin").holders()).containsExactly(1, 2);
        assertThat(SampleContent.files(1))
                .allSatisfy(f -> assertThat(f.holders()).containsExactly(1));
    }

    @Test
    void givesEveryExtraNodeFilesOfItsOwnAndAReplica() {
        List<SampleContent.SampleFile> five = SampleContent.files(5);
        assertThat(find(five, "/extra/n4/page.html").holders()).containsExactly(4);
        assertThat(find(five, "/extra/n5/blob.bin").holders()).containsExactly(5);
        assertThat(find(five, "/extra/shared-n4.bin").holders()).containsExactly(4, 5);
        assertThat(find(five, "/extra/shared-n5.bin").holders()).containsExactly(1, 5);
        for (int n = 1; n <= 5; n++) {
            int node = n;
            assertThat(five).anyMatch(f -> f.holders().contains(node));
        }
    }

    @Test
    void everyNodeHoldsASizeLadderFromZeroTo1MiBAndOneNodeAn8MiBFile() {
        List<SampleContent.SampleFile> four = SampleContent.files(4);
        for (int n = 1; n <= 4; n++) {
            int node = n;
            List<Long> sizes = four.stream()
                    .filter(f -> f.path().startsWith("/mix/n" + node + "/"))
                    .peek(f -> assertThat(f.holders()).containsExactly(node))
                    .map(SampleContent.SampleFile::bytes)
                    .toList();
            assertThat(sizes).containsExactly(0L, 1L, 100L, 1024L, 10240L, 102400L, 1048576L);
        }
        assertThat(find(four, "/mix/rep/100.bin").holders()).containsExactly(1, 2);
        assertThat(find(four, "/mix/rep/10k.bin").holders()).containsExactly(2, 3);
        assertThat(find(four, "/mix/rep/1m.bin").holders()).containsExactly(3, 4);
        assertThat(find(four, "/mix/8m.bin").holders()).containsExactly(3);
        assertThat(find(four, "/mix/8m.bin").bytes()).isEqualTo(8L * 1024 * 1024);
        assertThat(SampleContent.bytes(find(four, "/mix/n2/1.bin"))).hasSize(1);
        // On disk: every holder has its own copy. About 53 MiB for four nodes, most of it the 33 MiB file.
        long disk = four.stream().mapToLong(f -> f.bytes() * f.holders().size()).sum();
        assertThat(disk).isBetween(52L << 20, 55L << 20);
    }

    private static SampleContent.SampleFile file(int nodes, String path) {
        return find(SampleContent.files(nodes), path);
    }

    private static SampleContent.SampleFile find(List<SampleContent.SampleFile> files, String path) {
        return files.stream().filter(f -> f.path().equals(path)).findFirst().orElseThrow();
    }

    private static List<String> holders(ContentMap map, String path) {
        return map.find(path).orElseThrow().holders();
    }
}
