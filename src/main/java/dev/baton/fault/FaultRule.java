package dev.baton.fault;

import dev.baton.btcp.Phase;
import dev.baton.control.MessageType;
import java.util.HashSet;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * One fault to inject, as a user writes it: an action and {@code key=value} filters, e.g.
 * {@code drop dir=in p=0.01 seed=7}, {@code drop dir=out phase=synack count=1},
 * {@code delay msg=handoff-ack ms=1500}, {@code drop port=7070} (cut the control channel).
 *
 * <p>A <b>packet rule</b> selects packets crossing the node's network side by direction ({@code in}:
 * from the network, before the BTCP sees them; {@code out}: to the network, after the BTCP wrote
 * them), by connection {@link Phase}, and by TCP/UDP port. A <b>message rule</b> ({@code msg=TYPE})
 * selects control messages this node sends (a handoff step lost although the channel is reliable).
 * Of the matching packets or messages, the first {@code skip} pass, then each is hit with probability
 * {@code p}, at most {@code count} times. Randomness comes from {@code seed}, so a run repeats.
 *
 * @param action what happens to a hit
 * @param direction packet rules: which way
 * @param phase packet rules: the connection phase, or null for any
 * @param port packet rules: source or destination port, or 0 for any
 * @param messageType message rules: a {@link MessageType}, or 0 for a packet rule
 * @param probability chance that a match (after skip) is hit
 * @param skip matches let through first
 * @param count most hits; {@link Long#MAX_VALUE} for no limit
 * @param millis delay: how long; reorder: the longest a packet is held
 * @param after reorder: a held packet goes once this many later packets went the same way
 * @param seed of the rule's random numbers
 */
public record FaultRule(
        Action action,
        Direction direction,
        Phase phase,
        int port,
        int messageType,
        double probability,
        long skip,
        long count,
        int millis,
        int after,
        long seed) {
    public enum Action {
        DROP,
        DUPLICATE,
        REORDER,
        DELAY
    }

    public enum Direction {
        IN,
        OUT,
        BOTH;

        boolean covers(Direction d) {
            return this == BOTH || this == d;
        }
    }

    /** Control messages a rule may name, by their command-line names. */
    static final Map<String, Integer> MESSAGES = Map.of(
            "handoff-request",
            MessageType.HANDOFF_REQUEST,
            "handoff-ack",
            MessageType.HANDOFF_ACK,
            "handoff-refuse",
            MessageType.HANDOFF_REFUSE,
            "commit",
            MessageType.COMMIT,
            "terminate",
            MessageType.TERMINATE,
            "abort",
            MessageType.ABORT);
    /** The longest a delay or reorder may hold a packet or message. */
    public static final int MAX_MILLIS = 60_000;

    public FaultRule {
        if (action == null || direction == null)
            throw new IllegalArgumentException("action and direction are required");
        if (!(probability > 0 && probability <= 1))
            throw new IllegalArgumentException("p must be in (0, 1]: " + probability);
        if (skip < 0 || count < 1) throw new IllegalArgumentException("skip must be >= 0 and count >= 1");
        if (millis < 0 || millis > MAX_MILLIS) throw new IllegalArgumentException("ms must be 0.." + MAX_MILLIS);
        if (after < 1 || after > 1000) throw new IllegalArgumentException("after must be 1..1000");
        if (port < 0 || port > 0xffff) throw new IllegalArgumentException("port must be 0..65535");
        if (messageType != 0 && (phase != null || port != 0 || direction != Direction.BOTH)) {
            throw new IllegalArgumentException(
                    "a msg= rule selects control messages; dir, phase and port select packets");
        }
        if (messageType != 0 && action == Action.REORDER) {
            throw new IllegalArgumentException("control messages can be dropped, duplicated or delayed, not reordered");
        }
    }

    public boolean isMessageRule() {
        return messageType != 0;
    }

    /**
     * Parses {@code ACTION [key=value ...]}. Keys: {@code dir=in|out|both}, {@code phase=NAME},
     * {@code port=N}, {@code msg=NAME}, {@code p=0..1}, {@code skip=N}, {@code count=N},
     * {@code ms=N}, {@code after=N}, {@code seed=N}.
     *
     * @throws IllegalArgumentException naming the word that is wrong
     */
    public static FaultRule parse(String spec) {
        String[] words = spec.trim().split("\\s+");
        if (words.length == 0 || words[0].isEmpty()) throw new IllegalArgumentException("empty fault rule");
        Action action = switch (words[0].toLowerCase(Locale.ROOT)) {
            case "drop" -> Action.DROP;
            case "duplicate", "dup" -> Action.DUPLICATE;
            case "reorder" -> Action.REORDER;
            case "delay" -> Action.DELAY;
            default ->
                throw new IllegalArgumentException(
                        "unknown action '" + words[0] + "'; actions are drop, duplicate, reorder, delay");
        };
        Direction dir = Direction.BOTH;
        Phase phase = null;
        int port = 0;
        int msg = 0;
        double p = 1;
        long skip = 0;
        long count = Long.MAX_VALUE;
        int millis = action == Action.REORDER ? 50 : 100;
        int after = 3;
        long seed = 1;
        Set<String> seen = new HashSet<>();
        for (int i = 1; i < words.length; i++) {
            int eq = words[i].indexOf('=');
            if (eq <= 0) throw new IllegalArgumentException("expected key=value, got '" + words[i] + "'");
            String key = words[i].substring(0, eq).toLowerCase(Locale.ROOT);
            String value = words[i].substring(eq + 1);
            if (!seen.add(key)) throw new IllegalArgumentException("'" + key + "' given twice");
            try {
                switch (key) {
                    case "dir" ->
                        dir = switch (value.toLowerCase(Locale.ROOT)) {
                            case "in" -> Direction.IN;
                            case "out" -> Direction.OUT;
                            case "both" -> Direction.BOTH;
                            default ->
                                throw new IllegalArgumentException("dir must be in, out or both, not '" + value + "'");
                        };
                    case "phase" -> phase = value.equalsIgnoreCase("any") ? null : Phase.parse(value);
                    case "port" -> port = Integer.parseInt(value);
                    case "msg" -> {
                        Integer t = MESSAGES.get(value.toLowerCase(Locale.ROOT));
                        if (t == null) {
                            throw new IllegalArgumentException("unknown message '" + value + "'; messages are "
                                    + String.join(", ", new TreeSet<>(MESSAGES.keySet())));
                        }
                        msg = t;
                    }
                    case "p" -> p = Double.parseDouble(value);
                    case "skip" -> skip = Long.parseLong(value);
                    case "count" -> count = Long.parseLong(value);
                    case "ms" -> millis = Integer.parseInt(value);
                    case "after" -> after = Integer.parseInt(value);
                    case "seed" -> seed = Long.parseLong(value);
                    default ->
                        throw new IllegalArgumentException("unknown key '" + key
                                + "'; keys are dir, phase, port, msg, p, skip, count, ms, after, seed");
                }
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("'" + key + "' needs a number, not '" + value + "'");
            }
        }
        return new FaultRule(action, dir, phase, port, msg, p, skip, count, millis, after, seed);
    }

    /** The rule in the form {@link #parse} reads, every field spelled out. */
    @Override
    public String toString() {
        StringBuilder b = new StringBuilder(action.name().toLowerCase(Locale.ROOT));
        if (isMessageRule()) {
            for (var e : MESSAGES.entrySet())
                if (e.getValue() == messageType) b.append(" msg=").append(e.getKey());
        } else {
            b.append(" dir=").append(direction.name().toLowerCase(Locale.ROOT));
            b.append(" phase=").append(phase == null ? "any" : phase.cliName());
            if (port != 0) b.append(" port=").append(port);
        }
        b.append(" p=").append(probability);
        if (skip > 0) b.append(" skip=").append(skip);
        if (count != Long.MAX_VALUE) b.append(" count=").append(count);
        if (action == Action.DELAY || action == Action.REORDER) b.append(" ms=").append(millis);
        if (action == Action.REORDER) b.append(" after=").append(after);
        return b.append(" seed=").append(seed).toString();
    }
}
