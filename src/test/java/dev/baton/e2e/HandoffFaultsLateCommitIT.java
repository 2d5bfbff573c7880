package dev.baton.e2e;

import java.util.Arrays;
import java.util.stream.Stream;

/**
 * Every case of {@link HandoffFaultsIT} with {@code --no-eager-commit}: the entry commits only after
 * the chosen node's ack, and may fall back to its own server at any step before that.
 */
class HandoffFaultsLateCommitIT extends HandoffFaultsIT {
    @Override
    String[] nodeArgs() {
        return Stream.concat(Arrays.stream(TIMERS), Stream.of("--no-eager-commit"))
                .toArray(String[]::new);
    }
}
