package dev.baton.route;

/** Never hands off: every node serves what it receives (a baseline for benchmarks). */
public final class LocalPolicy implements RoutingPolicy {
    @Override
    public String name() {
        return "local";
    }

    @Override
    public String choose(RequestInfo request, ClusterView cluster) {
        return cluster.self();
    }
}
