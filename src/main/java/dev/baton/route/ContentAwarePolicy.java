package dev.baton.route;

import java.util.List;

/**
 * The default policy, "rare handoff": serve here whenever this node holds the path; otherwise hand
 * off to the holder with the fewest active connections among those whose control channel is up; a
 * path nobody holds (or one that cannot be routed) is served here, so the local server answers it.
 * Draining nodes (this one included) are the last resort: a path is sent to one, or served by this
 * one while it drains, only when no holder that is not draining is up. A draining node still
 * serves what only it holds: its connections end, but no request is refused for it.
 */
public final class ContentAwarePolicy implements RoutingPolicy {
    @Override
    public String name() {
        return "content";
    }

    @Override
    public String choose(RequestInfo request, ClusterView cluster) {
        String self = cluster.self();
        List<String> holders = cluster.holders(request.path());
        boolean selfHolds = holders.contains(self);
        boolean selfDraining = cluster.isDraining(self);
        if (holders.isEmpty() || (selfHolds && !selfDraining)) return self;
        String best = null;
        boolean bestDraining = true;
        int bestLoad = Integer.MAX_VALUE;
        for (String h : holders) {
            if (h.equals(self) || !cluster.isUp(h)) continue;
            boolean draining = cluster.isDraining(h);
            int load = cluster.load(h);
            if (best == null || (bestDraining && !draining) || (draining == bestDraining && load < bestLoad)) {
                best = h;
                bestDraining = draining;
                bestLoad = load;
            }
        }
        // Nobody else up; or only draining peers while this node holds the path too: rare handoff.
        if (best == null || (bestDraining && selfHolds)) return self;
        return best;
    }
}
