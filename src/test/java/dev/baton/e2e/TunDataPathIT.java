package dev.baton.e2e;

import dev.baton.testbed.Spec;

/**
 * The handoff scenarios, with nginx, on the TUN path whatever the environment says: the fallback
 * for a kernel without BPF (or without the permission), where the engine in user space sees every
 * packet. {@link #theDataPathCarriedTheBulk} checks that no programs were loaded.
 */
class TunDataPathIT extends NginxHandoffIT {
    @Override
    Spec.DataPath dataPath() {
        return Spec.DataPath.TUN;
    }
}
