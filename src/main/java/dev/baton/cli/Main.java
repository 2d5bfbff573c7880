package dev.baton.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** Entry point of the {@code baton} command line. */
@Command(name = "baton", mixinStandardHelpOptions = true, version = "baton 0.1.0", subcommands = {dev.baton.testbed.DemoCommand.class, dev.baton.testbed.TestbedCommand.class,
        dev.baton.bench.BenchCommand.class, NodeCommand.class, StatusCommand.class, AdminCommand.class, CompletionCommand.class},
        description = "Content-aware TCP connection handoff for web clusters.")
public final class Main implements Runnable {
    public static void main(String[] args) {
        System.exit(new CommandLine(new Main()).execute(args));
    }

    @Override
    public void run() {
        new CommandLine(this).usage(System.out);
    }
}
