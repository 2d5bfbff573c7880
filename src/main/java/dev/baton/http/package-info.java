/**
 * HTTP/1.x request-head parsing (RFC 9112), shared by the BTCP on the packet path at the entry node
 * and by the built-in server.
 *
 * <p>{@link dev.baton.http.RequestParser} is a resumable byte state machine with documented limits;
 * a malformed head is a result ({@link dev.baton.http.Invalid}), never an exception. Supported:
 * HTTP/1.0 and HTTP/1.1 request heads, CRLF or bare LF, origin-, absolute-, authority- and
 * asterisk-form targets, routing paths normalized per RFC 3986 §5.2.4. Not supported: HTTP/0.9,
 * HTTP/2 prefaces, obs-fold (rejected), request bodies (the caller reads them).
 */
package dev.baton.http;
