package dev.baton.testbed;

import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;

/**
 * What testbed to build.
 *
 * @param nodes number of nodes, 1 to {@link Names#MAX_NODES}
 * @param contentDir a folder with one document root per node ({@code n1/}, {@code n2/} ...), or
 *     empty for the generated sample set
 * @param server which web server answers on each node
 * @param stateDir where pids, logs, sockets, configs and generated content go
 * @param nodeArgs extra {@code baton node} options for every node (timers, fault rules)
 * @param directPaths also give each node a plain veth from the router with its own address
 *     ({@link Names#directIp}), bypassing its BTCP: the kernel-only path {@code baton bench} compares
 *     against
 */
public record Spec(
        int nodes,
        Optional<Path> contentDir,
        Server server,
        Path stateDir,
        List<String> nodeArgs,
        boolean directPaths,
        DataPath dataPath) {
    /** How each node's packets meet its engine. */
    public enum DataPath {
        /** Every packet through two TUNs and the engine (the node's address on the kernel TUN). */
        TUN,
        /** BPF programs on the node's uplink veth carry steady flows; the TUNs only the rest. */
        KERNEL;

        /**
         * The in-kernel data path, unless {@code BATON_DATAPATH=tun} says the TUN path (the fallback
         * for a kernel without BPF), so every test can run on either.
         */
        public static DataPath fromEnvironment() {
            String v = System.getenv("BATON_DATAPATH");
            if (v == null || v.isBlank()) return KERNEL;
            return switch (v.strip().toLowerCase(Locale.ROOT)) {
                case "tun" -> TUN;
                case "kernel", "bpf" -> KERNEL;
                default -> throw new IllegalArgumentException("BATON_DATAPATH is tun or kernel, not " + v);
            };
        }
    }

    /** The web server on each node. */
    public enum Server {
        /** The node process serves its document root itself ({@code --server builtin}). */
        BUILTIN,
        /** nginx in the node's namespace ({@code --server external} for the node). */
        NGINX
    }

    public Spec {
        if (nodes < 1 || nodes > Names.MAX_NODES) {
            throw new IllegalArgumentException("nodes must be 1.." + Names.MAX_NODES + ", got " + nodes);
        }
        Objects.requireNonNull(contentDir, "contentDir");
        Objects.requireNonNull(server, "server");
        contentDir = contentDir.map(p -> p.toAbsolutePath().normalize());
        stateDir = stateDir.toAbsolutePath().normalize();
        nodeArgs = List.copyOf(nodeArgs);
        Objects.requireNonNull(dataPath, "dataPath");
    }

    public Spec(int nodes, Optional<Path> contentDir, Server server, Path stateDir) {
        this(nodes, contentDir, server, stateDir, List.of(), false, DataPath.fromEnvironment());
    }

    /** Three nodes, sample content, the built-in server, the default state directory. */
    public static Spec defaults() {
        return new Spec(3, Optional.empty(), Server.BUILTIN, Names.DEFAULT_STATE_DIR);
    }

    public Spec withNodes(int n) {
        return new Spec(n, contentDir, server, stateDir, nodeArgs, directPaths, dataPath);
    }

    public Spec withContent(Path dir) {
        return new Spec(nodes, Optional.of(dir), server, stateDir, nodeArgs, directPaths, dataPath);
    }

    public Spec withServer(Server s) {
        return new Spec(nodes, contentDir, s, stateDir, nodeArgs, directPaths, dataPath);
    }

    /** Extra options for every node, e.g. {@code --linger-ms 2000} or {@code --fault "drop p=0.01"}. */
    public Spec withNodeArgs(String... args) {
        return new Spec(nodes, contentDir, server, stateDir, List.of(args), directPaths, dataPath);
    }

    public Spec withStateDir(Path dir) {
        return new Spec(nodes, contentDir, server, dir, nodeArgs, directPaths, dataPath);
    }

    /** The nodes on the TUN-only path or the in-kernel one. */
    public Spec withDataPath(DataPath d) {
        return new Spec(nodes, contentDir, server, stateDir, nodeArgs, directPaths, d);
    }

    /** With or without the direct (non-BTCP) path to every node. */
    public Spec withDirectPaths(boolean on) {
        return new Spec(nodes, contentDir, server, stateDir, nodeArgs, on, dataPath);
    }
}
