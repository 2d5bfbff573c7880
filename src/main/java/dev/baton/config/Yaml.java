package dev.baton.config;

import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.error.Mark;
import org.yaml.snakeyaml.error.MarkedYAMLException;
import org.yaml.snakeyaml.nodes.MappingNode;
import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.nodes.NodeTuple;
import org.yaml.snakeyaml.nodes.ScalarNode;
import org.yaml.snakeyaml.nodes.SequenceNode;

/**
 * A YAML document read as a tree that remembers where every value stood, so that each error names
 * the file, line, column and field. Only what a config needs: mappings with known keys (an unknown
 * key is an error: a typo must not pass silently), lists, and scalars read as strings, numbers or
 * booleans. Composed, never constructed: no YAML tag can make it build a Java object.
 */
final class Yaml {
    /** Config files are small; a bigger one is a mistake (or an attack on the parser). */
    static final int MAX_BYTES = 1 << 20;

    private Yaml() {}

    /** The document in {@code file}, as a mapping. */
    static Mapping read(Path file) throws ConfigException {
        try {
            if (Files.size(file) > MAX_BYTES) {
                throw new ConfigException(file, 0, 0, "", "larger than " + MAX_BYTES + " bytes");
            }
        } catch (IOException e) {
            throw new ConfigException(file, 0, 0, "", "cannot read: " + e.getMessage());
        }
        LoaderOptions options = new LoaderOptions();
        options.setAllowDuplicateKeys(false); // checked again in mapping(): compose alone does not
        options.setMaxAliasesForCollections(10);
        options.setCodePointLimit(MAX_BYTES);
        Node root;
        try (Reader in = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            root = new org.yaml.snakeyaml.Yaml(options).compose(in);
        } catch (MarkedYAMLException e) {
            Mark m = e.getProblemMark() != null ? e.getProblemMark() : e.getContextMark();
            throw new ConfigException(
                    file,
                    m == null ? 0 : m.getLine() + 1,
                    m == null ? 0 : m.getColumn() + 1,
                    "",
                    "not valid YAML: " + e.getProblem());
        } catch (IOException e) {
            throw new ConfigException(file, 0, 0, "", "cannot read: " + e.getMessage());
        } catch (RuntimeException e) { // snakeyaml's other limits (size, aliases)
            throw new ConfigException(file, 0, 0, "", "not valid YAML: " + e.getMessage());
        }
        if (root == null) {
            throw new ConfigException(file, 0, 0, "", "is empty");
        }
        return new Value(file, "", root).mapping();
    }

    /** One value in the document, with its field path. */
    record Value(Path file, String field, Node node) {
        ConfigException error(String problem) {
            Mark m = node.getStartMark();
            return new ConfigException(file, m.getLine() + 1, m.getColumn() + 1, field, problem);
        }

        Mapping mapping() throws ConfigException {
            if (!(node instanceof MappingNode map)) throw error("must be a mapping (key: value lines)");
            Map<String, Value> entries = new LinkedHashMap<>();
            for (NodeTuple t : map.getValue()) {
                if (!(t.getKeyNode() instanceof ScalarNode k)) {
                    throw new Value(file, field, t.getKeyNode()).error("keys must be plain words");
                }
                Value v = new Value(file, join(field, k.getValue()), t.getValueNode());
                if (entries.putIfAbsent(k.getValue(), v) != null) {
                    throw new Value(file, v.field(), k).error("is given twice");
                }
            }
            return new Mapping(this, entries);
        }

        List<Value> list() throws ConfigException {
            if (!(node instanceof SequenceNode seq)) throw error("must be a list (lines starting with '- ')");
            List<Value> items = new ArrayList<>();
            for (Node n : seq.getValue()) {
                items.add(new Value(file, field + "[" + items.size() + "]", n));
            }
            return items;
        }

        String string() throws ConfigException {
            if (!(node instanceof ScalarNode s)) throw error("must be a single value");
            if (s.getValue().isBlank()) throw error("is empty");
            return s.getValue();
        }

        int integer(int min, int max) throws ConfigException {
            return (int) longValue(min, max);
        }

        long longValue(long min, long max) throws ConfigException {
            String s = string();
            try {
                long v = Long.parseLong(s.replace("_", ""));
                if (v < min || v > max) throw error(s + " is out of range " + min + ".." + max);
                return v;
            } catch (NumberFormatException e) {
                throw error("'" + s + "' is not a whole number");
            }
        }

        boolean bool() throws ConfigException {
            return switch (string()) {
                case "true", "yes", "on" -> true;
                case "false", "no", "off" -> false;
                default -> throw error("must be true or false");
            };
        }

        private static String join(String parent, String key) {
            return parent.isEmpty() ? key : parent + "." + key;
        }
    }

    /**
     * A mapping whose keys are taken one by one; {@link #done()} rejects whatever key was not taken,
     * naming the keys that are allowed.
     */
    static final class Mapping {
        final Value self;
        private final Map<String, Value> entries;
        private final List<String> known = new ArrayList<>();

        Mapping(Value self, Map<String, Value> entries) {
            this.self = self;
            this.entries = entries;
        }

        /** The value of {@code key}; an error at the mapping if it is missing. */
        Value required(String key) throws ConfigException {
            known.add(key);
            Value v = entries.get(key);
            if (v == null) throw self.error("'" + key + "' is missing");
            return v;
        }

        /** The value of {@code key}, or null. */
        Value optional(String key) {
            known.add(key);
            return entries.get(key);
        }

        void done() throws ConfigException {
            for (var e : entries.entrySet()) {
                if (!known.contains(e.getKey())) {
                    throw new Value(
                                    self.file(),
                                    e.getValue().field(),
                                    e.getValue().node())
                            .error("unknown field (expected one of: " + String.join(", ", known) + ")");
                }
            }
        }
    }
}
