package dev.baton.cli;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.AutoComplete;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code baton completion}: a completion script for every command and option. bash's is picocli's
 * (zsh runs it through {@code bashcompinit}); fish's is written here from the same command tree.
 */
@Command(
        name = "completion",
        mixinStandardHelpOptions = true,
        description = {
            "Print a shell completion script: bash and zsh: source <(baton completion), or save it as"
                    + " /etc/bash_completion.d/baton; fish: baton completion --shell fish >"
                    + " ~/.config/fish/completions/baton.fish"
        })
public final class CompletionCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(
            names = "--shell",
            defaultValue = "bash",
            paramLabel = "SHELL",
            description = "bash (also zsh) or fish (default: ${DEFAULT-VALUE}).")
    String shell;

    @Override
    public Integer call() {
        CommandLine root = spec.commandLine().getParent();
        if (root == null) root = new CommandLine(new Main());
        String script = switch (shell) {
            case "bash", "zsh" -> AutoComplete.bash("baton", root);
            case "fish" -> fish(root);
            default -> null;
        };
        if (script == null) {
            spec.commandLine().getErr().println("baton completion: --shell must be bash, zsh or fish, not " + shell);
            return 2;
        }
        spec.commandLine().getOut().print(script);
        spec.commandLine().getOut().flush();
        return 0;
    }

    /**
     * fish completions: {@code __baton_path} walks the words typed so far and keeps those that name
     * a deeper command, so each command's subcommands and options are offered only where they belong.
     */
    static String fish(CommandLine root) {
        List<CommandLine> all = new ArrayList<>();
        collect(root, all);
        StringBuilder f = new StringBuilder("# fish completions for baton: baton completion --shell fish\n");
        f.append("set -g __baton_commands");
        for (CommandLine c : all) if (!c.equals(root)) f.append(' ').append(quote(path(c)));
        f.append("\nfunction __baton_path\n")
                .append("    set -l path ''\n")
                .append("    for w in (commandline -opc)[2..-1]\n")
                .append("        set -l next (string trim -- \"$path $w\")\n")
                .append("        contains -- $next $__baton_commands; and set path $next\n")
                .append("    end\n")
                .append("    echo $path\n")
                .append("end\n")
                .append("function __baton_at\n    test (__baton_path) = \"$argv\"\nend\n")
                .append("complete -c baton -f\n");
        for (CommandLine c : all) {
            String at = quote("__baton_at " + path(c));
            for (CommandLine sub : c.getSubcommands().values()) {
                f.append("complete -c baton -n ")
                        .append(at)
                        .append(" -a ")
                        .append(quote(sub.getCommandName()))
                        .append(" -d ")
                        .append(quote(
                                firstLine(sub.getCommandSpec().usageMessage().description())))
                        .append('\n');
            }
            for (OptionSpec o : c.getCommandSpec().options()) {
                f.append("complete -c baton -n ").append(at);
                for (String name : o.names()) {
                    if (name.startsWith("--")) f.append(" -l ").append(quote(name.substring(2)));
                    else if (name.length() == 2) f.append(" -s ").append(quote(name.substring(1)));
                }
                if (o.arity().max() > 0) {
                    f.append(" -r");
                    if (o.type() == Path.class) f.append(" -F"); // paths complete as files
                }
                f.append(" -d ").append(quote(firstLine(o.description()))).append('\n');
            }
        }
        return f.toString();
    }

    private static void collect(CommandLine c, List<CommandLine> into) {
        into.add(c);
        for (CommandLine sub : c.getSubcommands().values()) collect(sub, into);
    }

    /** The command's words after {@code baton}: "" for baton itself, "testbed up" for one below. */
    private static String path(CommandLine c) {
        String q = c.getCommandSpec().qualifiedName(" ");
        return q.contains(" ") ? q.substring(q.indexOf(' ') + 1) : "";
    }

    /** The first sentence of a description, without picocli's ${...} variables. */
    private static String firstLine(String[] description) {
        String d = String.join(" ", description).replaceAll("\\$\\{[^}]*}", "").strip();
        for (int end = d.indexOf(". "); end > 0; end = d.indexOf(". ", end + 1)) {
            if (!d.startsWith("e.g", end - 3) && !d.startsWith("i.e", end - 3)) return d.substring(0, end + 1);
        }
        return d;
    }

    /** A fish single-quoted word ({@code \\} and {@code '} escaped). */
    private static String quote(String s) {
        return "'" + s.replace("\\", "\\\\").replace("'", "\\'") + "'";
    }
}
