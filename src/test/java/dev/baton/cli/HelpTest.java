package dev.baton.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.baton.tools.ToolsMain;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** Every command, however deep, answers --help with a description of itself. */
class HelpTest {
    @Test
    void everyCommandHasHelpAndSaysWhatItDoes() {
        List<CommandLine> all = new ArrayList<>();
        collect(ToolsMain.commandLine(), all);
        assertThat(all).hasSizeGreaterThan(10);
        for (CommandLine c : all) {
            String name = c.getCommandSpec().qualifiedName();
            assertThat(c.getCommandSpec().findOption("--help"))
                    .as(name + " --help")
                    .isNotNull();
            assertThat(String.join(" ", c.getCommandSpec().usageMessage().description()))
                    .as(name + "'s description")
                    .isNotBlank();
            StringWriter out = new StringWriter();
            c.setOut(new PrintWriter(out));
            assertThat(c.execute("--help")).as(name + " --help exit").isZero();
            assertThat(out.toString()).as(name + " --help").contains("Usage: " + name);
        }
    }

    private static void collect(CommandLine c, List<CommandLine> into) {
        into.add(c);
        for (CommandLine sub : c.getSubcommands().values()) collect(sub, into);
    }
}
