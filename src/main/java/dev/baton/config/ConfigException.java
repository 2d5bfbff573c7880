package dev.baton.config;

import java.io.Serial;
import java.nio.file.Path;

/**
 * A config file that cannot be used, with where: the file, the line and column (1-based; 0 if the
 * problem is the file as a whole) and the field's path ({@code members[1].address}).
 */
public final class ConfigException extends Exception {
    @Serial
    private static final long serialVersionUID = 1L;

    /** Transient: a Path is not serializable, and the message holds it too. */
    private final transient Path file;

    private final int line;
    private final int column;
    private final String field;

    public ConfigException(Path file, int line, int column, String field, String problem) {
        super(file + (line > 0 ? ":" + line + ":" + column : "") + ": " + (field.isEmpty() ? "" : field + ": ")
                + problem);
        this.file = file;
        this.line = line;
        this.column = column;
        this.field = field;
    }

    public Path file() {
        return file;
    }

    public int line() {
        return line;
    }

    public int column() {
        return column;
    }

    public String field() {
        return field;
    }
}
