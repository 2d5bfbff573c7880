package dev.baton.bench;

import dev.baton.testbed.Commands;
import dev.baton.testbed.Names;
import dev.baton.testbed.NodeInfo;
import dev.baton.testbed.Testbed;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * Starts HAProxy and the nginx proxy inside the entry node's namespace, their files in the testbed's
 * {@code bench/} folder, and hands their pids to the testbed, which stops them with everything else
 * ({@link Testbed#adopt}; their command lines name the state directory).
 */
final class Proxies {
    private static final Duration START_TIMEOUT = Duration.ofSeconds(10);

    private Proxies() {}

    static void start(Testbed bed, int entry) {
        NodeInfo node = bed.node(entry);
        ProxyConfig.Files files = ProxyConfig.Files.in(bed.stateDir().resolve("bench"));
        try {
            Files.createDirectories(files.nginxPrefix());
            Files.writeString(files.haproxyMap(), ProxyConfig.haproxyMap(bed.content()));
            Files.writeString(
                    files.haproxyConfig(),
                    ProxyConfig.haproxy(entry, bed.nodes().size(), files));
            Files.writeString(
                    files.nginxConfig(), ProxyConfig.nginx(entry, bed.nodes().size(), bed.content(), files));
        } catch (IOException e) {
            throw new UncheckedIOException("writing the proxies' configurations", e);
        }
        List<String> haproxy = List.of(
                "haproxy",
                "-f",
                files.haproxyConfig().toString(),
                "-p",
                files.haproxyPid().toString());
        Commands.check(with(haproxy, "-c"), Names.COMMAND_TIMEOUT);
        Commands.check(Commands.inNetns(node.netns(), with(haproxy, "-D")), START_TIMEOUT);
        bed.adopt(node.name(), "haproxy", awaitPid(files.haproxyPid()));
        List<String> nginx = List.of(
                "nginx",
                "-p",
                files.nginxPrefix() + "/",
                "-e",
                files.nginxErrorLog().toString(),
                "-c",
                files.nginxConfig().toString());
        // nginx -t binds the listen address, which exists only in the entry's namespace.
        Commands.check(Commands.inNetns(node.netns(), with(nginx, "-t")), Names.COMMAND_TIMEOUT);
        Commands.check(Commands.inNetns(node.netns(), nginx), START_TIMEOUT);
        bed.adopt(node.name(), "nginx-proxy", awaitPid(files.nginxPid()));
    }

    private static List<String> with(List<String> argv, String flag) {
        List<String> a = new ArrayList<>(argv);
        a.add(flag);
        return a;
    }

    /** The pid a daemon wrote, waiting for it up to {@link #START_TIMEOUT}. */
    private static long awaitPid(Path file) {
        long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
        while (System.nanoTime() < deadline) {
            try {
                String text = Files.exists(file) ? Files.readString(file).strip() : "";
                if (text.matches("\\d+")) return Long.parseLong(text);
                Thread.sleep(50);
            } catch (IOException e) {
                // not written yet
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted", e);
            }
        }
        throw new IllegalStateException("no pid in " + file + " within " + START_TIMEOUT.toSeconds() + " s");
    }
}
