package dev.baton.btcp;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class StateTest {
    @Test
    void everyStateIsFoundByTheNumberItsRecordCarries() {
        for (State s : State.values()) assertThat(State.ofCode(s.code)).isSameAs(s);
        assertThat(State.ofCode((byte) 11)).isNull();
        assertThat(State.ofCode((byte) -1)).isNull();
    }

    @Test
    void theRecordNumbersAreThoseEarlierProcessesWrote() {
        // A restarted process reads the records the one before it wrote: the numbers may not move.
        assertThat(State.FORWARDING.code).isEqualTo((byte) 4);
        assertThat(State.LINGER.code).isEqualTo((byte) 5);
        assertThat(State.PENDING.code).isEqualTo((byte) 3);
        assertThat(State.SERVING.code).isEqualTo((byte) 8);
    }

    @Test
    void eachStateHasTheRoleOfTheNodeItBelongsTo() {
        assertThat(State.SERVING.role).isEqualTo(State.Role.CHOSEN);
        assertThat(State.INJECTED.role).isEqualTo(State.Role.CHOSEN);
        assertThat(State.CLOSED.role).isEqualTo(State.Role.CHOSEN);
        assertThat(State.RESET.role).isEqualTo(State.Role.ENTRY);
        assertThat(State.FREE.role).isEqualTo(State.Role.NONE);
        assertThat(State.LINGER.carriesData()).isFalse();
        assertThat(State.PENDING.carriesData()).isTrue();
    }
}
