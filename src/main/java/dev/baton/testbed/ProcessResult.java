package dev.baton.testbed;

import java.util.List;

/**
 * What one external command did: its exit code and (bounded) output.
 *
 * @param command the argv that ran
 * @param exitCode the exit code
 * @param stdout standard output, at most {@link Commands#MAX_CAPTURE} bytes, decoded as UTF-8
 * @param stderr standard error, likewise bounded
 */
public record ProcessResult(List<String> command, int exitCode, String stdout, String stderr) {
    public ProcessResult {
        command = List.copyOf(command);
    }

    /** True when the command exited with 0. */
    public boolean ok() {
        return exitCode == 0;
    }

    /** This result if the command succeeded, otherwise a {@link CommandException} naming it. */
    public ProcessResult requireSuccess() {
        if (!ok()) {
            throw new CommandException(command, "exited with " + exitCode + ": " + stderr.strip());
        }
        return this;
    }
}
