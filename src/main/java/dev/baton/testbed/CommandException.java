package dev.baton.testbed;

import java.io.Serial;
import java.util.List;

/** An external command failed or timed out; the message names the command and its stderr. */
public final class CommandException extends RuntimeException {
    @Serial
    private static final long serialVersionUID = 1L;

    /** Transient: the message holds it too. */
    private final transient List<String> command;

    public CommandException(List<String> command, String problem) {
        super("`" + String.join(" ", command) + "` " + problem);
        this.command = List.copyOf(command);
    }

    /** The argv that failed. */
    public List<String> command() {
        return command;
    }
}
