package dev.baton.cli;

import java.util.concurrent.Callable;
import picocli.AutoComplete;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** {@code baton completion}: a bash (and zsh, with bashcompinit) completion script for every command. */
@Command(name = "completion", mixinStandardHelpOptions = true,
        description = "Print a shell completion script for bash and zsh: source <(baton completion) in either,"
                + " or save it as /etc/bash_completion.d/baton.")
public final class CompletionCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        CommandLine root = spec.commandLine().getParent();
        spec.commandLine().getOut().print(AutoComplete.bash("baton", root == null ? new CommandLine(new Main()) : root));
        spec.commandLine().getOut().flush();
        return 0;
    }
}
