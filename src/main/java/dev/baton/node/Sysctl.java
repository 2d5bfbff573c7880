package dev.baton.node;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Per-device network settings of this process's namespace (/proc/sys/net is per namespace). */
final class Sysctl {
    private static final Path NET = Path.of("/proc/sys/net");

    private Sysctl() {}

    /** {@code net.ipv4.conf.DEVICE.KEY = value}. */
    static void deviceIpv4(String device, String key, String value) throws IOException {
        Files.writeString(NET.resolve("ipv4").resolve("conf").resolve(device).resolve(key), value);
    }

    /** IPv6 off on {@code device}, if the kernel has IPv6: none of its chatter reaches our TUNs. */
    static void deviceIpv6Off(String device) throws IOException {
        Path p = NET.resolve("ipv6").resolve("conf").resolve(device).resolve("disable_ipv6");
        if (Files.exists(p)) Files.writeString(p, "1");
    }
}
