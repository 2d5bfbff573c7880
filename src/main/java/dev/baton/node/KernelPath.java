package dev.baton.node;

import java.nio.file.Path;

/**
 * Where the node's in-kernel data path goes (dev.baton.datapath): its programs attach to the tc
 * hooks of {@code uplink}, the interface that carries the service address, and its maps are pinned
 * under {@code pins} (on a bpffs), where a restarted node finds them. The node's TUNs then carry only
 * what needs the engine's judgement (handshakes, held requests, closes).
 *
 * <pre>
 *   network ── uplink (the service address) ── kernel TCP and the server, unmodified
 *                 │ tc ingress/egress: baton's programs (steady flows translated in the kernel)
 *                 └─ everything else of ours ⇄ wire TUN / kernel TUN ⇄ the engine (user space)
 * </pre>
 */
public record KernelPath(String uplink, Path pins) {
    /** The bpffs where pins go unless told otherwise. */
    public static final Path BPFFS = Path.of("/sys/fs/bpf");

    public KernelPath {
        if (uplink == null || uplink.isEmpty() || uplink.length() > 15) {
            throw new IllegalArgumentException("an uplink is an interface name of 1-15 characters: " + uplink);
        }
        pins = pins.toAbsolutePath().normalize();
    }
}
