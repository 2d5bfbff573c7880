package dev.baton.route;

import java.util.List;

/**
 * The default policy, "rare handoff": serve here whenever this node holds the path; otherwise hand
 * off to the holder with the fewest active connections among those whose control channel is up; a
 * path nobody holds (or one that cannot be routed) is served here, so the local server answers it.
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
        if (holders.isEmpty() || holders.contains(self)) return self;
        String best = self;
        int bestLoad = Integer.MAX_VALUE;
        for (String h : holders) {
            if (!cluster.isUp(h)) continue;
            int load = cluster.load(h);
            if (load < bestLoad) {
                best = h;
                bestLoad = load;
            }
        }
        return best;
    }
}
