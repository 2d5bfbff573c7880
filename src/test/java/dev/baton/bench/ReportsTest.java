package dev.baton.bench;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** bench.md, bench.json and the PNGs from made-up cells. */
class ReportsTest {
    static BenchResult result(List<Measurement> cells) {
        Map<String, String> setup = new LinkedHashMap<>();
        setup.put("kernel", "6.18.0-test");
        setup.put("client", "4 wrk processes");
        return BenchResult.of(setup, cells);
    }

    static List<Measurement> withAnError() {
        List<Measurement> cells = new ArrayList<>(Cells.all());
        Measurement h = cells.removeLast();
        cells.add(new Measurement(
                h.path(),
                h.workload(),
                0,
                0,
                0,
                0,
                0,
                Map.of(),
                0,
                "n1",
                0,
                0,
                0,
                0,
                List.of("status 502", "received 0 bytes, expected 67108864")));
        return cells;
    }

    @Test
    void markdownHasOneRowPerCellTheTargetsAndShowsEveryError() {
        String md = MarkdownReport.render(result(withAnError()));
        assertThat(md).contains("- kernel: 6.18.0-test");
        long rows =
                md.lines().filter(l -> l.startsWith("| ") && l.contains(" | (")).count();
        assertThat(rows).isEqualTo((long) Workload.values().length * BenchPath.values().length);
        assertThat(md).contains("| 1 KiB, new connection | (c) baton, handoff | 6,000 | ");
        assertThat(md).contains("| 1.65 ms | 4.60 ms | 10 / 20 / 30 / 40 | n1 | 20.0% | 75% | 0 |");
        assertThat(md).contains("**status 502; received 0 bytes, expected 67108864**");
        assertThat(md).contains("**Errors (2):**");
        assertThat(md).contains("- (e) nginx proxy on n1, one 64 MiB: status 502");
        assertThat(md)
                .contains(
                        "| handoff overhead, p50 latency (c) - (b), 1 KiB, new connection | 150 us | <= 100 us | MISS | 50 us over |");
        assertThat(md).contains("softirq").containsIgnoringCase("not fully attributed");
        assertThat(MarkdownReport.render(result(Cells.all()))).contains("No errors.");
    }

    @Test
    void latencyIsWrittenInItsUnit() {
        assertThat(MarkdownReport.latency(652)).isEqualTo("652 us");
        assertThat(MarkdownReport.latency(1450)).isEqualTo("1.45 ms");
        assertThat(MarkdownReport.latency(2_500_000)).isEqualTo("2.50 s");
    }

    @Test
    void jsonHoldsEveryCellAndTargetWithNullForWhatWasNotMeasured() throws Exception {
        String text = JsonReport.render(result(withAnError()));
        JsonNode root = JsonReport.JSON.readTree(text);
        assertThat(root.path("setup").path("kernel").asText()).isEqualTo("6.18.0-test");
        JsonNode cells = root.path("measurements");
        assertThat(cells.size()).isEqualTo(Workload.values().length * BenchPath.values().length);
        JsonNode first = cells.get(0);
        assertThat(first.path("path").asText()).isEqualTo("direct");
        assertThat(first.path("workload").asText()).isEqualTo("small_close");
        assertThat(first.path("requestsPerSecond").asDouble()).isEqualTo(15_000);
        assertThat(first.path("cpuMicrosPerRequest").path("n3").asDouble()).isEqualTo(30);
        assertThat(first.path("errors").size()).isZero();
        JsonNode failed = cells.get(cells.size() - 1);
        assertThat(failed.path("errors").get(0).asText()).isEqualTo("status 502");
        assertThat(failed.path("entryShare").isNull())
                .as("0 of 0 bytes is no share")
                .isTrue();
        JsonNode targets = root.path("targets");
        assertThat(targets.size())
                .isEqualTo(Targets.compute(BenchResult.cells(withAnError())).size());
        assertThat(targets.get(0).path("value").asDouble()).isEqualTo(150);
        assertThat(targets.get(0).path("verdict").asText()).isEqualTo("MISS");
        assertThat(targets.get(0).path("gap").asDouble()).isEqualTo(50);
    }

    @Test
    void plotsAreDecodablePngsOfTheStatedSize(@TempDir Path dir) throws Exception {
        List<Path> files = Plots.writeAll(result(withAnError()), dir);
        assertThat(files)
                .extracting(p -> p.getFileName().toString())
                .containsExactly("requests.png", "throughput.png", "latency.png");
        for (Path f : files) {
            byte[] head = Files.readAllBytes(f);
            assertThat(head).startsWith((byte) 0x89, (byte) 'P', (byte) 'N', (byte) 'G');
            BufferedImage image = ImageIO.read(f.toFile());
            assertThat(image).as(f.toString()).isNotNull();
            assertThat(image.getWidth()).isEqualTo(Plots.WIDTH);
            assertThat(image.getHeight()).isEqualTo(Plots.HEIGHT);
            assertThat(distinctColours(image)).as("something was drawn in " + f).isGreaterThan(5);
        }
    }

    @Test
    void aTallerBarMeansALargerValue() {
        // One panel, two paths: the second value is twice the first, so its bar is about twice as tall.
        BufferedImage image = Plots.chart(
                "t",
                List.of(new Plots.Panel(
                        "p",
                        List.of(
                                List.of(new Plots.Bar(100, "100", false)),
                                List.of(new Plots.Bar(200, "200", false))))));
        int slot = (Plots.WIDTH - 40 - 20) / 2;
        int first = barHeight(image, 20 + 4 + slot / 2);
        int second = barHeight(image, 20 + slot + 4 + slot / 2);
        assertThat(first).isPositive();
        assertThat((double) second / first).isBetween(1.9, 2.1);
    }

    /** Height of the non-white run that ends on the axis at column {@code x}. */
    static int barHeight(BufferedImage image, int x) {
        int base = Plots.HEIGHT - 50 - 1;
        int h = 0;
        while (base - h > 0 && (image.getRGB(x, base - h) & 0xffffff) != 0xffffff) h++;
        return h;
    }

    static int distinctColours(BufferedImage image) {
        Set<Integer> seen = new HashSet<>();
        for (int y = 0; y < image.getHeight(); y += 7) {
            for (int x = 0; x < image.getWidth(); x += 7) seen.add(image.getRGB(x, y));
        }
        return seen.size();
    }
}
