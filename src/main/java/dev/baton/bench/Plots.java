package dev.baton.bench;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.FontMetrics;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.DoubleFunction;
import java.util.function.ToDoubleFunction;
import javax.imageio.ImageIO;

/**
 * Bar charts of a run, drawn with Java2D (headless): one panel per workload, each with its own
 * scale (a 1 KiB and a 64 MiB workload differ by orders of magnitude), one bar per path, the value
 * printed on each bar. A cell with errors is drawn hatched grey and marked "errors".
 */
public final class Plots {
    public static final int WIDTH = 1200;
    public static final int HEIGHT = 520;
    private static final Color[] PATH_COLORS = {
        new Color(0x55, 0x55, 0x55),
        new Color(0x1f, 0x77, 0xb4),
        new Color(0x2c, 0xa0, 0x2c),
        new Color(0xd6, 0x27, 0x28),
        new Color(0xff, 0x7f, 0x0e)
    };

    private Plots() {}

    /** One bar: its value, a label printed above it, and whether its cell had errors. */
    record Bar(double value, String label, boolean failed) {}

    /** One panel: a title and one group of bars per path (one bar, or p50 and p99). */
    record Panel(String title, List<List<Bar>> groups) {}

    /** Writes {@code requests.png}, {@code throughput.png} and {@code latency.png} into {@code dir}. */
    public static List<Path> writeAll(BenchResult r, Path dir) {
        List<Path> files = new ArrayList<>();
        files.add(write(
                chart(
                        "Requests per second (higher is better)",
                        panels(r, true, false, m -> m.requestsPerSecond(), v -> String.format("%,.0f", v))),
                dir.resolve("requests.png")));
        files.add(write(
                chart(
                        "MB/s read by the client (higher is better)",
                        panels(r, false, false, Measurement::megabytesPerSecond, v -> String.format("%,.0f", v))),
                dir.resolve("throughput.png")));
        files.add(write(
                chart(
                        "Latency p50 (dark) and p99 (light), ms (lower is better)",
                        panels(r, true, true, Measurement::p50Micros, v -> String.format("%.2f", v / 1000))),
                dir.resolve("latency.png")));
        return files;
    }

    private static List<Panel> panels(
            BenchResult r,
            boolean wrkOnly,
            boolean withP99,
            ToDoubleFunction<Measurement> value,
            DoubleFunction<String> label) {
        List<Panel> panels = new ArrayList<>();
        for (Workload w : Workload.values()) {
            if (wrkOnly && !w.usesWrk()) continue;
            List<List<Bar>> groups = new ArrayList<>();
            for (BenchPath p : BenchPath.values()) {
                Measurement m = r.cell(p, w);
                List<Bar> bars = new ArrayList<>();
                if (m != null) {
                    double v = value.applyAsDouble(m);
                    bars.add(new Bar(v, label.apply(v), !m.ok()));
                    if (withP99) {
                        bars.add(new Bar(m.p99Micros(), label.apply(m.p99Micros()), !m.ok()));
                    }
                }
                groups.add(bars);
            }
            panels.add(new Panel(w.label(), groups));
        }
        return panels;
    }

    /** The chart: a title, a legend of the paths, and the panels side by side. */
    static BufferedImage chart(String title, List<Panel> panels) {
        BufferedImage image = new BufferedImage(WIDTH, HEIGHT, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = image.createGraphics();
        try {
            g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
            g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
            g.setColor(Color.WHITE);
            g.fillRect(0, 0, WIDTH, HEIGHT);
            g.setColor(Color.BLACK);
            g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 18));
            g.drawString(title, 20, 30);
            legend(g);
            int top = 90, bottom = HEIGHT - 50, left = 20;
            int panelWidth = panels.isEmpty() ? 0 : (WIDTH - 2 * left) / panels.size();
            for (int i = 0; i < panels.size(); i++) {
                drawPanel(g, panels.get(i), left + i * panelWidth, top, panelWidth - 20, bottom - top);
            }
        } finally {
            g.dispose();
        }
        return image;
    }

    private static void legend(Graphics2D g) {
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 13));
        int x = 20;
        for (BenchPath p : BenchPath.values()) {
            g.setColor(PATH_COLORS[p.ordinal()]);
            g.fillRect(x, 46, 14, 14);
            g.setColor(Color.BLACK);
            g.drawString(p.label(), x + 20, 58);
            x += 20 + g.getFontMetrics().stringWidth(p.label()) + 24;
        }
    }

    private static void drawPanel(Graphics2D g, Panel panel, int x, int y, int w, int h) {
        double max = 0;
        for (List<Bar> group : panel.groups()) {
            for (Bar b : group) {
                if (Double.isFinite(b.value())) max = Math.max(max, b.value());
            }
        }
        g.setColor(Color.BLACK);
        g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 14));
        FontMetrics fm = g.getFontMetrics();
        g.drawString(panel.title(), x + (w - fm.stringWidth(panel.title())) / 2, y + h + 30);
        int base = y + h;
        g.setStroke(new BasicStroke(1));
        g.drawLine(x, base, x + w, base);
        int groups = Math.max(1, panel.groups().size());
        int slot = w / groups;
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 11));
        fm = g.getFontMetrics();
        for (int i = 0; i < panel.groups().size(); i++) {
            List<Bar> bars = panel.groups().get(i);
            if (bars.isEmpty()) continue;
            int barWidth = (slot - 8) / bars.size();
            for (int k = 0; k < bars.size(); k++) {
                Bar b = bars.get(k);
                double v = Double.isFinite(b.value()) ? b.value() : 0;
                int bh = max > 0 ? (int) Math.round((h - 40) * v / max) : 0;
                int bx = x + i * slot + 4 + k * barWidth;
                Color c = PATH_COLORS[i % PATH_COLORS.length];
                g.setColor(
                        b.failed()
                                ? Color.LIGHT_GRAY
                                : k == 0 ? c : c.brighter().brighter());
                g.fillRect(bx, base - bh, barWidth - 2, bh);
                if (b.failed()) {
                    g.setColor(Color.DARK_GRAY);
                    for (int d = 0; d < bh; d += 6) g.drawLine(bx, base - d, bx + barWidth - 3, base - d - 4);
                }
                g.setColor(Color.BLACK);
                String text = b.failed() ? "errors" : b.label();
                // Labels of narrow bars are drawn turned, so neighbours do not overlap.
                if (fm.stringWidth(text) <= barWidth) {
                    g.drawString(text, bx + (barWidth - 2 - fm.stringWidth(text)) / 2, base - bh - 4);
                } else {
                    Graphics2D r = (Graphics2D) g.create();
                    r.translate(bx + barWidth / 2 + 4, base - bh - 4);
                    r.rotate(-Math.PI / 2);
                    r.drawString(text, 0, 0);
                    r.dispose();
                }
            }
        }
    }

    static Path write(BufferedImage image, Path file) {
        try {
            if (!ImageIO.write(image, "png", file.toFile())) {
                throw new IllegalStateException("no PNG writer in this JDK");
            }
            return file;
        } catch (IOException e) {
            throw new UncheckedIOException("writing " + file, e);
        }
    }
}
