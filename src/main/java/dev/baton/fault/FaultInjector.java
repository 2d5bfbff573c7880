package dev.baton.fault;

import dev.baton.btcp.Phase;
import dev.baton.control.ControlMessage;
import dev.baton.control.MessageType;
import dev.baton.fault.FaultRule.Action;
import dev.baton.fault.FaultRule.Direction;
import dev.baton.wire.Bytes;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * The fault-injection packet module: pushed into a node's chain at run time, on the network side of
 * the BTCP, it drops, duplicates, reorders or delays packets and control messages by the
 * {@link FaultRule}s it holds, so failures can be rehearsed on a live cluster and tests can lose
 * exactly the packet they mean to. Off (no rules, nothing held) it costs the loop one field read.
 *
 * <p>Confined to the packet loop's thread, like the BTCP: rules are added and removed through work
 * queued to that thread. Held packets live in a fixed ring of {@link #SLOTS} slots of
 * {@link #SLOT_BYTES} bytes, allocated once; a packet that does not fit (ring full, too big) passes
 * unharmed and is counted in {@link #holdOverflows()}. Nothing is allocated per packet.
 */
public final class FaultInjector {
    /** What to do with one packet. */
    public enum Verdict {
        /** Deliver it. */
        PASS,
        /** Forget it. */
        DROP,
        /** Deliver it twice. */
        DUPLICATE,
        /** The injector kept a copy and delivers it later through {@link #releaseDue}; deliver nothing now. */
        HELD
    }

    /** Where held packets go when their time comes. */
    public interface Sink {
        void deliver(Direction direction, MemorySegment packet, int length);
    }

    /** A rule in force, with what it has done. */
    private static final class Active {
        final long id;
        final FaultRule rule;
        final SplittableRandom random;
        long matched;
        long hits;

        Active(long id, FaultRule rule) {
            this.id = id;
            this.rule = rule;
            this.random = new SplittableRandom(rule.seed());
        }

        /** Counts a match; true if the rule hits it (past skip, under count, by chance p). */
        boolean hit() {
            matched++;
            if (matched <= rule.skip() || hits >= rule.count()) return false;
            if (rule.probability() < 1 && random.nextDouble() >= rule.probability()) return false;
            hits++;
            return true;
        }
    }

    private static final Direction[] DIRECTIONS = Direction.values();
    static final int SLOTS = 1024;
    static final int SLOT_BYTES = 2048;
    /** Most rules in force at once. */
    public static final int MAX_RULES = 64;

    private final List<Active> rules = new ArrayList<>();
    private long nextId = 1;
    private boolean portRules;

    private MemorySegment slots;
    private final int[] lengths = new int[SLOTS];
    private final byte[] directions = new byte[SLOTS];
    private final long[] releaseAt = new long[SLOTS];
    /** Reorder: released once the direction's pass count reaches this; Long.MAX_VALUE for a delay. */
    private final long[] releaseAfter = new long[SLOTS];

    private final boolean[] used = new boolean[SLOTS];
    private int head;
    private int tail;
    private int held;
    private final long[] passed = new long[2];
    private long holdOverflows;
    private MemorySegment scratch;

    /** True while any rule is in force or a packet is held: the loop consults the injector only then. */
    public boolean active() {
        return !rules.isEmpty() || held > 0;
    }

    /** Puts a rule in force; returns its id. */
    public long add(FaultRule rule) {
        if (rules.size() >= MAX_RULES) throw new IllegalStateException("at most " + MAX_RULES + " fault rules");
        Active a = new Active(nextId++, rule);
        rules.add(a);
        portRules |= rule.port() != 0;
        if (!rule.isMessageRule()
                && (rule.action() == Action.DELAY
                        || rule.action() == Action.REORDER
                        || rule.action() == Action.DUPLICATE)
                && slots == null) {
            slots = Arena.ofAuto().allocate((long) SLOTS * SLOT_BYTES, 16);
            scratch = Arena.ofAuto().allocate(65536, 16);
        }
        return a.id;
    }

    /** Removes rule {@code id}; false if there is none. Packets it holds are still delivered in time. */
    public boolean remove(long id) {
        boolean removed = rules.removeIf(a -> a.id == id);
        portRules = rules.stream().anyMatch(a -> a.rule.port() != 0);
        return removed;
    }

    /** Removes every rule. */
    public void clear() {
        rules.clear();
        portRules = false;
    }

    /**
     * Decides a packet going {@code direction} in connection phase {@code phase}. On
     * {@link Verdict#DUPLICATE} for an incoming packet the caller delivers {@link #duplicateOf} as
     * well, since delivery may rewrite the packet in place.
     */
    public Verdict onPacket(Direction direction, Phase phase, MemorySegment p, int len, long now) {
        return onPacket(direction, phase, p, len, now, true);
    }

    /**
     * As {@link #onPacket(Direction, Phase, MemorySegment, int, long)}; a packet that is not
     * {@code holdable} (a TCP super-packet, which only makes sense with the offload header it came
     * with) is never held: a delay or reorder rule lets it pass, counted as a hold overflow.
     */
    public Verdict onPacket(Direction direction, Phase phase, MemorySegment p, int len, long now, boolean holdable) {
        int sport = 0;
        int dport = 0;
        if (portRules && len >= 20 && (Bytes.u8(p, 0) >>> 4) == 4) {
            int proto = Bytes.u8(p, 9);
            int ipHl = (Bytes.u8(p, 0) & 0xf) * 4;
            if ((proto == 6 || proto == 17) && len >= ipHl + 4) {
                sport = Bytes.u16(p, ipHl);
                dport = Bytes.u16(p, ipHl + 2);
            }
        }
        for (int i = 0; i < rules.size(); i++) {
            Active a = rules.get(i);
            FaultRule r = a.rule;
            if (r.isMessageRule()
                    || !r.direction().covers(direction)
                    || (r.phase() != null && r.phase() != phase)
                    || (r.port() != 0 && r.port() != sport && r.port() != dport)
                    || !a.hit()) {
                continue;
            }
            switch (r.action()) {
                case DROP -> {
                    return Verdict.DROP;
                }
                case DUPLICATE -> {
                    if (direction == Direction.IN) {
                        if (len > scratch.byteSize()) break;
                        MemorySegment.copy(p, 0, scratch, 0, len);
                    }
                    return Verdict.DUPLICATE;
                }
                case DELAY, REORDER -> {
                    long after =
                            r.action() == Action.REORDER ? passed[direction.ordinal()] + r.after() : Long.MAX_VALUE;
                    if (holdable && hold(direction, p, len, now + r.millis(), after)) return Verdict.HELD;
                    holdOverflows++;
                }
            }
        }
        passed[direction.ordinal()]++;
        return Verdict.PASS;
    }

    /** The copy of the last incoming packet given {@link Verdict#DUPLICATE}. */
    public MemorySegment duplicateOf() {
        return scratch;
    }

    /**
     * Decides a control message this node is about to send: null to send it, or the rule that hit it
     * (the caller drops, duplicates or delays it by {@link FaultRule#millis()}).
     */
    public FaultRule onMessage(ControlMessage m) {
        int type = MessageType.of(m);
        for (int i = 0; i < rules.size(); i++) {
            Active a = rules.get(i);
            if (a.rule.messageType() == type && a.hit()) return a.rule;
        }
        return null;
    }

    private boolean hold(Direction direction, MemorySegment p, int len, long at, long after) {
        if (len > SLOT_BYTES || held == SLOTS || used[tail]) return false;
        int s = tail;
        MemorySegment.copy(p, 0, slots, (long) s * SLOT_BYTES, len);
        lengths[s] = len;
        directions[s] = (byte) direction.ordinal();
        releaseAt[s] = at;
        releaseAfter[s] = after;
        used[s] = true;
        held++;
        tail = (tail + 1) % SLOTS;
        return true;
    }

    /**
     * Delivers every held packet whose time has come (its delay passed, or for a reorder enough later
     * packets went its way), oldest first. Each is copied out and its slot freed before delivery, so
     * delivery may hold further packets.
     */
    public void releaseDue(long now, Sink sink) {
        if (held == 0) return;
        int n = held;
        for (int i = 0, s = head; i < SLOTS && n > 0; i++, s = (s + 1) % SLOTS) {
            if (!used[s]) continue;
            n--;
            Direction d = DIRECTIONS[directions[s]];
            if (now < releaseAt[s] && passed[d.ordinal()] < releaseAfter[s]) continue;
            int len = lengths[s];
            MemorySegment.copy(slots, (long) s * SLOT_BYTES, scratch, 0, len);
            used[s] = false;
            held--;
            sink.deliver(d, scratch, len);
        }
        while (head != tail && !used[head]) head = (head + 1) % SLOTS;
        if (held == 0) head = tail;
    }

    /** Packets that a delay or reorder could not hold (ring full, or too big): they passed unharmed. */
    public long holdOverflows() {
        return holdOverflows;
    }

    /** Packets held right now. */
    public int held() {
        return held;
    }

    /** The rules in force with what each did, for the admin socket and the CLI. */
    public List<Map<String, Object>> describe() {
        List<Map<String, Object>> l = new ArrayList<>();
        for (Active a : rules) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("id", a.id);
            m.put("rule", a.rule.toString());
            m.put("matched", a.matched);
            m.put("hits", a.hits);
            l.add(m);
        }
        return l;
    }
}
