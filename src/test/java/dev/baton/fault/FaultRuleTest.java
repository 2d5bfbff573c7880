package dev.baton.fault;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.baton.btcp.Phase;
import dev.baton.control.MessageType;
import org.junit.jupiter.api.Test;

class FaultRuleTest {
    @Test
    void parsesEveryKey() {
        FaultRule r =
                FaultRule.parse("reorder dir=out phase=served port=80 p=0.25 skip=2 count=5 ms=40 after=4 seed=9");
        assertThat(r.action()).isEqualTo(FaultRule.Action.REORDER);
        assertThat(r.direction()).isEqualTo(FaultRule.Direction.OUT);
        assertThat(r.phase()).isEqualTo(Phase.SERVED);
        assertThat(r.port()).isEqualTo(80);
        assertThat(r.probability()).isEqualTo(0.25);
        assertThat(r.skip()).isEqualTo(2);
        assertThat(r.count()).isEqualTo(5);
        assertThat(r.millis()).isEqualTo(40);
        assertThat(r.after()).isEqualTo(4);
        assertThat(r.seed()).isEqualTo(9);
        assertThat(FaultRule.parse(r.toString())).as("toString reads back").isEqualTo(r);
    }

    @Test
    void defaultsToEveryPacketBothWays() {
        FaultRule r = FaultRule.parse("drop");
        assertThat(r.direction()).isEqualTo(FaultRule.Direction.BOTH);
        assertThat(r.phase()).isNull();
        assertThat(r.probability()).isEqualTo(1.0);
        assertThat(r.count()).isEqualTo(Long.MAX_VALUE);
        assertThat(r.isMessageRule()).isFalse();
    }

    @Test
    void parsesMessageRules() {
        FaultRule r = FaultRule.parse("delay msg=handoff-ack ms=1500");
        assertThat(r.messageType()).isEqualTo(MessageType.HANDOFF_ACK);
        assertThat(r.isMessageRule()).isTrue();
        assertThat(FaultRule.parse(r.toString())).isEqualTo(r);
    }

    @Test
    void namesTheWrongWord() {
        assertThatThrownBy(() -> FaultRule.parse("explode")).hasMessageContaining("unknown action 'explode'");
        assertThatThrownBy(() -> FaultRule.parse("drop phase=later")).hasMessageContaining("unknown phase 'later'");
        assertThatThrownBy(() -> FaultRule.parse("drop colour=red")).hasMessageContaining("unknown key 'colour'");
        assertThatThrownBy(() -> FaultRule.parse("drop p=2")).hasMessageContaining("p must be");
        assertThatThrownBy(() -> FaultRule.parse("drop p=x")).hasMessageContaining("'p' needs a number");
        assertThatThrownBy(() -> FaultRule.parse("drop count=1 count=2")).hasMessageContaining("given twice");
        assertThatThrownBy(() -> FaultRule.parse("drop msg=commit dir=in")).hasMessageContaining("msg= rule");
        assertThatThrownBy(() -> FaultRule.parse("reorder msg=commit")).hasMessageContaining("not reordered");
        assertThatThrownBy(() -> FaultRule.parse("drop msg=hello")).hasMessageContaining("unknown message 'hello'");
        assertThatThrownBy(() -> FaultRule.parse("delay ms=999999")).hasMessageContaining("ms must be");
        assertThatThrownBy(() -> FaultRule.parse("drop dir")).hasMessageContaining("key=value");
        assertThatThrownBy(() -> FaultRule.parse("  ")).hasMessageContaining("empty");
    }
}
