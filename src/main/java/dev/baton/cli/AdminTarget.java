package dev.baton.cli;

import dev.baton.config.ConfigException;
import dev.baton.config.NodeConfig;
import java.io.PrintWriter;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/** Which running node a command asks: the admin socket its config file names, or one given directly. */
final class AdminTarget {
    @Option(names = "--config", paramLabel = "FILE", description = "The node's config file: its adminSocket is asked.")
    Path config;

    @Option(
            names = "--admin-socket",
            paramLabel = "PATH",
            description = "The node's admin socket (instead of --config).")
    Path socket;

    /** The admin socket to ask; null (after saying why, as {@code who}) if there is none. */
    Path resolve(String who, PrintWriter err) {
        if ((config == null) == (socket == null)) {
            err.println(who + ": give --config FILE or --admin-socket PATH");
            return null;
        }
        if (socket != null) {
            return socket;
        }
        try {
            Path path = NodeConfig.load(config).node().adminSocket();
            if (path == null) err.println(who + ": " + config + " names no node.adminSocket");
            return path;
        } catch (ConfigException e) {
            err.println(who + ": " + e.getMessage());
            return null;
        }
    }
}
