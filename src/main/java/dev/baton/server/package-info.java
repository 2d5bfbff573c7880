/**
 * The built-in static web server ({@link dev.baton.server.StaticServer}): a node's document root
 * over HTTP/1.1, upload digests for byte-exact checks, and back-end forwarding of keep-alive requests
 * for content held by another node ({@link dev.baton.server.BackendLocator}). baton works with any
 * unmodified server; this one is for running out of the box and for tests.
 */
package dev.baton.server;
