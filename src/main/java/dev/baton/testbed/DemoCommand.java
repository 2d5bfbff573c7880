package dev.baton.testbed;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code baton demo}: builds a three-node testbed with the sample content, fetches a set of files
 * through every node as entry (held there, held elsewhere, replicated, empty, a name that needs
 * percent-encoding, a missing one), prints who served what and whether the bytes are right, shows
 * the nodes' counters and tears everything down, also on failure or Ctrl-C. Exits non-zero if any
 * row is wrong.
 */
@Command(
        name = "demo",
        mixinStandardHelpOptions = true,
        description = "Runs a 3-node cluster in network namespaces, fetches files through every node and "
                + "shows which node served each (root; installs curl, iproute2, ethtool if missing).")
public final class DemoCommand implements Callable<Integer> {
    /**
     * The paths fetched from every entry node: held by n1, n2 or n3, small and large, replicated
     * (n1+n3, n2+n3), empty, a name that needs percent-encoding, and one no node has (404).
     */
    static final List<String> PATHS = List.of(
            "/index.html",
            "/img/logo.png",
            "/data/1k.bin",
            "/api/data.json",
            "/img/photo.jpg",
            "/video/big.bin",
            "/shared/site.css",
            "/shared/rep.bin",
            "/empty.txt",
            "/docs/a b%.txt",
            "/no/such/file.html");

    @Option(
            names = "--server",
            defaultValue = "builtin",
            paramLabel = "builtin|nginx",
            description = "Web server on each node (default ${DEFAULT-VALUE}).")
    String server;

    @Option(
            names = "--state-dir",
            defaultValue = "/run/baton-testbed",
            paramLabel = "DIR",
            description = "Where pids, logs and content go (default ${DEFAULT-VALUE}).")
    Path stateDir;

    private volatile Testbed bed;

    /** One fetched file and its verdict. */
    record Row(String entry, String path, Client.Response response, String verdict) {
        boolean ok() {
            return verdict.equals("ok");
        }
    }

    @Override
    public Integer call() {
        if (!TestbedCommand.requireRoot("baton demo")) {
            return 2;
        }
        Spec.Server kind = TestbedCommand.parseServer(server);
        if (kind == null) {
            System.err.println("--server must be builtin or nginx, not " + server);
            return 2;
        }
        Thread hook = new Thread(this::tearDown, "baton-demo-down");
        Runtime.getRuntime().addShutdownHook(hook);
        try {
            installMissingTools(kind);
            Spec spec = new Spec(3, Optional.empty(), kind, stateDir);
            System.out.println("starting 3 nodes (" + server + " server, "
                    + (spec.dataPath() == Spec.DataPath.KERNEL ? "in-kernel data path" : "TUN path") + ") ...");
            bed = Testbed.up(spec);
            System.out.println(bed.description().summary());
            NetCounters before = NetCounters.read(bed.client().netns());
            List<Row> rows = fetchAll(bed);
            System.out.println(table(rows));
            System.out.println("client TCP counters during the fetches (all 0 when every rewrite is right): "
                    + NetCounters.read(bed.client().netns()).minus(before).summary() + "\n");
            System.out.println("node counters:");
            System.out.println(TestbedCommand.statsTable(bed.stats()));
            long wrong = rows.stream().filter(r -> !r.ok()).count();
            System.out.println(
                    wrong == 0 ? "all " + rows.size() + " rows ok" : wrong + " of " + rows.size() + " rows WRONG");
            return wrong == 0 ? 0 : 1;
        } catch (RuntimeException e) {
            System.err.println("baton demo failed: " + e.getMessage());
            return 1;
        } finally {
            tearDown();
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException shuttingDown) {
                // The hook is already running (Ctrl-C): it tears down.
            }
        }
    }

    private synchronized void tearDown() {
        try {
            if (bed != null) {
                bed.down();
            } else {
                Testbed.cleanUp(stateDir);
            }
        } catch (RuntimeException e) {
            System.err.println("baton demo: tearing down failed: " + e.getMessage());
        }
    }

    /** Every path of {@link #PATHS} through every node as entry, one new connection each. */
    static List<Row> fetchAll(Testbed bed) {
        Client client = bed.newClient();
        List<Row> rows = new ArrayList<>();
        for (NodeInfo entry : bed.nodes()) {
            for (String path : PATHS) {
                Client.Response r = client.get(entry, path);
                rows.add(new Row(entry.name(), path, r, verdict(bed.content(), path, r)));
            }
        }
        return rows;
    }

    /** "ok", or what is wrong with a response given who holds what. */
    static String verdict(ContentMap content, String path, Client.Response r) {
        if (!r.ok()) {
            return "curl: " + r.error();
        }
        Optional<ContentEntry> entry = content.find(path);
        if (entry.isEmpty()) {
            return r.status() == 404 ? "ok" : "expected 404, got " + r.status();
        }
        ContentEntry e = entry.get();
        if (r.status() != 200) {
            return "expected 200, got " + r.status();
        }
        if (r.bytes() != e.bytes()) {
            return "expected " + e.bytes() + " bytes, got " + r.bytes();
        }
        if (!r.sha256().equals(e.sha256())) {
            return "wrong sha256";
        }
        if (!e.holders().contains(r.servedBy())) {
            return "served by '" + r.servedBy() + "', which does not hold it";
        }
        return "ok";
    }

    /** The readable table of rows. */
    static String table(List<Row> rows) {
        StringBuilder s = new StringBuilder(String.format(
                "%-5s %-20s %-6s %-7s %6s %10s %-6s %8s  %s%n",
                "entry", "path", "served", "handoff", "status", "bytes", "sha256", "ms", "result"));
        for (Row row : rows) {
            Client.Response r = row.response();
            String served = r.servedBy().isEmpty() ? "-" : r.servedBy();
            // nginx's fallback proxy (X-Baton-Via) is not a handoff: the bytes flowed through the entry.
            String handoff = !r.via().isEmpty() && !r.servedBy().isEmpty()
                    ? "proxied"
                    : !r.servedBy().isEmpty() && !r.servedBy().equals(row.entry()) ? "yes" : "no";
            String sha = r.sha256().isEmpty()
                    ? "-"
                    : r.sha256().substring(0, Math.min(6, r.sha256().length()));
            s.append(String.format(
                    "%-5s %-20s %-6s %-7s %6d %10d %-6s %8.1f  %s%n",
                    row.entry(),
                    row.path(),
                    served,
                    handoff,
                    r.status(),
                    r.bytes(),
                    sha,
                    r.time().toNanos() / 1e6,
                    row.verdict()));
        }
        return s.toString();
    }

    /** Installs curl, iproute2, ethtool (and nginx if asked) with apt-get when missing. */
    static void installMissingTools(Spec.Server server) {
        Map<String, String> packageOf = new LinkedHashMap<>();
        packageOf.put("curl", "curl");
        packageOf.put("ip", "iproute2");
        packageOf.put("ethtool", "ethtool");
        packageOf.put("setsid", "util-linux");
        packageOf.put("sysctl", "procps");
        if (server == Spec.Server.NGINX) {
            packageOf.put("nginx", "nginx");
        }
        List<String> missing = packageOf.entrySet().stream()
                .filter(t -> Testbed.findOnPath(t.getKey()).isEmpty())
                .map(Map.Entry::getValue)
                .distinct()
                .toList();
        if (missing.isEmpty()) {
            return;
        }
        System.out.println("installing " + String.join(" ", missing) + " with apt-get ...");
        boolean systemNginxWasRunning = Files.exists(SYSTEM_NGINX_PID);
        Commands.check(
                List.of("env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "update", "-q"), Duration.ofMinutes(5));
        List<String> install =
                new ArrayList<>(List.of("env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "install", "-y", "-q"));
        install.addAll(missing);
        Commands.check(install, Duration.ofMinutes(10));
        if (missing.contains("nginx") && !systemNginxWasRunning) {
            stopSystemNginx();
        }
    }

    private static final Path SYSTEM_NGINX_PID = Path.of("/run/nginx.pid");

    /** Debian starts nginx's service on install where it can; the demo does not leave it running. */
    private static void stopSystemNginx() {
        try {
            String text = Files.readString(SYSTEM_NGINX_PID).strip();
            long pid = Long.parseLong(text);
            if (Testbed.commandLine(pid).contains("nginx")) {
                Testbed.stopProcesses(Set.of(pid));
            }
        } catch (IOException | NumberFormatException e) {
            // No pid file: the service was not started.
        }
    }
}
