package dev.baton.route;

/**
 * The parts of a request head a policy routes on. {@code path} is the decoded, normalised path
 * without the query, or null when the target cannot be routed (the request is served locally).
 */
public record RequestInfo(String method, String path, String host) {}
