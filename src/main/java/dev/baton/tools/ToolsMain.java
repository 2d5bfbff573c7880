package dev.baton.tools;

import dev.baton.bench.BenchCommand;
import dev.baton.cli.Main;
import dev.baton.testbed.DemoCommand;
import dev.baton.testbed.TestbedCommand;
import picocli.CommandLine;

/**
 * Entry point of {@code baton-testbed.jar}: every command of the product ({@link Main}) and the
 * tools that drive it from outside, {@code demo}, {@code testbed} and {@code bench}. The product
 * jar holds none of them; this jar names it on its class path ({@code Class-Path: baton.jar}), and
 * {@code ./baton} sends those three commands (and {@code completion}, to know them all) here.
 */
public final class ToolsMain {
    private ToolsMain() {}

    public static void main(String[] args) {
        System.exit(commandLine().execute(args));
    }

    /** The product's command line with the tools added. */
    public static CommandLine commandLine() {
        return Main.commandLine(new DemoCommand(), new TestbedCommand(), new BenchCommand());
    }
}
