package dev.baton.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.baton.btcp.Counter;
import dev.baton.node.Node;
import dev.baton.testbed.NodeInfo;
import dev.baton.testbed.Spec;
import dev.baton.testbed.Testbed;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The live dashboard, in headless Chromium in the client's namespace (as an operator's browser
 * would reach it): n1 serves the whole three-node cluster, its numbers move while requests are
 * handed off around the cluster, the screenshot shows a drawn page, and a node that dies is shown
 * down while the page goes on polling.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class DashboardIT {
    static final Path STATE = Path.of("/run/baton-testbed-dashboard");
    /** The viewport's width; the height follows the page's so the screenshot holds all of it. */
    static final int WIDTH = 1440;

    static final Path SCREENSHOT = Path.of("target", "dashboard-it.png");
    static final Path SCREENSHOT_DOWN = Path.of("target", "dashboard-it-node-down.png");
    /** Background color of the page (CSS --bg). */
    static final int BACKGROUND = 0x0e1116;
    /** Color of handoff edges (--handed) and of nodes that are up (--up). */
    static final int HANDED = 0xf0a145;

    static final int UP = 0x3fb950;

    Testbed bed;

    @BeforeAll
    void up() {
        EndToEnd.requireRoot();
        Chromium.binary(); // missing is a failure, not a skip: CI installs it
        bed = Testbed.up(Spec.defaults().withNodes(3).withStateDir(STATE));
    }

    @AfterAll
    void down() {
        if (bed != null) bed.down();
    }

    @Test
    void theDashboardShowsTheWholeClusterLive() throws Exception {
        Path script = LoadTools.script(bed, "dashboard-traffic.sh");
        Path stop = EndToEnd.scratch(bed, "dashboard-traffic.stop");
        Files.deleteIfExists(stop);
        String url = "http://" + bed.node(1).ip() + ":" + Node.Config.DEFAULT_METRICS_PORT + "/";
        Files.createDirectories(SCREENSHOT.getParent());
        Path log = Path.of("target", "dashboard-it-chromium.log");

        try (LoadTools.Background traffic = new LoadTools.Background(
                        bed,
                        EndToEnd.scratch(bed, "dashboard-traffic.out"),
                        List.of(
                                "bash",
                                script.toString(),
                                stop.toString(),
                                "90",
                                bed.node(1).ip(),
                                bed.node(2).ip(),
                                bed.node(3).ip()));
                Chromium browser = Chromium.start(bed.client().netns(), log, WIDTH, 1000)) {
            browser.navigate(url);
            browser.await(
                    "the page polled three times",
                    "document.body.dataset.ready === 'true' && +document.body.dataset.polls >= 3",
                    Duration.ofSeconds(30));

            // (a) All three nodes, up, in the table and in the graph.
            assertThat(browser.eval("[...document.querySelectorAll('#nodes tr[data-node-row]')]"
                                    + ".map(r => r.dataset.nodeRow + '=' + r.dataset.state).join(',')")
                            .asText())
                    .isEqualTo("n1=up,n2=up,n3=up");
            assertThat(browser.eval("document.querySelectorAll('#topology g[data-node][data-state=up]').length")
                            .asInt())
                    .isEqualTo(3);
            assertThat(browser.eval("document.getElementById('kpi-up').dataset.value")
                            .asText())
                    .isEqualTo("3");

            // (b) The numbers move while traffic runs: the cluster's handoff count grows between two
            // reads seconds apart, the rate is positive, and the edges the traffic takes carry it.
            browser.await(
                    "a handoff rate above zero",
                    "+document.getElementById('kpi-handoffs-rate').dataset.value > 0",
                    Duration.ofSeconds(20));
            long countedBefore = completedHandoffs();
            double first = number(browser, "kpi-handoffs-total");
            EndToEnd.sleep(3_000);
            double second = number(browser, "kpi-handoffs-total");
            assertThat(second).as("handoffs counted on the page, 3 s apart").isGreaterThan(first);
            assertThat(second)
                    .as("the page's count is the nodes' count of a moment ago")
                    .isGreaterThanOrEqualTo((double) countedBefore)
                    .isLessThanOrEqualTo((double) completedHandoffs());
            assertThat(number(browser, "kpi-handoffs-rate")).isPositive();
            assertThat(number(browser, "kpi-conn-rate")).isGreaterThanOrEqualTo(number(browser, "kpi-handoffs-rate"));
            double share = number(browser, "kpi-share");
            assertThat(share)
                    .as("handed-off share, percent: most of the traffic is handed off")
                    .isBetween(30.0, 100.0);
            for (String edge : List.of("n1>n2", "n2>n3", "n3>n1")) {
                assertThat(browser.eval("+(document.querySelector('#topology [data-edge=\"" + edge
                                        + "\"]') || {dataset: {}})" + ".dataset.rate || 0")
                                .asDouble())
                        .as("handoffs/s along " + edge)
                        .isPositive();
            }
            assertThat(browser.eval(
                                    "document.querySelectorAll('#topology [data-edge=\"n1>n3\"], #topology [data-edge=\"n2>n1\"]').length")
                            .asInt())
                    .as("no edge where no handoff went")
                    .isZero();
            assertThat(browser.eval("document.querySelector('#paths tbody tr').dataset.path")
                            .asText())
                    .as("the busiest path")
                    .isEqualTo("/data/1k.bin");
            assertThat(browser.eval(
                                    "[...document.querySelectorAll('#paths tr[data-path=\"/data/1k.bin\"] [data-served]')]"
                                            + ".map(c => c.dataset.served).join(',')")
                            .asText())
                    .isEqualTo("n2");
            // Connections served where they land count too, those the kernel decided included:
            // /empty.txt is asked only of n2, which holds it.
            browser.await(
                    "a row for /empty.txt",
                    "!!document.querySelector('#paths tr[data-path=\"/empty.txt\"]')",
                    Duration.ofSeconds(10));
            assertThat(browser.eval(
                                    "[...document.querySelectorAll('#paths tr[data-path=\"/empty.txt\"] [data-served]')]"
                                            + ".map(c => c.dataset.served).join(',')")
                            .asText())
                    .isEqualTo("n2");
            assertThat(browser.eval(
                                    "+document.querySelector('#nodes tr[data-node-row=n2] [data-field=handedInRate]').dataset.value")
                            .asDouble())
                    .as("n2 takes handoffs")
                    .isPositive();

            // (c) The screenshot: the page whole, drawn (many colors, most pixels not background,
            // the handoff edges and the up markers visible).
            int height = browser.eval("Math.ceil(document.documentElement.scrollHeight)")
                    .asInt();
            assertThat(height).isBetween(600, 4000);
            browser.resize(WIDTH, height);
            EndToEnd.sleep(1_200); // a poll redraws at the new size
            byte[] png = browser.screenshot();
            Files.write(SCREENSHOT, png);
            checkScreenshot(png, WIDTH, height);
            assertThat(browser.pageErrors).as("errors in the page").isEmpty();

            // Traffic ends; every response was right.
            Files.writeString(stop, "");
            String out = traffic.await(Duration.ofSeconds(30));
            List<String> lines = out.lines().toList();
            assertThat(lines.size()).as("responses").isGreaterThan(50);
            assertThat(lines).as("every response a 200").allMatch(l -> l.startsWith("200 n"));

            // A node that dies is shown down; the page keeps polling and still shows the others up.
            bed.kill(3);
            browser.await(
                    "n3 shown down or unreachable",
                    "document.querySelector('#nodes tr[data-node-row=n3]').dataset.state !== 'up'",
                    Duration.ofSeconds(20));
            int polls = browser.eval("+document.body.dataset.polls").asInt();
            browser.await(
                    "the page goes on polling",
                    "+document.body.dataset.polls >= " + (polls + 2),
                    Duration.ofSeconds(10));
            assertThat(browser.eval("document.getElementById('kpi-up').dataset.value")
                            .asText())
                    .isEqualTo("2");
            assertThat(browser.eval("[...document.querySelectorAll('#nodes tr[data-node-row]')]"
                                    + ".map(r => r.dataset.nodeRow + '=' + r.dataset.state).join(',')")
                            .asText())
                    .matches("n1=up,n2=up,n3=(down|unreachable)");
            browser.await(
                    "n3 shown down once its control link times out",
                    "document.querySelector('#nodes tr[data-node-row=n3]').dataset.state === 'down'",
                    Duration.ofSeconds(15));
            byte[] down = browser.screenshot();
            Files.write(SCREENSHOT_DOWN, down);
            checkImage(down);
            assertThat(browser.pageErrors).as("errors in the page").isEmpty();
        }
    }

    private long completedHandoffs() {
        long total = 0;
        for (NodeInfo n : bed.nodes()) total += EndToEnd.counter(bed, n.name(), Counter.HANDOFFS_COMPLETED);
        return total;
    }

    private static double number(Chromium browser, String id) {
        JsonNode v = browser.eval("document.getElementById('" + id + "').dataset.value");
        assertThat(v.asText()).as("#" + id + " has a value").isNotEmpty();
        return Double.parseDouble(v.asText());
    }

    private static void checkScreenshot(byte[] png, int width, int height) throws Exception {
        BufferedImage image = checkImage(png);
        assertThat(image.getWidth()).isEqualTo(width);
        assertThat(image.getHeight()).isEqualTo(height);
        Set<Integer> colors = new HashSet<>();
        long background = 0;
        long handed = 0;
        long up = 0;
        for (int y = 0; y < image.getHeight(); y++) {
            for (int x = 0; x < image.getWidth(); x++) {
                int rgb = image.getRGB(x, y) & 0xffffff;
                colors.add(rgb);
                if (near(rgb, BACKGROUND, 4)) background++;
                if (near(rgb, HANDED, 24)) handed++;
                if (near(rgb, UP, 24)) up++;
            }
        }
        long pixels = (long) image.getWidth() * image.getHeight();
        assertThat(colors.size()).as("distinct colors").isGreaterThan(200);
        assertThat(background).as("background pixels of " + pixels).isLessThan(pixels * 8 / 10);
        assertThat(handed).as("pixels of handoff edges and bars").isGreaterThan(300);
        assertThat(up).as("pixels of 'up' markers").isGreaterThan(100);
    }

    private static BufferedImage checkImage(byte[] png) throws Exception {
        assertThat(png).hasSizeGreaterThan(8);
        assertThat(Arrays.copyOf(png, 8))
                .as("PNG signature")
                .containsExactly(0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n');
        BufferedImage image = ImageIO.read(new ByteArrayInputStream(png));
        assertThat(image).as("a PNG that decodes").isNotNull();
        return image;
    }

    private static boolean near(int rgb, int target, int tolerance) {
        for (int shift = 0; shift <= 16; shift += 8) {
            if (Math.abs(((rgb >> shift) & 0xff) - ((target >> shift) & 0xff)) > tolerance) return false;
        }
        return true;
    }
}
