package dev.baton.fault;

import static org.assertj.core.api.Assertions.assertThat;

import dev.baton.btcp.Phase;
import dev.baton.control.ControlMessage;
import dev.baton.fault.FaultInjector.Verdict;
import dev.baton.fault.FaultRule.Direction;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class FaultInjectorTest {
    final FaultInjector f = new FaultInjector();
    final List<String> delivered = new ArrayList<>();
    final FaultInjector.Sink sink = (d, p, n) -> delivered.add(d + ":" + p.get(ValueLayout.JAVA_BYTE, 0));

    static MemorySegment packet(int tag) {
        byte[] b = new byte[60];
        b[0] = (byte) tag;
        return MemorySegment.ofArray(b);
    }

    /** An IPv4/TCP header with the given ports. */
    static MemorySegment tcp(int sport, int dport) {
        byte[] b = new byte[40];
        b[0] = 0x45;
        b[9] = 6;
        b[20] = (byte) (sport >>> 8);
        b[21] = (byte) sport;
        b[22] = (byte) (dport >>> 8);
        b[23] = (byte) dport;
        return MemorySegment.ofArray(b);
    }

    @Test
    void isOffWithoutRules() {
        assertThat(f.active()).isFalse();
        long id = f.add(FaultRule.parse("drop"));
        assertThat(f.active()).isTrue();
        assertThat(f.remove(id)).isTrue();
        assertThat(f.active()).isFalse();
        assertThat(f.remove(id)).isFalse();
    }

    @Test
    void selectsByDirectionPhaseAndPort() {
        f.add(FaultRule.parse("drop dir=out phase=synack"));
        f.add(FaultRule.parse("drop port=7070"));
        assertThat(f.onPacket(Direction.OUT, Phase.SYNACK, packet(1), 60, 0)).isEqualTo(Verdict.DROP);
        assertThat(f.onPacket(Direction.IN, Phase.SYNACK, packet(1), 60, 0)).isEqualTo(Verdict.PASS);
        assertThat(f.onPacket(Direction.OUT, Phase.SERVED, packet(1), 60, 0)).isEqualTo(Verdict.PASS);
        assertThat(f.onPacket(Direction.IN, Phase.OTHER, tcp(7070, 5555), 40, 0))
                .isEqualTo(Verdict.DROP);
        assertThat(f.onPacket(Direction.OUT, Phase.OTHER, tcp(5555, 7070), 40, 0))
                .isEqualTo(Verdict.DROP);
        assertThat(f.onPacket(Direction.OUT, Phase.OTHER, tcp(5555, 80), 40, 0)).isEqualTo(Verdict.PASS);
    }

    @Test
    void skipsThenHitsAtMostCountTimes() {
        f.add(FaultRule.parse("drop phase=request skip=1 count=2"));
        List<Verdict> v = new ArrayList<>();
        for (int i = 0; i < 5; i++) v.add(f.onPacket(Direction.IN, Phase.REQUEST, packet(i), 60, 0));
        assertThat(v).containsExactly(Verdict.PASS, Verdict.DROP, Verdict.DROP, Verdict.PASS, Verdict.PASS);
        assertThat(f.describe().getFirst()).containsEntry("matched", 5L).containsEntry("hits", 2L);
    }

    @Test
    void theSameSeedDropsTheSamePackets() {
        List<Verdict> a = run(7);
        List<Verdict> b = run(7);
        List<Verdict> c = run(8);
        assertThat(a).isEqualTo(b);
        assertThat(a).isNotEqualTo(c);
        long drops = a.stream().filter(x -> x == Verdict.DROP).count();
        assertThat(drops).as("about 10% of 2000").isBetween(150L, 250L);
    }

    private static List<Verdict> run(long seed) {
        FaultInjector g = new FaultInjector();
        g.add(FaultRule.parse("drop p=0.1 seed=" + seed));
        List<Verdict> v = new ArrayList<>();
        for (int i = 0; i < 2000; i++) v.add(g.onPacket(Direction.IN, Phase.OTHER, packet(i), 60, 0));
        return v;
    }

    @Test
    void delaysAndKeepsOrder() {
        f.add(FaultRule.parse("delay dir=in ms=100"));
        assertThat(f.onPacket(Direction.IN, Phase.OTHER, packet(1), 60, 1000)).isEqualTo(Verdict.HELD);
        assertThat(f.onPacket(Direction.IN, Phase.OTHER, packet(2), 60, 1010)).isEqualTo(Verdict.HELD);
        assertThat(f.onPacket(Direction.OUT, Phase.OTHER, packet(3), 60, 1010)).isEqualTo(Verdict.PASS);
        f.releaseDue(1099, sink);
        assertThat(delivered).isEmpty();
        f.releaseDue(1100, sink);
        assertThat(delivered).containsExactly("IN:1");
        f.clear();
        assertThat(f.active()).as("still holding one").isTrue();
        f.releaseDue(1110, sink);
        assertThat(delivered).containsExactly("IN:1", "IN:2");
        assertThat(f.active()).isFalse();
    }

    @Test
    void reorderLetsLaterPacketsOvertake() {
        f.add(FaultRule.parse("reorder dir=out count=1 after=2 ms=1000"));
        assertThat(f.onPacket(Direction.OUT, Phase.SERVED, packet(1), 60, 0)).isEqualTo(Verdict.HELD);
        assertThat(f.onPacket(Direction.OUT, Phase.SERVED, packet(2), 60, 0)).isEqualTo(Verdict.PASS);
        f.releaseDue(0, sink);
        assertThat(delivered).isEmpty();
        assertThat(f.onPacket(Direction.OUT, Phase.SERVED, packet(3), 60, 0)).isEqualTo(Verdict.PASS);
        f.releaseDue(0, sink);
        assertThat(delivered).as("after two later packets").containsExactly("OUT:1");
    }

    @Test
    void duplicatesAnIncomingPacketAsACopy() {
        f.add(FaultRule.parse("duplicate dir=in count=1"));
        MemorySegment p = packet(9);
        assertThat(f.onPacket(Direction.IN, Phase.LOCAL, p, 60, 0)).isEqualTo(Verdict.DUPLICATE);
        p.set(ValueLayout.JAVA_BYTE, 0, (byte) 1); // delivery may rewrite the original
        assertThat(f.duplicateOf().get(ValueLayout.JAVA_BYTE, 0)).isEqualTo((byte) 9);
    }

    @Test
    void passesWhatItCannotHoldAndCountsIt() {
        f.add(FaultRule.parse("delay ms=1000"));
        for (int i = 0; i < FaultInjector.SLOTS; i++) {
            assertThat(f.onPacket(Direction.IN, Phase.OTHER, packet(i), 60, 0)).isEqualTo(Verdict.HELD);
        }
        assertThat(f.onPacket(Direction.IN, Phase.OTHER, packet(0), 60, 0)).isEqualTo(Verdict.PASS);
        MemorySegment big = MemorySegment.ofArray(new byte[FaultInjector.SLOT_BYTES + 1]);
        f.releaseDue(1000, sink);
        assertThat(f.onPacket(Direction.IN, Phase.OTHER, big, (int) big.byteSize(), 0))
                .isEqualTo(Verdict.PASS);
        assertThat(f.holdOverflows()).isEqualTo(2);
        assertThat(delivered).hasSize(FaultInjector.SLOTS);
    }

    @Test
    void selectsControlMessagesByType() {
        f.add(FaultRule.parse("drop msg=terminate count=1"));
        assertThat(f.onMessage(new ControlMessage.Terminate(1))).isNotNull();
        assertThat(f.onMessage(new ControlMessage.Terminate(2))).as("count=1").isNull();
        assertThat(f.onMessage(new ControlMessage.Abort(3))).isNull();
        assertThat(f.onPacket(Direction.IN, Phase.OTHER, packet(1), 60, 0))
                .as("not a packet rule")
                .isEqualTo(Verdict.PASS);
    }
}
