package dev.baton.cli;

import dev.baton.node.AdminClient;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code baton admin}: one command to a running node's admin socket, its JSON answer printed. */
@Command(
        name = "admin",
        mixinStandardHelpOptions = true,
        description = "Send one command to a running node and print its answer: stats | content | content rescan"
                + " (announce the docroot again) | policy NAME (route new connections with another policy) |"
                + " drain | drain status | drain off | connections | handover | fault list|add RULE|remove ID|clear.")
public final class AdminCommand implements Callable<Integer> {
    private static final Duration WAIT = Duration.ofSeconds(5);

    @Spec
    CommandSpec spec;

    @Mixin
    AdminTarget target;

    @Parameters(arity = "1..*", paramLabel = "COMMAND", description = "The command and its arguments.")
    List<String> command = new ArrayList<>();

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        Path path = target.resolve("baton admin", err);
        if (path == null) return 2;
        String answer;
        try {
            answer = AdminClient.query(path, String.join(" ", command), WAIT);
        } catch (IOException e) {
            err.println("baton admin: no answer on " + path + " (is the node running?): " + e.getMessage());
            return 1;
        }
        out.println(answer);
        return answer.startsWith("{\"error\"") ? 1 : 0;
    }
}
