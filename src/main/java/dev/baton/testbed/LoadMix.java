package dev.baton.testbed;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.SplittableRandom;

/**
 * Which requests a load run makes: a seeded, repeatable choice of path (weighted by size class) and
 * of entry node (uniform) for each request.
 *
 * <p>Files are grouped into size classes by inclusive upper bound (0 B, 100 B, 1 KiB, 10 KiB,
 * 100 KiB, 1 MiB, 8 MiB); each request first draws a class by its weight, then a file of that
 * class uniformly. Classes that hold no file are left out and the others keep their relative
 * weights; files above the last bound are never asked for (the 33 MiB sample file stays out of a
 * default run). The {@link #standard() standard mix} is mostly small files with some of 1 MiB and
 * a few of up to 8 MiB: 2,000 requests over the four-node sample content move 190-250 MiB
 * (depending on the seed; 186 MiB with seed 1), about 5 to 12 of them 8 MiB.
 *
 * @param classes the size classes, by increasing bound
 */
public record LoadMix(List<SizeClass> classes) {
    /**
     * Files of at most {@code maxBytes} and above the previous class's bound.
     *
     * @param label a short name for reports
     * @param maxBytes inclusive upper bound
     * @param weight relative weight, zero or more
     */
    public record SizeClass(String label, long maxBytes, int weight) {
        public SizeClass {
            Objects.requireNonNull(label, "label");
            if (maxBytes < 0 || weight < 0) {
                throw new IllegalArgumentException("size class " + label + ": bound and weight must be >= 0");
            }
        }
    }

    /** Where one request goes: a name for reports ({@code n2}), a host and a port. */
    public record Target(String name, String host, int port) {
        public Target {
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(host, "host");
        }

        /** Node {@code node}'s service address. */
        public static Target of(NodeInfo node) {
            return new Target(node.name(), node.ip(), node.port());
        }
    }

    /**
     * One planned request.
     *
     * @param index position in the plan, from 0
     * @param expected the file asked for, with its size and hash
     * @param entry the node the request is sent to
     */
    public record Request(int index, ContentEntry expected, Target entry) {
        /** True when the entry node does not hold the file, so the request should be handed off. */
        public boolean remote() {
            return !expected.holders().contains(entry.name());
        }
    }

    public LoadMix {
        classes = List.copyOf(classes);
        if (classes.isEmpty()) {
            throw new IllegalArgumentException("a load mix needs at least one size class");
        }
        for (int i = 1; i < classes.size(); i++) {
            if (classes.get(i).maxBytes() <= classes.get(i - 1).maxBytes()) {
                throw new IllegalArgumentException("size classes must have increasing bounds");
            }
        }
    }

    /**
     * The standard mix, weights per thousand requests: 0 B 30, up to 100 B 150, 1 KiB 220, 10 KiB
     * 260, 100 KiB 280, 1 MiB 52, 8 MiB 8.
     */
    public static LoadMix standard() {
        return new LoadMix(List.of(
                new SizeClass("0 B", 0, 30),
                new SizeClass("<=100 B", 100, 150),
                new SizeClass("<=1 KiB", 1024, 220),
                new SizeClass("<=10 KiB", 10 * 1024, 260),
                new SizeClass("<=100 KiB", 100 * 1024, 280),
                new SizeClass("<=1 MiB", 1024 * 1024, 52),
                new SizeClass("<=8 MiB", 8L * 1024 * 1024, 8)));
    }

    /**
     * A mix written as {@code BOUND=WEIGHT,...} with bounds in bytes or with a {@code k} or
     * {@code m} suffix (KiB, MiB), e.g. {@code 0=30,100=150,1k=220,10k=260,100k=280,1m=52,8m=8}
     * (the standard mix, which {@link #spec()} writes back).
     *
     * @throws IllegalArgumentException with what is wrong
     */
    public static LoadMix parse(String spec) {
        List<SizeClass> classes = new ArrayList<>();
        for (String part : spec.split(",")) {
            String[] kv = part.strip().split("=");
            if (kv.length != 2
                    || !kv[0].strip().matches("\\d{1,12}[kKmM]?")
                    || !kv[1].strip().matches("\\d{1,6}")) {
                throw new IllegalArgumentException("a mix is BOUND=WEIGHT,... (e.g. 0=30,1k=200,8m=8), not: " + spec);
            }
            String bound = kv[0].strip();
            char unit = Character.toLowerCase(bound.charAt(bound.length() - 1));
            long scale = unit == 'k' ? 1024 : unit == 'm' ? 1024 * 1024 : 1;
            long bytes = Long.parseLong(scale == 1 ? bound : bound.substring(0, bound.length() - 1)) * scale;
            classes.add(new SizeClass("<=" + bound, bytes, Integer.parseInt(kv[1].strip())));
        }
        return new LoadMix(classes);
    }

    /** This mix in the form {@link #parse} reads. */
    public String spec() {
        StringBuilder s = new StringBuilder();
        for (SizeClass c : classes) {
            long b = c.maxBytes();
            String bound = b > 0 && b % (1024 * 1024) == 0
                    ? b / (1024 * 1024) + "m"
                    : b > 0 && b % 1024 == 0 ? b / 1024 + "k" : Long.toString(b);
            s.append(s.isEmpty() ? "" : ",").append(bound).append('=').append(c.weight());
        }
        return s.toString();
    }

    /** The largest file this mix asks for. */
    public long maxBytes() {
        return classes.getLast().maxBytes();
    }

    /** The class a file of {@code bytes} falls in, or -1 if it is larger than every bound. */
    public int classOf(long bytes) {
        for (int i = 0; i < classes.size(); i++) {
            if (bytes <= classes.get(i).maxBytes()) {
                return i;
            }
        }
        return -1;
    }

    /**
     * {@code count} requests over {@code content}, to entry nodes drawn uniformly from
     * {@code entries}; the same arguments give the same plan.
     *
     * @throws IllegalArgumentException if no file falls in a class of non-zero weight, or there
     *     are no entries
     */
    public List<Request> plan(ContentMap content, List<Target> entries, int count, long seed) {
        if (entries.isEmpty()) {
            throw new IllegalArgumentException("a load run needs at least one entry node");
        }
        if (count < 0) {
            throw new IllegalArgumentException("request count must be >= 0, got " + count);
        }
        List<List<ContentEntry>> byClass = new ArrayList<>();
        for (int i = 0; i < classes.size(); i++) {
            byClass.add(new ArrayList<>());
        }
        for (ContentEntry e : content.entries()) {
            int c = classOf(e.bytes());
            if (c >= 0) {
                byClass.get(c).add(e);
            }
        }
        int[] weights = new int[classes.size()];
        int total = 0;
        for (int i = 0; i < classes.size(); i++) {
            weights[i] = byClass.get(i).isEmpty() ? 0 : classes.get(i).weight();
            total += weights[i];
        }
        if (total == 0) {
            throw new IllegalArgumentException(
                    "no file of the content falls in a size class of this mix (largest " + maxBytes() + " bytes)");
        }
        SplittableRandom random = new SplittableRandom(seed);
        List<Request> plan = new ArrayList<>(count);
        for (int n = 0; n < count; n++) {
            int pick = random.nextInt(total);
            int c = 0;
            while (pick >= weights[c]) {
                pick -= weights[c];
                c++;
            }
            List<ContentEntry> files = byClass.get(c);
            ContentEntry file = files.get(random.nextInt(files.size()));
            Target entry = entries.get(random.nextInt(entries.size()));
            plan.add(new Request(n, file, entry));
        }
        return plan;
    }

    /** Total body bytes of a plan. */
    public static long bytes(List<Request> plan) {
        return plan.stream().mapToLong(r -> r.expected().bytes()).sum();
    }

    /** Requests of a plan whose entry node does not hold the file. */
    public static long remote(List<Request> plan) {
        return plan.stream().filter(Request::remote).count();
    }
}
