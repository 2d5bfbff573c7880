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
 * </ul>
 *
 * Not here: what a message means for a connection (the {@code btcp} layer) or which node to choose
 * (the {@code route} layer). No encryption or authentication beyond the peer list: the channel is
 * meant for a trusted cluster network.
 */
package dev.baton.control;
