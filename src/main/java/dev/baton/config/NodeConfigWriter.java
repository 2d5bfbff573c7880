package dev.baton.config;

import dev.baton.fault.FaultRule;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Writes a node's config file as {@link NodeConfig#load} reads it, so that whoever makes configs
 * (the testbed, the tests) makes them one way: the layout and the quoting live here, beside the
 * parser, and {@code NodeConfigWriterTest} reads every field it writes back. What is not set is
 * left out, and the parser's default holds.
 *
 * <pre>{@code
 * String yaml = new NodeConfigWriter("n1", Path.of("cluster.key"), docroot)
 *         .member("n1", "10.0.0.1")
 *         .member("n2", "10.0.0.2")
 *         .builtinServer(true)
 *         .yaml();
 * }</pre>
 */
public final class NodeConfigWriter {
    /** A cluster member as the file names it; a null control address or port is left out. */
    public record Member(String name, String address, String controlAddress, Integer controlPort) {
        public Member {
            Objects.requireNonNull(name);
            Objects.requireNonNull(address);
        }
    }

    private final String self;
    private final Path key;
    private final Path docroot;
    private final List<Member> members = new ArrayList<>();
    private final Map<String, Object> cluster = new LinkedHashMap<>();
    private final Map<String, Object> node = new LinkedHashMap<>();
    private final Map<String, Object> datapath = new LinkedHashMap<>();
    private final Map<String, Object> tuning = new LinkedHashMap<>();
    private final List<FaultRule> faults = new ArrayList<>();
    private String comment;

    /** Node {@code self} of a cluster whose shared secret is {@code key}, serving {@code docroot}. */
    public NodeConfigWriter(String self, Path key, Path docroot) {
        this.self = Objects.requireNonNull(self);
        this.key = Objects.requireNonNull(key);
        this.docroot = Objects.requireNonNull(docroot);
    }

    /** A first line {@code # text}. */
    public NodeConfigWriter comment(String text) {
        if (text.contains("\n")) throw new IllegalArgumentException("a comment is one line");
        comment = text;
        return this;
    }

    public NodeConfigWriter member(String name, String address) {
        return member(new Member(name, address, null, null));
    }

    public NodeConfigWriter member(Member m) {
        members.add(m);
        return this;
    }

    public NodeConfigWriter servicePort(int port) {
        cluster.put("servicePort", port);
        return this;
    }

    public NodeConfigWriter controlPort(int port) {
        cluster.put("controlPort", port);
        return this;
    }

    public NodeConfigWriter policy(String name) {
        cluster.put("policy", name);
        return this;
    }

    public NodeConfigWriter builtinServer(boolean builtin) {
        node.put("server", builtin ? "builtin" : "external");
        return this;
    }

    public NodeConfigWriter kernelTun(String device) {
        node.put("kernelTun", device);
        return this;
    }

    public NodeConfigWriter wireTun(String device) {
        node.put("wireTun", device);
        return this;
    }

    public NodeConfigWriter adminSocket(Path socket) {
        node.put("adminSocket", socket);
        return this;
    }

    public NodeConfigWriter readyFile(Path file) {
        node.put("readyFile", file);
        return this;
    }

    public NodeConfigWriter metricsPort(int port) {
        node.put("metricsPort", port);
        return this;
    }

    public NodeConfigWriter metricsAddress(String address) {
        node.put("metricsAddress", address);
        return this;
    }

    /** A real host: the server in namespace {@code namespace} (docs/DEPLOYMENT.md). */
    public NodeConfigWriter serverNamespace(String namespace) {
        node.put("serverNamespace", namespace);
        return this;
    }

    /** With {@link #serverNamespace}: answer ARP for the service address on {@code device}. */
    public NodeConfigWriter uplink(String device) {
        node.put("uplink", device);
        return this;
    }

    public NodeConfigWriter mtu(int mtu) {
        node.put("mtu", mtu);
        return this;
    }

    /** The in-kernel data path on {@code uplink}, its maps pinned under {@code pins} (null: the default). */
    public NodeConfigWriter datapath(String uplink, Path pins) {
        datapath.put("uplink", Objects.requireNonNull(uplink));
        if (pins != null) datapath.put("pins", pins);
        return this;
    }

    public NodeConfigWriter linger(Duration d) {
        tuning.put("lingerMs", d.toMillis());
        return this;
    }

    public NodeConfigWriter timeWait(Duration d) {
        tuning.put("timeWaitMs", d.toMillis());
        return this;
    }

    public NodeConfigWriter peerGrace(Duration d) {
        tuning.put("peerGraceMs", d.toMillis());
        return this;
    }

    public NodeConfigWriter offload(boolean on) {
        tuning.put("offload", on);
        return this;
    }

    public NodeConfigWriter eagerCommit(boolean eager) {
        tuning.put("eagerCommit", eager);
        return this;
    }

    public NodeConfigWriter fault(FaultRule rule) {
        faults.add(rule);
        return this;
    }

    /** The file's text. */
    public String yaml() {
        StringBuilder y = new StringBuilder();
        if (comment != null) y.append("# ").append(comment).append('\n');
        y.append("cluster:\n");
        field(y, "  ", "key", key);
        cluster.forEach((k, v) -> field(y, "  ", k, v));
        y.append("  members:\n");
        for (Member m : members) {
            field(y, "    - ", "name", m.name());
            field(y, "      ", "address", m.address());
            if (m.controlAddress() != null) field(y, "      ", "controlAddress", m.controlAddress());
            if (m.controlPort() != null) field(y, "      ", "controlPort", m.controlPort());
        }
        y.append("node:\n");
        field(y, "  ", "name", self);
        field(y, "  ", "docroot", docroot);
        node.forEach((k, v) -> field(y, "  ", k, v));
        if (!datapath.isEmpty()) {
            y.append("  datapath:\n");
            datapath.forEach((k, v) -> field(y, "    ", k, v));
        }
        if (!tuning.isEmpty()) {
            y.append("  tuning:\n");
            tuning.forEach((k, v) -> field(y, "    ", k, v));
        }
        if (!faults.isEmpty()) {
            y.append("  faults:\n");
            for (FaultRule f : faults)
                y.append("    - ").append(quote(f.toString())).append('\n');
        }
        return y.toString();
    }

    /** Writes {@link #yaml} to {@code file}. */
    public Path write(Path file) throws IOException {
        return Files.writeString(file, yaml());
    }

    private static void field(StringBuilder y, String indent, String key, Object value) {
        y.append(indent).append(key).append(": ");
        y.append(value instanceof Number || value instanceof Boolean ? value.toString() : quote(value.toString()));
        y.append('\n');
    }

    /** A YAML double-quoted scalar: paths and names may hold characters YAML would read otherwise. */
    static String quote(String s) {
        StringBuilder q = new StringBuilder("\"");
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> q.append("\\\"");
                case '\\' -> q.append("\\\\");
                case '\n' -> q.append("\\n");
                case '\t' -> q.append("\\t");
                default -> {
                    if (c < 0x20) q.append(String.format("\\x%02x", (int) c));
                    else q.append(c);
                }
            }
        }
        return q.append('"').toString();
    }
}
