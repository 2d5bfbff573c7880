package dev.baton.route;

import dev.baton.http.RequestParser;

/**
 * The parts of a request head a policy routes on. {@code path} is the decoded, normalised path
 * without the query, or null when the target cannot be routed (the request is served locally).
 */
public record RequestInfo(String method, String path, String host) {

    /**
     * What the policy sees of a complete head, or null when the head must be served where it landed
     * whatever the policy would say ({@link RequestParser#routable()} false: no routable path, or an
     * HTTP/1.1 request without Host). Deciding this before the policy runs keeps a user's policy
     * from handing off a request every server must refuse, and keeps hostile targets on the entry.
     */
    public static RequestInfo of(RequestParser head) {
        return head.routable() ? new RequestInfo(head.method(), head.path(), head.host()) : null;
    }
}
