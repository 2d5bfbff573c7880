package dev.baton.route;

import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** A {@link ClusterView} a test sets up by hand: an index, the nodes that are up, their loads. */
final class FakeCluster implements ClusterView {
    private final String self;
    private ContentIndex index = ContentIndex.empty();
    private final Set<String> up = new HashSet<>();
    private final Map<String, Integer> loads = new HashMap<>();
    private final Set<String> draining = new HashSet<>();

    FakeCluster(String self) {
        this.self = self;
    }

    FakeCluster content(Map<String, List<String>> byNode) {
        index = ContentIndex.of(byNode);
        return this;
    }

    FakeCluster up(String node, int load) {
        up.add(node);
        loads.put(node, load);
        return this;
    }

    FakeCluster down(String node, int load) {
        up.remove(node);
        loads.put(node, load);
        return this;
    }

    FakeCluster draining(String node) {
        draining.add(node);
        return this;
    }

    @Override
    public boolean isDraining(String node) {
        return draining.contains(node);
    }

    @Override
    public String self() {
        return self;
    }

    @Override
    public List<String> holders(String path) {
        return index.holders(path);
    }

    @Override
    public boolean isUp(String node) {
        return node.equals(self) || up.contains(node);
    }

    @Override
    public int load(String node) {
        return loads.getOrDefault(node, Integer.MAX_VALUE / 2);
    }
}
