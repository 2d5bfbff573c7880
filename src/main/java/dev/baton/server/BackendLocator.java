package dev.baton.server;

import java.net.InetSocketAddress;

/**
 * Tells the built-in server which node holds a path it lacks, for back-end forwarding of requests
 * that arrive on a persistent connection already bound to this node (Aron et al., USENIX 2000:
 * later requests on a handed-off keep-alive connection are fetched from the holder over a separate
 * connection and relayed, instead of handing the client connection off again).
 */
@FunctionalInterface
public interface BackendLocator {
    /**
     * Where {@code path} is held.
     *
     * @param path the normalized routing path ({@link dev.baton.http.RequestParser#path()})
     * @return the address of a node holding {@code path}, or null if none is known. Must not block
     *         for long: it is called on the request path.
     */
    InetSocketAddress holderOf(String path);
}
