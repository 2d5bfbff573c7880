package dev.baton.node;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.baton.btcp.Counter;
import dev.baton.btcp.Drop;
import dev.baton.btcp.Refusal;
import dev.baton.control.ControlCounter;
import dev.baton.control.FrameException;
import dev.baton.datapath.DatapathCounter;
import dev.baton.server.StaticServer;
import java.util.EnumMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

class NodeStatsTest {
    /** Every field set, every counter a different number. */
    static NodeStats full() {
        long n = 1;
        Map<Counter, Long> counters = new EnumMap<>(Counter.class);
        for (Counter c : Counter.values()) counters.put(c, n++);
        Map<Drop, Long> drops = new EnumMap<>(Drop.class);
        for (Drop d : Drop.values()) drops.put(d, n++);
        Map<LoopDrop, Long> loop = new EnumMap<>(LoopDrop.class);
        for (LoopDrop d : LoopDrop.values()) loop.put(d, n++);
        Map<ControlCounter, Long> control = new EnumMap<>(ControlCounter.class);
        for (ControlCounter c : ControlCounter.values()) control.put(c, n++);
        Map<String, Long> malformed = new LinkedHashMap<>();
        for (FrameException.Reason r : FrameException.Reason.values()) malformed.put(r.name(), n++);
        Map<DatapathCounter, Long> datapath = new EnumMap<>(DatapathCounter.class);
        for (DatapathCounter c : DatapathCounter.values()) datapath.put(c, n++);
        return new NodeStats(
                "n1",
                "10.200.1.1",
                "10.200.0.1",
                "baton-srv",
                List.of("n2", "n3"),
                List.of("n2"),
                Map.of("n2", 7),
                counters,
                new NodeStats.Drops(drops, loop),
                Map.of(Refusal.TABLE_FULL, 3L),
                11,
                12,
                13,
                14,
                15,
                "content-aware",
                new NodeStats.DrainState("draining", 2, 1250L, List.of("n3")),
                16,
                17,
                new NodeStats.ControlStats(control, malformed),
                18,
                new StaticServer.Stats(1, 2, 3, 4, 5, 6, 7, 8, 9),
                new NodeStats.DatapathStats(
                        4, datapath, Map.of("uplink_ingress", new NodeStats.ProgramStats(100, 5000))));
    }

    @Test
    void readsBackWhatItWrites() throws Exception {
        NodeStats s = full();
        assertThat(NodeStats.parse(s.toJson())).isEqualTo(s);
    }

    @Test
    void writesEachCounterUnderItsEnumsName() throws Exception {
        JsonNode j = NodeStats.JSON.readTree(full().toJson());
        for (Counter c : Counter.values())
            assertThat(j.path("counters").has(c.metric())).as(c.metric()).isTrue();
        for (Drop d : Drop.values())
            assertThat(j.path("drops").has(d.metric())).as(d.metric()).isTrue();
        for (LoopDrop d : LoopDrop.values())
            assertThat(j.path("drops").has(d.key())).as(d.key()).isTrue();
        for (ControlCounter c : ControlCounter.values())
            assertThat(j.path("control").has(c.key())).isTrue();
        assertThat(j.path("control").path("malformed.TOO_LONG").isNumber()).isTrue();
        assertThat(j.path("refusals").path("TABLE_FULL").asLong()).isEqualTo(3);
        for (DatapathCounter c : DatapathCounter.values()) {
            assertThat(j.path("datapath").path("counters").has(c.key()))
                    .as(c.key())
                    .isTrue();
        }
        assertThat(j.path("drain").path("millis").asLong()).isEqualTo(1250);
    }

    /** The drops of the engine and of the loop share one JSON object: no name may mean both. */
    @Test
    void theEnginesAndTheLoopsDropsHaveDistinctNames() {
        Set<String> names = new HashSet<>();
        for (Drop d : Drop.values())
            assertThat(names.add(d.metric())).as(d.metric()).isTrue();
        for (LoopDrop d : LoopDrop.values())
            assertThat(names.add(d.key())).as(d.key()).isTrue();
    }

    /** A newer node may count more: an older reader keeps what it knows and skips the rest. */
    @Test
    void ignoresCountersAndFieldsItDoesNotKnow() throws Exception {
        NodeStats s = NodeStats.parse("""
                {"node":"n9","counters":{"connectionsSeen":5,"somethingNew":1},
                 "drops":{"badChecksum":2,"newDrop":3},"refusals":{"NEW_REASON":1,"BUSY":4},
                 "control":{"badMac":6,"newControl":1},"newField":{"x":[1]},"activeConnections":7}""");
        assertThat(s.node()).isEqualTo("n9");
        assertThat(s.counter(Counter.CONNECTIONS_SEEN)).isEqualTo(5);
        assertThat(s.counters()).hasSize(1);
        assertThat(s.drops().get(Drop.BAD_CHECKSUM)).isEqualTo(2);
        assertThat(s.drops().byName()).containsOnlyKeys("badChecksum");
        assertThat(s.refusals()).containsOnlyKeys(Refusal.BUSY);
        assertThat(s.control().get(ControlCounter.BAD_MAC)).isEqualTo(6);
        assertThat(s.activeConnections()).isEqualTo(7);
        assertThat(s.datapath()).isNull();
        assertThat(s.datapathCounter(DatapathCounter.TO_CHOSEN)).isZero();
    }

    /** What an external server and the TUN path leave out is left out of the JSON too. */
    @Test
    void omitsWhatTheNodeDoesNotHave() throws Exception {
        NodeStats s = NodeStats.parse("{\"node\":\"n1\",\"drain\":{\"state\":\"off\",\"openConnections\":0}}");
        JsonNode j = NodeStats.JSON.readTree(s.toJson());
        assertThat(j.has("server")).isFalse();
        assertThat(j.has("datapath")).isFalse();
        assertThat(j.has("serverNamespace")).isFalse();
        assertThat(j.path("drain").has("millis")).isFalse();
        assertThat(s.drain().off()).isTrue();
    }
}
