package dev.baton.route;

/**
 * A policy that exists only on the test class path, registered in the test resources' service file,
 * to show that {@link RoutingPolicy#load} finds policies beyond the built-in ones.
 */
public final class TestOnlyPolicy implements RoutingPolicy {
    @Override
    public String name() {
        return "test-only";
    }

    @Override
    public String choose(RequestInfo request, ClusterView cluster) {
        return "chosen-by-test-only";
    }
}
