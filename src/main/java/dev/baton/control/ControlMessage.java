package dev.baton.control;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.List;

/**
 * Everything two BTCP modules say to each other over their persistent control channel (claims 1, 23):
 * handoff requests, acks, refusals, terminations and aborts for every connection between them, plus
 * the hello and auth that open a link, load reports (heartbeats) and content announcements that let
 * the routing policy choose.
 *
 * <p>Records check their fields when built, so that any record encodes into a frame of at most
 * {@link ControlFrame#MAX_FRAME_LENGTH} bytes; the decoder turns a failed check into
 * {@link FrameException.Reason#BAD_FIELD}. The frame header's correlation id is the connection id of
 * the messages about one connection ({@link #correlationId()}), and zero for the others.
 */
public sealed interface ControlMessage {
    /** Largest raw client packet carried in a {@link HandoffRequest}: one Ethernet MTU. */
    int MAX_PACKET_LENGTH = 1500;
    /** Largest request prefix carried in a {@link Commit}. */
    int MAX_REQUEST_LENGTH = 32 * 1024;
    /** Longest node name, in UTF-8 bytes (its length travels in one byte). */
    int MAX_NAME_LENGTH = 255;
    /** Longest content path, in UTF-8 bytes. */
    int MAX_PATH_LENGTH = 4096;
    /** Largest window scale shift a TCP may announce (RFC 7323 section 2.3). */
    int MAX_WINDOW_SCALE = 14;
    /** {@code windowScale} value that means "no window scale option". */
    int NO_WINDOW_SCALE = -1;

    /** The frame header's correlation id: the connection id for per-connection messages, else 0. */
    default long correlationId() {
        return 0;
    }

    /**
     * First frame on a link, both ways. {@code incarnation} is drawn at random once per control plane
     * (each start of a node), so a peer can tell a restart (its handoffs are gone) from a link that
     * was cut and came back. {@code nonce} is fresh random bytes for each connection: with the other
     * side's, it makes this connection's {@link Auth} MACs and frame keys unlike any other's, so
     * nothing recorded from one connection verifies on another ({@link ControlPlane}). Arrays are
     * not copied: do not change them after building the record.
     */
    record Hello(String nodeName, int ipv4, int servicePort, long incarnation, byte[] nonce) implements ControlMessage {
        /** Bytes of {@link #nonce()}. */
        public static final int NONCE_LENGTH = LinkAuth.NONCE_LENGTH;

        public Hello {
            int n = Utf8.encode(nodeName).length;
            if (n == 0 || n > MAX_NAME_LENGTH) {
                throw new IllegalArgumentException("node name must be 1.." + MAX_NAME_LENGTH + " bytes: " + n);
            }
            checkPort(servicePort);
            if (nonce.length != NONCE_LENGTH) {
                throw new IllegalArgumentException("nonce must be " + NONCE_LENGTH + " bytes: " + nonce.length);
            }
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Hello h
                    && nodeName.equals(h.nodeName)
                    && ipv4 == h.ipv4
                    && servicePort == h.servicePort
                    && incarnation == h.incarnation
                    && Arrays.equals(nonce, h.nonce);
        }

        @Override
        public int hashCode() {
            return nodeName.hashCode() * 31 + Long.hashCode(incarnation) * 17 + Arrays.hashCode(nonce);
        }

        @Override
        public String toString() {
            return "Hello[nodeName=" + nodeName + ", ipv4=" + address().getHostAddress() + ", servicePort="
                    + servicePort + ", incarnation=" + Long.toHexString(incarnation) + "]";
        }

        /** The node's address as a big-endian int, as {@link #ipv4()} wants it. */
        public static int ipv4Of(InetAddress address) {
            byte[] b = address.getAddress();
            if (b.length != 4) {
                throw new IllegalArgumentException("not an IPv4 address: " + address);
            }
            return (b[0] & 0xff) << 24 | (b[1] & 0xff) << 16 | (b[2] & 0xff) << 8 | (b[3] & 0xff);
        }

        /** {@link #ipv4()} as an address. */
        public InetAddress address() {
            byte[] b = {(byte) (ipv4 >>> 24), (byte) (ipv4 >>> 16), (byte) (ipv4 >>> 8), (byte) ipv4};
            try {
                return InetAddress.getByAddress(b);
            } catch (UnknownHostException e) {
                throw new AssertionError("4 bytes are always an address", e);
            }
        }
    }

    /**
     * Second frame on a link, both ways: proof that the sender holds the cluster key, an HMAC over
     * both Hello frames and the sender's role ({@link LinkAuth}). The link is up only once the
     * peer's Auth verifies; every later frame carries a tag. Arrays are not copied.
     */
    record Auth(byte[] mac) implements ControlMessage {
        /** Bytes of {@link #mac()}. */
        public static final int MAC_LENGTH = LinkAuth.AUTH_MAC_LENGTH;

        public Auth {
            if (mac.length != MAC_LENGTH) {
                throw new IllegalArgumentException("auth MAC must be " + MAC_LENGTH + " bytes: " + mac.length);
            }
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Auth a && Arrays.equals(mac, a.mac);
        }

        @Override
        public int hashCode() {
            return Arrays.hashCode(mac);
        }

        @Override
        public String toString() {
            return "Auth[" + MAC_LENGTH + " B]";
        }
    }

    /**
     * Liveness, load and state: the routing policy prefers the least-loaded holder of a path, and one
     * that is not draining. {@code flags} is a bit set ({@link #DRAINING}); bits this version does
     * not know are ignored, so a later one may add its own.
     */
    record Heartbeat(int activeConnections, long flags) implements ControlMessage {
        /** The sender is draining: it takes a handoff only for a path no other node can serve. */
        public static final long DRAINING = 1;

        public Heartbeat {
            if (activeConnections < 0 || flags < 0) {
                throw new IllegalArgumentException("negative load or flags: " + activeConnections + ", " + flags);
            }
        }

        public static Heartbeat of(int activeConnections, boolean draining) {
            return new Heartbeat(activeConnections, draining ? DRAINING : 0);
        }

        public boolean draining() {
            return (flags & DRAINING) != 0;
        }
    }

    /**
     * Entry node to chosen node: take this connection (claims 3-4, 13-14, 29-30).
     * {@code syn} and {@code ack} are the client's raw IPv4 packets as the entry node held them; the
     * other fields are the entry node's initial state (from its kernel's SYN/ACK) that the chosen node
     * needs to translate sequence numbers and timestamps. Arrays are not copied: do not change them
     * after building the record.
     */
    record HandoffRequest(
            long connId,
            int entryIsn,
            int entryTsVal,
            int entryWindowScale,
            int entryMss,
            boolean timestamps,
            boolean sackPermitted,
            byte[] syn,
            byte[] ack)
            implements ControlMessage {
        public HandoffRequest {
            checkWindowScale(entryWindowScale);
            checkMss(entryMss);
            checkPacket("syn", syn);
            checkPacket("ack", ack);
        }

        @Override
        public long correlationId() {
            return connId;
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof HandoffRequest r
                    && connId == r.connId
                    && entryIsn == r.entryIsn
                    && entryTsVal == r.entryTsVal
                    && entryWindowScale == r.entryWindowScale
                    && entryMss == r.entryMss
                    && timestamps == r.timestamps
                    && sackPermitted == r.sackPermitted
                    && Arrays.equals(syn, r.syn)
                    && Arrays.equals(ack, r.ack);
        }

        @Override
        public int hashCode() {
            return Long.hashCode(connId) * 31 + Arrays.hashCode(syn) * 17 + Arrays.hashCode(ack);
        }

        @Override
        public String toString() {
            return "HandoffRequest[connId=" + connId + ", entryIsn=" + Integer.toUnsignedString(entryIsn)
                    + ", entryTsVal=" + Integer.toUnsignedString(entryTsVal) + ", entryWindowScale="
                    + entryWindowScale + ", entryMss=" + entryMss + ", timestamps=" + timestamps
                    + ", sackPermitted=" + sackPermitted + ", syn=" + syn.length + " B, ack=" + ack.length + " B]";
        }
    }

    /**
     * Chosen node to entry node: taken; this is my initial state (claims 5, 15), and the port of
     * mine to which you forward this connection's client packets ({@code forwardPort}: it tells me
     * which of my shadow addresses the connection lives on).
     */
    record HandoffAck(
            long connId,
            int chosenIsn,
            int chosenTsVal,
            int chosenWindowScale,
            int chosenMss,
            boolean timestamps,
            boolean sackPermitted,
            int forwardPort)
            implements ControlMessage {
        public HandoffAck {
            checkWindowScale(chosenWindowScale);
            checkMss(chosenMss);
            checkPort(forwardPort);
        }

        @Override
        public long correlationId() {
            return connId;
        }
    }

    /** Chosen node to entry node: not taken, serve it yourself; {@code reason} is a {@link RefuseReason}. */
    record HandoffRefuse(long connId, int reason) implements ControlMessage {
        public HandoffRefuse {
            if (!RefuseReason.isValid(reason)) {
                throw new IllegalArgumentException("unknown refuse reason " + reason);
            }
        }

        @Override
        public long correlationId() {
            return connId;
        }
    }

    /** Chosen node to entry node: the connection closed; stop forwarding after the linger time (step 9). */
    record Terminate(long connId) implements ControlMessage {
        @Override
        public long correlationId() {
            return connId;
        }
    }

    /**
     * Entry node to chosen node, after the ack: the handoff is final, here is the request (claims 7,
     * 17: the entry forwards the web request to the selected server). {@code request} is the client's
     * byte stream from its first byte up to the first gap, as the entry holds it (the request head at
     * least). It crosses the reliable control channel, so the entry may acknowledge those bytes to the
     * client while it holds them; and since the chosen node's server sees no request before this
     * message, it sends the client nothing until the entry can no longer fall back.
     */
    record Commit(long connId, byte[] request) implements ControlMessage {
        public Commit {
            if (request.length > MAX_REQUEST_LENGTH) {
                throw new IllegalArgumentException("request longer than " + MAX_REQUEST_LENGTH + ": " + request.length);
            }
        }

        @Override
        public long correlationId() {
            return connId;
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Commit c && connId == c.connId && Arrays.equals(request, c.request);
        }

        @Override
        public int hashCode() {
            return Long.hashCode(connId) * 31 + Arrays.hashCode(request);
        }

        @Override
        public String toString() {
            return "Commit[connId=" + connId + ", request=" + request.length + " B]";
        }
    }

    /** Entry node to chosen node: forget this handoff (e.g. the ack came too late); reset your kernel's side. */
    record Abort(long connId) implements ControlMessage {
        @Override
        public long correlationId() {
            return connId;
        }
    }

    /**
     * The URL paths this node serves from its document root (claim 25: content may be partitioned or
     * partly replicated). One set may span many frames: {@code first} starts a new set that replaces
     * the previous one, {@code last} completes it. Use {@link #chunked} to cut a set into frames.
     */
    record Content(boolean first, boolean last, List<String> paths) implements ControlMessage {
        /** Bytes of a Content payload before its paths: flags (u8) and path count (u16). */
        static final int FIXED_LENGTH = 3;

        public Content {
            paths = List.copyOf(paths);
            int size = FIXED_LENGTH;
            for (String p : paths) {
                size += 2 + checkPath(p);
            }
            if (size > ControlFrame.MAX_PAYLOAD_LENGTH) {
                throw new IllegalArgumentException("content payload of " + size + " bytes does not fit one frame");
            }
        }

        /**
         * Cuts a whole set of paths into as few frames as fit, the first marked {@code first} and the
         * last {@code last}. An empty set is one frame that is both.
         */
        public static List<Content> chunked(Collection<String> paths) {
            List<Content> out = new ArrayList<>();
            List<String> chunk = new ArrayList<>();
            int size = FIXED_LENGTH;
            for (String p : paths) {
                int n = 2 + checkPath(p);
                if (size + n > ControlFrame.MAX_PAYLOAD_LENGTH) {
                    out.add(new Content(out.isEmpty(), false, chunk));
                    chunk.clear();
                    size = FIXED_LENGTH;
                }
                chunk.add(p);
                size += n;
            }
            out.add(new Content(out.isEmpty(), true, chunk));
            return out;
        }

        private static int checkPath(String p) {
            int n = Utf8.encode(p).length;
            if (n > MAX_PATH_LENGTH || !p.startsWith("/")) {
                throw new IllegalArgumentException(
                        "path must start with / and be at most " + MAX_PATH_LENGTH + " bytes: " + n + " bytes");
            }
            return n;
        }
    }

    private static void checkPort(int port) {
        if (port < 0 || port > 0xffff) {
            throw new IllegalArgumentException("port out of range: " + port);
        }
    }

    private static void checkWindowScale(int ws) {
        if (ws < NO_WINDOW_SCALE || ws > MAX_WINDOW_SCALE) {
            throw new IllegalArgumentException("window scale out of range: " + ws);
        }
    }

    private static void checkMss(int mss) {
        if (mss < 0 || mss > 0xffff) {
            throw new IllegalArgumentException("MSS out of range: " + mss);
        }
    }

    private static void checkPacket(String what, byte[] packet) {
        if (packet.length > MAX_PACKET_LENGTH) {
            throw new IllegalArgumentException(what + " longer than " + MAX_PACKET_LENGTH + ": " + packet.length);
        }
    }
}
