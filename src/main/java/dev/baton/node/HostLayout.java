package dev.baton.node;

import dev.baton.sys.Netns;
import dev.baton.wire.Bytes;
import java.io.IOException;
import java.net.NetworkInterface;
import java.net.SocketException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * baton on a real host (docs/DEPLOYMENT.md, "On a real host"): baton runs in the host's namespace,
 * the web server in a namespace of its own ({@code serverNamespace}) whose only way out is baton's
 * kernel-side TUN. The node wires it all itself:
 * <pre>
 *   uplink (eth0) ⇄ host's forwarding ⇄ wire TUN ⇄ BTCP ⇄ kernel TUN ⇄ server namespace (the service address)
 * </pre>
 * The host routes the service address to the wire TUN and, when {@code uplink} is named, answers
 * ARP for it there (a proxy neighbour entry); the network may instead route the address to the host.
 * The control links run between the hosts' own addresses, outside the TUNs.
 *
 * @param serverNamespace the server's network namespace (made if missing, never removed: the
 *     server lives in it)
 * @param uplink the interface on which this host answers ARP for the service address; null: the
 *     network routes the service address to this host
 * @param mtu the MTU of both TUNs: the uplink's, and the same on every node, since a handed-off
 *     connection carries the MSS the entry's kernel announced
 */
public record HostLayout(String serverNamespace, String uplink, int mtu) {
    private static final Path PROC_IPV4 = Path.of("/proc/sys/net/ipv4");

    /**
     * What the host must allow, checked before anything changes; each problem says how to fix it.
     * The packets baton writes toward the network carry addresses that are not the host's (the
     * client's, and on a chosen node the entry's service address): the host must forward them, and
     * strict reverse-path filtering would drop them.
     */
    void check(Node.Config cfg) throws IOException {
        if (!read(PROC_IPV4.resolve("ip_forward")).equals("1")) {
            throw new IOException("net.ipv4.ip_forward is off: this host must forward between its network and baton's"
                    + " wire TUN (sysctl -w net.ipv4.ip_forward=1; packaging/99-baton.conf keeps it)");
        }
        if (read(PROC_IPV4.resolve("conf/all/rp_filter")).equals("1")) {
            throw new IOException("net.ipv4.conf.all.rp_filter is 1 (strict): it would drop the replies baton sends"
                    + " with the client's or another node's address; set it to 2 (loose) or 0"
                    + " (sysctl -w net.ipv4.conf.all.rp_filter=2)");
        }
        if (cfg.controlAddress() == cfg.address()) {
            throw new IOException("on a real host the control links need the host's own address (controlAddress),"
                    + " not the service address " + Bytes.ipv4ToString(cfg.address()));
        }
        // Through the JDK (ioctls in this process's network namespace), not /sys: sysfs shows the
        // namespace it was mounted in, which need not be the one baton runs in.
        try {
            if (uplink != null && NetworkInterface.getByName(uplink) == null) {
                throw new IOException("uplink " + uplink + " is not an interface of this host");
            }
            if (NetworkInterface.getByInetAddress(Node.inet(cfg.controlAddress())) == null) {
                throw new IOException("control address " + Bytes.ipv4ToString(cfg.controlAddress())
                        + " is not an address of this host");
            }
        } catch (SocketException e) {
            throw new IOException("listing this host's addresses: " + e.getMessage(), e);
        }
    }

    /**
     * Moves the kernel TUN into the server's namespace and gives it the service address, the shadow
     * addresses and a default route; routes the service address to the wire TUN; answers ARP for it.
     */
    void wire(Node.Config cfg, List<List<String>> shadowAddresses, int queueLength) throws IOException {
        String service = Bytes.ipv4ToString(cfg.address());
        if (!Files.exists(Netns.path(serverNamespace))) IpCommand.run("netns", "add", serverNamespace);
        IpCommand.run("link", "set", cfg.kernelTun(), "netns", serverNamespace);
        List<List<String>> inside = new ArrayList<>();
        inside.add(List.of("link", "set", "lo", "up"));
        inside.add(List.of("addr", "replace", service + "/32", "dev", cfg.kernelTun()));
        inside.addAll(shadowAddresses);
        inside.add(List.of(
                "link",
                "set",
                "dev",
                cfg.kernelTun(),
                "mtu",
                Integer.toString(mtu),
                "txqueuelen",
                Integer.toString(queueLength),
                "up"));
        inside.add(List.of("route", "replace", "default", "dev", cfg.kernelTun()));
        IpCommand.batch(serverNamespace, inside);
        List<List<String>> outside = new ArrayList<>();
        outside.add(List.of(
                "link",
                "set",
                "dev",
                cfg.wireTun(),
                "mtu",
                Integer.toString(mtu),
                "txqueuelen",
                Integer.toString(queueLength),
                "up"));
        // Loose reverse-path filtering (rp_filter=2, common) still drops every packet from an interface
        // without an address (fib_validate_source's no_addr case). The host's own address, once more
        // on the wire TUN, gives it one; it also becomes the source of the host's own connections to
        // the service address.
        outside.add(List.of("addr", "replace", Bytes.ipv4ToString(cfg.controlAddress()) + "/32", "dev", cfg.wireTun()));
        outside.add(List.of("route", "replace", service + "/32", "dev", cfg.wireTun()));
        if (uplink != null) outside.add(List.of("neigh", "replace", "proxy", service, "dev", uplink));
        IpCommand.batch(outside);
        // The wire TUN itself: packets from it carry clients' addresses, routed out another interface.
        Files.writeString(PROC_IPV4.resolve("conf").resolve(cfg.wireTun()).resolve("rp_filter"), "0");
        // Linux delays a proxy ARP answer to a broadcast request by up to proxy_delay (0.8 s): a
        // client's first packet would wait for it.
        if (uplink != null)
            Files.writeString(PROC_IPV4.resolve("neigh").resolve(uplink).resolve("proxy_delay"), "0");
    }

    /** Stops answering ARP for the service address; the TUNs and their routes go with the node. */
    void unwire(Node.Config cfg) {
        if (uplink == null) return;
        try {
            IpCommand.run("neigh", "del", "proxy", Bytes.ipv4ToString(cfg.address()), "dev", uplink);
        } catch (IOException e) {
            // Gone already (the operator, or a restart's replace): nothing to undo.
        }
    }

    private static String read(Path file) throws IOException {
        return Files.readString(file).strip();
    }
}
