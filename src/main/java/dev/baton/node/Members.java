package dev.baton.node;

import dev.baton.btcp.Btcp;
import dev.baton.route.Member;
import dev.baton.wire.Bytes;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;

/** The cluster's members: their indexes, and the shadow addresses this node's kernel holds for them. */
final class Members {
    private Members() {}

    /**
     * Gives every member its index, its 1-based position among all members sorted by name, so every
     * node computes the same numbers from the same member list. Returns self first, then the peers.
     */
    static List<Member> indexed(Member self, List<Member> peers) {
        List<Member> all = new ArrayList<>(peers);
        all.add(self);
        var names = new HashSet<String>();
        for (Member m : all) {
            if (!names.add(m.name())) throw new IllegalArgumentException("member named twice: " + m.name());
        }
        if (all.size() > 254) throw new IllegalArgumentException("at most 254 members, not " + all.size());
        all.sort(Comparator.comparing(Member::name));
        List<Member> out = new ArrayList<>();
        Member me = null;
        for (int i = 0; i < all.size(); i++) {
            Member m = new Member(all.get(i).name(), all.get(i).address(), i + 1);
            if (m.name().equals(self.name())) me = m;
            else out.add(m);
        }
        out.addFirst(me);
        return out;
    }

    /**
     * Puts the shadow address of every peer on the kernel-side TUN device (claims 3 and 13: the
     * chosen node's kernel must accept the handed-in SYN). The kernel treats them as its own; they
     * are link-local and the BTCP rewrites them to the entry's address before anything leaves.
     * Scope host: the kernel still accepts connections to them, but never picks one as the source of
     * its own outgoing connections (control channel, back-end fetches), even on a route of scope link
     * such as "default dev tun": those must carry the node's real address.
     */
    static List<List<String>> shadowAddressCommands(String device, Btcp.Config cfg, List<Member> peers) {
        List<List<String>> commands = new ArrayList<>();
        for (Member p : peers) {
            commands.add(List.of(
                    "addr",
                    "replace",
                    Bytes.ipv4ToString(cfg.shadows().address(p.index())) + "/32",
                    "dev",
                    device,
                    "scope",
                    "host"));
        }
        return commands;
    }
}
