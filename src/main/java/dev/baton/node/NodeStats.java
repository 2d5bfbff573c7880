package dev.baton.node;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonValue;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.DeserializationContext;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonSerializer;
import com.fasterxml.jackson.databind.KeyDeserializer;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializerProvider;
import com.fasterxml.jackson.databind.module.SimpleModule;
import dev.baton.btcp.Counter;
import dev.baton.btcp.Drop;
import dev.baton.btcp.Refusal;
import dev.baton.control.ControlCounter;
import dev.baton.datapath.DatapathCounter;
import dev.baton.server.StaticServer;
import java.io.IOException;
import java.util.Collections;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * A node's numbers: what the admin socket's {@code stats} answers (so {@code baton status --json}
 * and the testbed's stats), and the base of the dashboard's {@code /api/node}. {@link Node#stats()}
 * builds it; {@code baton status}, the dashboard, the testbed and the tests read it back as this
 * record ({@link #parse}). Every counter name is defined once, by the enum that keys its map
 * ({@link Counter}, {@link Drop}, {@link LoopDrop}, {@link Refusal}, {@link ControlCounter},
 * {@link DatapathCounter}): the same name in this JSON, in the Prometheus metrics and on the
 * dashboard. A reader ignores what it does not know (a newer node's field or counter), so
 * mixed versions can read each other.
 *
 * @param serverNamespace the host's server namespace on a real host (docs/DEPLOYMENT.md); null in the testbed
 * @param peerLoads each peer's load as it last reported it: what the policy weighs
 * @param refusals refusals received as entry, only those that happened
 * @param jitMillis how long this JVM's JIT compilers have worked (-1: unknown): a bench waits for it to level off
 * @param server the built-in server's counters; null with an external server
 * @param datapath the in-kernel data path's; null on the TUN path
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonIgnoreProperties(ignoreUnknown = true)
public record NodeStats(
        String node,
        String address,
        String controlAddress,
        String serverNamespace,
        List<String> peers,
        List<String> peersUp,
        Map<String, Integer> peerLoads,
        Map<Counter, Long> counters,
        Drops drops,
        Map<Refusal, Long> refusals,
        long activeConnections,
        long trackedConnections,
        long halfOpenConnections,
        long freeHoldBuffers,
        int contentPaths,
        String policy,
        DrainState drain,
        long openConnections,
        long droppedAnnouncements,
        ControlStats control,
        long jitMillis,
        StaticServer.Stats server,
        DatapathStats datapath) {

    public NodeStats {
        peers = peers == null ? List.of() : List.copyOf(peers);
        peersUp = peersUp == null ? List.of() : List.copyOf(peersUp);
        peerLoads = peerLoads == null ? Map.of() : Collections.unmodifiableMap(new LinkedHashMap<>(peerLoads));
        counters = known(counters);
        drops = drops == null ? new Drops(Map.of(), Map.of()) : drops;
        refusals = known(refusals);
    }

    /** Counter {@code c}; 0 if the node did not say (an older node). */
    public long counter(Counter c) {
        return counters.getOrDefault(c, 0L);
    }

    /** Refusals received for {@code r}. */
    public long refusals(Refusal r) {
        return refusals.getOrDefault(r, 0L);
    }

    /** The data path's counter {@code c}; 0 on the TUN path. */
    public long datapathCounter(DatapathCounter c) {
        return datapath == null ? 0 : datapath.counter(c);
    }

    /** One JSON line, as the admin socket answers. */
    public String toJson() {
        try {
            return JSON.writeValueAsString(this);
        } catch (IOException e) {
            throw new IllegalStateException("a stats record always serialises", e);
        }
    }

    /** The stats a node answered. */
    public static NodeStats parse(String json) throws IOException {
        return JSON.readValue(json, NodeStats.class);
    }

    /**
     * What was dropped, by reason: the engine's and the packet loop's, one JSON object as one list
     * of reasons (their names do not overlap: {@code NodeStatsTest}).
     */
    public record Drops(Map<Drop, Long> engine, Map<LoopDrop, Long> loop) {
        public Drops {
            engine = known(engine);
            loop = known(loop);
        }

        public long get(Drop d) {
            return engine.getOrDefault(d, 0L);
        }

        public long get(LoopDrop d) {
            return loop.getOrDefault(d, 0L);
        }

        /** Every reason by its name, the engine's first. */
        @JsonValue
        public Map<String, Long> byName() {
            Map<String, Long> m = new LinkedHashMap<>();
            engine.forEach((d, v) -> m.put(d.metric(), v));
            loop.forEach((d, v) -> m.put(d.key(), v));
            return m;
        }

        @JsonCreator
        static Drops of(Map<String, Long> byName) {
            Map<Drop, Long> engine = new EnumMap<>(Drop.class);
            Map<LoopDrop, Long> loop = new EnumMap<>(LoopDrop.class);
            byName.forEach((name, v) -> {
                Drop d = DROPS.get(name);
                LoopDrop l = LOOP_DROPS.get(name);
                if (d != null) engine.put(d, v);
                else if (l != null) loop.put(l, v);
            });
            return new Drops(engine, loop);
        }
    }

    /**
     * The control plane's counters over all links, and the malformed frames by reason: one JSON
     * object, the reasons as {@code malformed.<REASON>} beside the counters.
     *
     * @param malformed by {@code FrameException.Reason} name
     */
    public record ControlStats(Map<ControlCounter, Long> counters, Map<String, Long> malformed) {
        private static final String MALFORMED = ControlCounter.MALFORMED.key() + ".";

        public ControlStats {
            counters = known(counters);
            malformed = malformed == null ? Map.of() : Collections.unmodifiableMap(new LinkedHashMap<>(malformed));
        }

        public long get(ControlCounter c) {
            return counters.getOrDefault(c, 0L);
        }

        @JsonValue
        Map<String, Long> byName() {
            Map<String, Long> m = new LinkedHashMap<>();
            counters.forEach((c, v) -> m.put(c.key(), v));
            malformed.forEach((r, v) -> m.put(MALFORMED + r, v));
            return m;
        }

        @JsonCreator
        static ControlStats of(Map<String, Long> byName) {
            Map<ControlCounter, Long> counters = new EnumMap<>(ControlCounter.class);
            Map<String, Long> malformed = new LinkedHashMap<>();
            byName.forEach((name, v) -> {
                ControlCounter c = CONTROL.get(name);
                if (c != null) counters.put(c, v);
                else if (name.startsWith(MALFORMED)) malformed.put(name.substring(MALFORMED.length()), v);
            });
            return new ControlStats(counters, malformed);
        }
    }

    /**
     * A drain ({@code baton drain}).
     *
     * @param state {@code off}, {@code draining} or {@code drained} (nothing open any more)
     * @param millis since the drain began; null when off
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record DrainState(String state, int openConnections, Long millis, List<String> peersDraining) {
        public DrainState {
            peersDraining = peersDraining == null ? List.of() : List.copyOf(peersDraining);
        }

        public boolean off() {
            return "off".equals(state);
        }
    }

    /**
     * The in-kernel data path: the uplink's interface index, the programs' counters, and what the
     * kernel timed of each program (only while {@code kernel.bpf_stats_enabled} is 1).
     */
    public record DatapathStats(int uplink, Map<DatapathCounter, Long> counters, Map<String, ProgramStats> programs) {
        public DatapathStats {
            counters = known(counters);
            programs = programs == null ? Map.of() : Collections.unmodifiableMap(new LinkedHashMap<>(programs));
        }

        public long counter(DatapathCounter c) {
            return counters.getOrDefault(c, 0L);
        }
    }

    /** A program's runs and the nanoseconds they took: {@code runNanos / runs} is its cost per packet. */
    public record ProgramStats(long runs, long runNanos) {}

    // ---------------------------------------------------------------- JSON

    private static final Map<String, Drop> DROPS = byName(Drop.class, Drop::metric);
    private static final Map<String, LoopDrop> LOOP_DROPS = byName(LoopDrop.class, LoopDrop::key);
    private static final Map<String, ControlCounter> CONTROL = byName(ControlCounter.class, ControlCounter::key);

    /**
     * Writes and reads this record: each enum-keyed map under its enum's names, unknown keys
     * skipped (a newer node's counter), unknown fields ignored.
     */
    public static final ObjectMapper JSON = new ObjectMapper()
            .registerModule(new SimpleModule("baton-stats")
                    .addKeySerializer(Counter.class, keyWriter(Counter::metric))
                    .addKeyDeserializer(Counter.class, keyReader(byName(Counter.class, Counter::metric)))
                    .addKeySerializer(DatapathCounter.class, keyWriter(DatapathCounter::key))
                    .addKeyDeserializer(
                            DatapathCounter.class, keyReader(byName(DatapathCounter.class, DatapathCounter::key))))
            .configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false)
            .configure(DeserializationFeature.READ_UNKNOWN_ENUM_VALUES_AS_NULL, true);

    private static <E extends Enum<E>> Map<String, E> byName(Class<E> type, Function<E, String> name) {
        Map<String, E> m = new HashMap<>();
        for (E e : type.getEnumConstants()) {
            if (m.put(name.apply(e), e) != null) throw new AssertionError("two " + type + " named " + name.apply(e));
        }
        return Map.copyOf(m);
    }

    private static <E extends Enum<E>> JsonSerializer<E> keyWriter(Function<E, String> name) {
        return new JsonSerializer<>() {
            @Override
            public void serialize(E value, JsonGenerator gen, SerializerProvider serializers) throws IOException {
                gen.writeFieldName(name.apply(value));
            }
        };
    }

    /** Null for a name this build does not know: {@link #known} leaves it out. */
    private static <E extends Enum<E>> KeyDeserializer keyReader(Map<String, E> byName) {
        return new KeyDeserializer() {
            @Override
            public Object deserializeKey(String key, DeserializationContext ctxt) {
                return byName.get(key);
            }
        };
    }

    /** {@code m} without the keys a reader did not know, in a map that keeps their order. */
    private static <K, V> Map<K, V> known(Map<K, V> m) {
        if (m == null) return Map.of();
        Map<K, V> copy = new LinkedHashMap<>();
        m.forEach((k, v) -> {
            if (k != null && v != null) copy.put(k, v);
        });
        return Collections.unmodifiableMap(copy);
    }
}
