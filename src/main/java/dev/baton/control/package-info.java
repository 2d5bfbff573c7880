/**
 * The persistent control channel between BTCP modules (claims 1, 23): one TCP connection per pair of
 * cluster nodes, over the same network as client traffic, carrying handoff requests, acks, refusals,
 * commits (with the request bytes), terminations and aborts for every connection between the two,
 * plus hellos, heartbeats (load reports) and content announcements.
 *
 * <ul>
 *   <li>{@link dev.baton.control.ControlMessage}: the messages, as records that check their fields.</li>
 *   <li>{@link dev.baton.control.ControlFrame}: the wire format (length-prefixed, big-endian, at most
 *       64 KiB a frame); a bad frame is a {@link dev.baton.control.FrameException} with a reason.</li>
 *   <li>{@link dev.baton.control.ControlPlane}: the links (dialing, accepting, hello, heartbeats,
 *       dead-peer detection, bounded outbound queues) and the {@link dev.baton.control.ControlListener}
 *       that tells the node what arrived.</li>
 *   <li>{@link dev.baton.control.ClusterKey} and {@code LinkAuth}: mutual authentication of each link
 *       and a tag on every frame (HMAC-SHA256 with replay protection; why a MAC rather than TLS, and
 *       the threat model, in {@link dev.baton.control.ControlPlane}).</li>
 * </ul>
 *
 * Not here: what a message means for a connection (the {@code btcp} layer) or which node to choose
 * (the {@code route} layer). No encryption: the link carries nothing the client's own traffic did not
 * already carry in clear.
 */
package dev.baton.control;
