package dev.baton.route;

import java.util.ServiceLoader;
import java.util.stream.Collectors;

/**
 * Decides which node serves a request (claims 3, 11 d-e, 27 c-d: "determining which of said
 * plurality of server computers ... can best process said web request, based on said content").
 *
 * <p>Policies are found at run time with {@link ServiceLoader}: a user's own policy is a class
 * implementing this interface, listed in {@code META-INF/services/dev.baton.route.RoutingPolicy} of
 * a jar on the class path, and chosen by {@link #name()}. Policies are called on the packet loop
 * thread, once per new connection: they must be fast and must not block.
 */
public interface RoutingPolicy {
    /** The name users select the policy by. */
    String name();

    /** The node that should serve {@code request}; {@link ClusterView#self()} to serve it here. */
    String choose(RequestInfo request, ClusterView cluster);

    /**
     * Loads the policy called {@code name} from the thread context class loader (the class path);
     * the error lists the names available.
     */
    static RoutingPolicy load(String name) {
        return load(name, Thread.currentThread().getContextClassLoader());
    }

    /**
     * Loads the policy called {@code name} from {@code classLoader} (for example a
     * {@link java.net.URLClassLoader} over a user's policy jar, whose parent sees the built-ins);
     * the error lists the names available.
     */
    static RoutingPolicy load(String name, ClassLoader classLoader) {
        var loader = ServiceLoader.load(RoutingPolicy.class, classLoader);
        for (RoutingPolicy p : loader) {
            if (p.name().equals(name)) return p;
        }
        String known = loader.stream().map(p -> p.get().name()).sorted().collect(Collectors.joining(", "));
        throw new IllegalArgumentException("no routing policy named '" + name + "' (available: " + known + ")");
    }
}
