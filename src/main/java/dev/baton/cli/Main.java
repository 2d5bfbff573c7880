package dev.baton.cli;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Arrays;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** Entry point of the {@code baton} command line. */
@Command(
        name = "baton",
        mixinStandardHelpOptions = true,
        version = "baton 0.1.0",
        subcommands = {
            NodeCommand.class,
            StatusCommand.class,
            AdminCommand.class,
            DrainCommand.class,
            CompletionCommand.class
        },
        description = "Content-aware TCP connection handoff for web clusters.")
public final class Main implements Runnable {
    public static void main(String[] args) {
        if (args.length > 0 && args[0].equals("node")) {
            // A node's start is on the clock of every restart (an upgrade, a crash): building the
            // whole command tree costs a third of a second (picocli's classes are Java 5 bytecode,
            // which the AOT cache does not hold), so `node` builds only its own command.
            System.exit(withErrorHandler(new CommandLine(new NodeCommand()).setCommandName("baton node"))
                    .execute(Arrays.copyOfRange(args, 1, args.length)));
        }
        System.exit(commandLine().execute(args));
    }

    /**
     * The command line, with failures that carry their own explanation (a host that is not set up, a
     * file that cannot be read) told in one line, {@code baton node: ...}; anything else is a bug and
     * keeps its stack trace.
     */
    public static CommandLine commandLine() {
        return withErrorHandler(new CommandLine(new Main()));
    }

    /**
     * The same with {@code tools} added as subcommands (each named by its {@code @Command}): the
     * testbed's jar adds its commands so, the product names none of them.
     */
    public static CommandLine commandLine(Object... tools) {
        CommandLine line = new CommandLine(new Main());
        for (Object tool : tools) line.addSubcommand(tool);
        return withErrorHandler(line);
    }

    private static CommandLine withErrorHandler(CommandLine commandLine) {
        return commandLine.setExecutionExceptionHandler((e, line, parsed) -> {
            line.getErr()
                    .println(line.getCommandSpec().qualifiedName() + ": "
                            + (e.getMessage() == null ? e.toString() : e.getMessage()));
            if (!(e instanceof IOException
                    || e instanceof UncheckedIOException
                    || e instanceof IllegalArgumentException
                    || e instanceof IllegalStateException)) {
                e.printStackTrace(line.getErr());
            }
            return 1;
        });
    }

    @Override
    public void run() {
        new CommandLine(this).usage(System.out);
    }
}
