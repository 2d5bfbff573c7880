package dev.baton.node;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.baton.btcp.Refusal;
import dev.baton.control.RefuseReason;
import org.junit.jupiter.api.Test;

/** The engine's refusals and the control protocol's reason codes are one table: the node maps one to the other. */
class RefusalCodesTest {
    @Test
    void everyRefusalHasTheProtocolsCodeOfTheSameName() {
        for (Refusal r : Refusal.values()) {
            assertThat(RefuseReason.isValid(r.code())).as(r.name()).isTrue();
            assertThat(RefuseReason.name(r.code())).isEqualTo(r.name());
            assertThat(Refusal.ofCode(r.code())).isEqualTo(r);
        }
    }

    @Test
    void everyCodeTheDecoderLetsThroughIsARefusal() {
        for (int code = -1; code < 64; code++) {
            int c = code;
            if (RefuseReason.isValid(c)) {
                assertThat(Refusal.ofCode(c).code()).isEqualTo(c);
            } else {
                assertThatThrownBy(() -> Refusal.ofCode(c)).isInstanceOf(IllegalArgumentException.class);
            }
        }
    }
}
