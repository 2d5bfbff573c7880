package dev.baton.btcp;

import dev.baton.http.RequestParser;
import dev.baton.wire.Bytes;
import dev.baton.wire.Ipv4Header;
import dev.baton.wire.TcpHeader;
import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.function.LongConsumer;

/**
 * The bottom-TCP (BTCP) module of one node: it sits between the network ("wire") and the node's
 * unmodified kernel TCP, sees every packet both ways that the kernel's data path does not carry,
 * and hands connections off (the README's "What happens to a connection"). A node plays two
 * roles, often for different connections at once: the <b>entry</b> ({@link EntryRole}: holds the
 * request, decides, forwards) and the <b>chosen node</b> ({@link ChosenRole}: replays the
 * handshake, serves, rewrites).
 *
 * <p>This class is the module's face and its dispatch: it finds a packet's or a message's
 * connection and, by the connection's {@link State}, hands it to the role that acts on it. Rooms of
 * their own: the connection table and its timers ({@link ConnTable}), the translation between the
 * two nodes' sequence spaces ({@link Translation}), the peers' liveness ({@link PeerLinks}), the
 * kernel's data path ({@link KernelPath}) and the takeover at a restart ({@link Takeover}).
 *
 * <p>Single-threaded: one packet loop owns this object and calls every method. Nothing on the packet
 * path allocates; handoffs allocate a little on the control path. One line per handoff is logged at
 * debug ({@code baton node --log-level debug}); nothing per packet.
 */
public final class Btcp {

    /** Where packets go: up into this node's kernel, or out toward the network. Data at offset 0. */
    public interface Output {
        void toKernel(MemorySegment packet, int length);

        void toWire(MemorySegment packet, int length);
    }

    /** Messages to other nodes' BTCPs over the persistent control channel (claims 1, 23). */
    public interface Control {
        /** Returns false if the message could not even be queued (link down, queue full). */
        boolean handoffRequest(String peer, long connId, HandshakeInit entry, byte[] syn, byte[] ack);

        /** The handoff is final; the request bytes. Returns false if it could not be queued. */
        boolean commit(String peer, long connId, byte[] request);

        /** {@code forwardPort}: the port the entry sends this connection's client packets to. */
        void handoffAck(String peer, long connId, HandshakeInit chosen, int forwardPort);

        void handoffRefuse(String peer, long connId, Refusal reason);

        void terminate(String peer, long connId);

        void abort(String peer, long connId);
    }

    /** Picks the node that serves a complete request head; null (or this node) serves it here. */
    public interface Router {
        Peer route(RequestParser head);
    }

    /**
     * How this node's BTCP runs: its service, where handed-in connections live, its table sizes and
     * its timers. {@link #defaults} is what a node uses; tests shrink the parts they look at.
     *
     * @param address this node's IPv4 address (the service address)
     * @param servicePort the web service port whose connections may be handed off
     * @param eagerCommit the entry commits with its handoff request, not after the chosen node's ack:
     *     one control message on the way to the first response byte instead of three (see {@code
     *     EntryRole#decide}); false: the entry may still fall back until the ack
     */
    public record Config(
            int address,
            int servicePort,
            Shadows shadows,
            Limits limits,
            Timers timers,
            Closing closing,
            boolean eagerCommit) {
        public Config {
            Objects.requireNonNull(shadows, "shadows");
            Objects.requireNonNull(limits, "limits");
            Objects.requireNonNull(timers, "timers");
            Objects.requireNonNull(closing, "closing");
            if (shadows.isForwardPort(servicePort)) {
                throw new IllegalArgumentException("the service port lies in the forward port range");
            }
        }

        public static Config defaults(int address, int servicePort) {
            return new Config(
                    address, servicePort, Shadows.DEFAULT, Limits.DEFAULT, Timers.DEFAULT, Closing.DEFAULT, true);
        }
    }

    /**
     * Where the connections other members hand in live in this node's kernel: member {@code i}'s at
     * the shadow address {@code network | i}, and the entry forwards their packets to this node's
     * port {@code forwardPortBase + i}.
     *
     * @param network a /24 of addresses this node's kernel holds, one per member
     * @param forwardPortBase the port below the 255 forward ports
     */
    public record Shadows(int network, int forwardPortBase) {
        /** 169.254.77.0/24 (link-local, so a shadow address is never routed off the node), ports 61001-61255. */
        public static final Shadows DEFAULT = new Shadows(0xA9FE4D00, 61000);

        public Shadows {
            if ((network & 0xff) != 0) throw new IllegalArgumentException("shadow network must be a /24");
            if (forwardPortBase <= 0 || forwardPortBase + 255 > 0xffff) {
                throw new IllegalArgumentException("forward port base out of range: " + forwardPortBase);
            }
        }

        /** The address entry member {@code index} has in this node's kernel. */
        public int address(int index) {
            return network | index;
        }

        /** Whether {@code a} is one of the shadow addresses. */
        public boolean holds(int a) {
            return (a & 0xffffff00) == network;
        }

        /** The port to which entry member {@code index} forwards the packets of a connection it handed here. */
        public int forwardPort(int index) {
            return forwardPortBase + index;
        }

        /** Whether {@code port} is one of the 255 forward ports. */
        public boolean isForwardPort(int port) {
            return port > forwardPortBase && port <= forwardPortBase + 255;
        }
    }

    /**
     * Table sizes; every one bounds memory.
     *
     * @param maxConnections size of the connection table
     * @param holdBuffers connections whose request can be held at once
     * @param holdBytes bytes of held packets per connection
     * @param maxHeadBytes largest request head read before serving locally
     */
    public record Limits(int maxConnections, int holdBuffers, int holdBytes, int maxHeadBytes) {
        public static final Limits DEFAULT = new Limits(65536, 1024, 32 * 1024, RequestParser.DEFAULT_MAX_HEAD_BYTES);

        public Limits {
            if (maxConnections <= 0 || holdBuffers <= 0 || holdBytes <= 0 || maxHeadBytes <= 0) {
                throw new IllegalArgumentException("limits must be positive");
            }
        }
    }

    /**
     * How long an open connection's steps may take.
     *
     * @param request a request head not complete by then is served locally
     * @param handoff a handoff not acknowledged by then falls back to local service (after an eager
     *     commit: the entry asks the chosen node first)
     * @param syn a handshake not completed by then is forgotten
     * @param idle an established connection with no packet for this long is forgotten
     */
    public record Timers(Duration request, Duration handoff, Duration syn, Duration idle) {
        public static final Timers DEFAULT = new Timers(
                Duration.ofSeconds(5), Duration.ofSeconds(1), Duration.ofSeconds(30), Duration.ofMinutes(15));

        public Timers {
            positive(request, handoff, syn, idle);
        }
    }

    /**
     * How long a connection is kept after its close, or after its peer went silent.
     *
     * @param linger the entry keeps forwarding this long after the close (late retransmissions)
     * @param timeWait the chosen node keeps rewriting this long after the close (TIME-WAIT)
     * @param peerGrace after the control link to a peer goes down, connections shared with it wait
     *     this long for it to come back (the same process: the link was cut) before they are reset
     *     (it died or restarted)
     */
    public record Closing(Duration linger, Duration timeWait, Duration peerGrace) {
        public static final Closing DEFAULT =
                new Closing(Duration.ofSeconds(10), Duration.ofMinutes(1), Duration.ofSeconds(10));

        public Closing {
            positive(linger, timeWait, peerGrace);
        }
    }

    private static void positive(Duration... timers) {
        for (Duration d : timers) {
            if (d.isNegative() || d.isZero()) throw new IllegalArgumentException("a timer must be positive: " + d);
        }
    }

    private final Config cfg;
    private final Counters counters = new Counters();
    private final Engine e;
    private final ConnTable table;
    private final PacketIo io;
    private final Ipv4Header ip;
    private final TcpHeader tcp;
    private final EntryRole entry;
    private final ChosenRole chosen;
    private final Takeover takeover;
    private final TimerWheel.Expiry onExpiry = this::expired;
    private final FastPath.Closes onKernelClose = this::closedInKernel;
    /** For {@link #phaseOfWirePacket}, which runs ahead of the packet's handling. */
    private final Ipv4Header phaseIp = new Ipv4Header();

    private final TcpHeader phaseTcp = new TcpHeader();

    public Btcp(Config cfg, Output out, Control control, Router router, long nowMillis) {
        this.cfg = cfg;
        e = new Engine(cfg, out, control, counters, nowMillis);
        table = e.table;
        io = e.io;
        ip = io.ip;
        tcp = io.tcp;
        entry = new EntryRole(e, router);
        chosen = new ChosenRole(e);
        takeover = new Takeover(e, entry);
    }

    public Counters counters() {
        return counters;
    }

    /**
     * Lets {@code fastPath} carry the plain segments of steady connections below the kernel's TCP;
     * before the first packet. Without one, every segment goes through this engine.
     */
    public void fastPath(FastPath fastPath) {
        e.kernel.attach(fastPath);
    }

    /**
     * Tells {@code observer} (on the packet loop's thread) how long each completed handoff took, in
     * nanoseconds: from the entry's handoff request to the chosen node's ack. For the metrics.
     */
    public void onHandoffLatency(LongConsumer observer) {
        entry.onHandoffLatency(Objects.requireNonNull(observer));
    }

    public Config config() {
        return cfg;
    }

    /** Connections this node's own server is serving (its load, reported to the cluster). */
    public int activeConnections() {
        return table.served();
    }

    /**
     * Connections that still carry data: served here (locally or handed in), handed off through here
     * as entry, or not yet decided. Entries kept only to absorb late retransmissions (linger,
     * TIME-WAIT, reset) are not counted: a draining node with none open has finished its work.
     */
    public int openConnections() {
        return table.open();
    }

    /** Entries in the connection table. */
    public int trackedConnections() {
        return table.size();
    }

    /** Entries in the table that are half-open ({@code SYN_RCVD}): at most half the table. */
    public int halfOpenConnections() {
        return table.halfOpen();
    }

    /** Hold buffers not in use (a connection needs one from its handshake ACK to its decision). */
    public int freeHoldBuffers() {
        return e.holds.available();
    }

    /**
     * One tracked connection as an operator reads it ({@link #connections}).
     *
     * @param client the client's address and port, as {@code a.b.c.d:port}
     * @param local 0: to this node's service address; else the index of the entry that handed it in
     * @param state its state ({@code SYN_RCVD} ... {@code RESET})
     * @param peer the other node of its handoff, or null
     * @param kernel what the kernel's data path carries of it ({@code none}, {@code held}, {@code local},
     *     {@code toChosen}, {@code handedIn}, {@code refused})
     * @param quietMillis since its last packet the engine saw
     * @param unacknowledged at the chosen node, how much of what our server sent (its FIN counted) the
     *     client has not acknowledged as far as the engine knows; 0 elsewhere
     */
    public record ConnectionView(
            String client,
            int local,
            String state,
            String peer,
            boolean finFromClient,
            boolean finFromServer,
            boolean orphaned,
            String kernel,
            long quietMillis,
            long unacknowledged) {}

    /** Up to {@code limit} tracked connections, for the admin command {@code connections} (loop thread). */
    public List<ConnectionView> connections(int limit) {
        List<ConnectionView> all = new ArrayList<>();
        for (int slot = 0; slot < table.capacity() && all.size() < limit; slot++) {
            Conn c = table.at(slot);
            if (c.state == State.FREE) continue;
            all.add(new ConnectionView(
                    Bytes.ipv4ToString(ConnKeys.address(c.key)) + ":" + ConnKeys.port(c.key),
                    ConnKeys.local(c.key),
                    c.state.name(),
                    c.peer,
                    c.finFromClient,
                    c.finFromServer,
                    c.orphaned,
                    c.offloaded.viewName,
                    Math.max(0, e.now - c.lastSeen),
                    c.state == State.SERVING && Engine.owesClient(c)
                            ? Integer.toUnsignedLong(c.serverNext - c.clientAck)
                            : 0));
        }
        return all;
    }

    /**
     * The loop writes each round's control messages and then calls {@link #controlSent}: an eagerly
     * committed request injected at the chosen node waits for them, so the handoff ack leaves before
     * the server can answer (ChosenRole). Without this call, requests are injected at once.
     */
    public void injectAfterControl() {
        chosen.injectAfterControl();
    }

    /** The round's control messages are written (see {@link #injectAfterControl}). */
    public void controlSent() {
        chosen.controlSent();
    }

    /**
     * Sets the clock alone, as the loop wakes: the packets of the turn arm their timers from the
     * time they came, however long the loop slept ({@link #tick} fires timers after them).
     */
    public void clock(long nowMillis) {
        e.now = nowMillis;
    }

    /**
     * The time (ms) at or before which {@link #tick} next has work, {@link Long#MAX_VALUE} if
     * nothing waits on time: the loop may sleep until then unless packets come.
     */
    public long nextDeadlineMillis() {
        return Math.min(table.timers.earliestBound(), e.kernel.nextHandDownMillis());
    }

    /** The descriptor the loop watches for the kernel's closes ({@link FastPath#closesFd}); -1: none. */
    public int closesFd() {
        return e.kernel.fast().closesFd();
    }

    /** Around a wait longer than a turn: the kernel's closes then wake the loop ({@link FastPath#asleep}). */
    public void asleep(boolean asleep) {
        e.kernel.fast().asleep(asleep);
    }

    /** Advances the clock and fires due timers; the loop calls this every iteration. */
    public void tick(long nowMillis) {
        e.now = nowMillis;
        table.timers.advance(nowMillis, onExpiry);
        e.kernel.tick();
    }

    // ------------------------------------------------------------------------------------------
    // Packets from the network, toward this node's kernel.

    /** A packet read from the wire side. It may be rewritten in place. */
    public void fromWire(MemorySegment p, int len) {
        if (len < 1 || (Bytes.u8(p, 0) >>> 4) != 4) {
            io.toKernel(p, len); // IPv6 and the like are not ours
            return;
        }
        if (!ip.wrap(p, 0, len).isValid()) {
            counters.drop(Drop.BAD_IP_HEADER);
            return;
        }
        if (ip.protocol() != Ipv4Header.PROTOCOL_TCP || ip.destinationAddress() != cfg.address() || ip.isFragment()) {
            io.toKernel(p, len);
            return;
        }
        int ipHl = ip.headerLength();
        int tcpLen = ip.totalLength() - ipHl;
        if (tcpLen < TcpHeader.MIN_LENGTH) {
            counters.drop(Drop.BAD_TCP_HEADER);
            return;
        }
        tcp.wrap(p, ipHl, tcpLen);
        int dport = tcp.destinationPort();
        if (dport != cfg.servicePort()) {
            if (cfg.shadows().isForwardPort(dport)) {
                if (io.validTcp()) forwardedToUs(dport - cfg.shadows().forwardPortBase(), p, len);
            } else {
                io.toKernel(p, len);
            }
            return;
        }
        if (!io.validTcp()) return;

        Conn c = table.get(ConnKeys.key(ip.sourceAddress(), tcp.sourcePort(), ConnKeys.SERVICE));
        if (c != null && c.offloaded == Offload.LINGERING && entry.takenAnew(c)) { // c is freed
            c = entry.adoptFetched();
            if (c == null) {
                io.toKernel(p, len);
                return;
            }
        }
        if (c == null) {
            if ((tcp.flags() & (TcpHeader.SYN | TcpHeader.ACK | TcpHeader.RST)) == TcpHeader.SYN) {
                entry.newConnection(p, len);
                return;
            }
            // the kernel passed the handshake and sent the request up: it is ours to decide
            c = tcp.payloadLength() > 0 && tcp.ack() && !tcp.syn() && !tcp.rst() && e.kernel.present()
                    ? entry.adopt()
                    : null;
            if (c == null) {
                io.toKernel(p, len);
                return;
            }
        }
        e.kernel.readOne(c, true);
        long key = c.key;
        int generation = c.generation;
        switch (c.state) {
            case SYN_RCVD -> entry.inHandshake(c, p, len);
            case HOLDING, PENDING -> entry.whileHeld(c, p, len);
            case FORWARDING, LINGER -> entry.whileForwarding(c, p, len);
            case RESET -> entry.afterReset(c, p, len);
            case LOCAL -> entry.whileLocal(c, p, len);
            case FREE, INJECTED, SERVING, CLOSED -> io.toKernel(p, len); // never under a service key
            case null -> throw new IllegalStateException("no state");
        }
        e.kernel.reportRead(c, key, generation, true);
    }

    /** A client packet an entry node forwarded to us on its forward port: for a handed-in connection. */
    private void forwardedToUs(int entryIndex, MemorySegment p, int len) {
        Conn c = table.get(ConnKeys.key(ip.sourceAddress(), tcp.sourcePort(), entryIndex));
        if (c == null) {
            counters.drop(Drop.UNKNOWN_CONNECTION); // a late retransmission after we forgot it
            return;
        }
        e.kernel.readOne(c, true);
        long key = c.key;
        int generation = c.generation;
        switch (c.state) {
            case INJECTED -> chosen.forwardedEarly();
            case SERVING, CLOSED -> chosen.forwarded(c, p, len);
            // never under an entry's index: only a handoff request allocates one
            case FREE, SYN_RCVD, HOLDING, PENDING, FORWARDING, LINGER, LOCAL, RESET ->
                counters.drop(Drop.UNKNOWN_CONNECTION);
            case null -> throw new IllegalStateException("no state");
        }
        e.kernel.reportRead(c, key, generation, true);
    }

    /**
     * Takes in the closes of local connections that the kernel's data path passed itself since the
     * last call (their FINs and RSTs need not cross user space); the loop calls this every turn,
     * before it reads packets. Returns how many.
     */
    public int kernelCloses() {
        return e.kernel.fast().drainCloses(onKernelClose);
    }

    private void closedInKernel(int client, int port, int entryIndex, int cookie, int tcpFlags, boolean fromKernel) {
        boolean local = entryIndex == ConnKeys.SERVICE;
        Conn c = entryIndex > 0xff ? null : table.get(ConnKeys.key(client, port, entryIndex));
        // The cookie is the generation the flow was handed down with: not this connection's, then
        // one before it on the same ports (already freed), whose close means nothing now.
        boolean ours = c != null
                && c.generation == cookie
                && switch (c.state) {
                    case LOCAL, FORWARDING, LINGER -> local;
                    case SERVING, CLOSED -> !local;
                    case FREE, SYN_RCVD, HOLDING, PENDING, INJECTED, RESET -> false;
                };
        if (!ours) {
            counters.drop(Drop.STALE_CLOSE);
            return;
        }
        c.lastSeen = e.now;
        switch (c.state) {
            case LOCAL -> entry.localClose(c, tcpFlags, fromKernel);
            case FORWARDING -> entry.closedInKernelWhileForwarding(c, tcpFlags);
            case SERVING -> chosen.closedInKernel(c, tcpFlags, fromKernel);
            case LINGER, CLOSED -> {} // over already: the kernel carries its last packets alone
            case FREE, SYN_RCVD, HOLDING, PENDING, INJECTED, RESET -> throw new AssertionError(c.state);
        }
    }

    // ------------------------------------------------------------------------------------------
    // Packets from this node's kernel, toward the network.

    /** A packet read from the kernel side, with a full checksum. It may be rewritten in place. */
    public void fromKernel(MemorySegment p, int len) {
        fromKernel(p, len, false);
    }

    /**
     * A packet read from the kernel side. It may be rewritten in place. With {@code partialChecksum}
     * its TCP checksum holds only the pseudo-header sum (the TUN's {@code NEEDS_CSUM}; it may be a
     * super-packet of many segments): rewrites keep it partial, for the kernel to finish where the
     * packet leaves (docs/KERNEL-FACTS.md).
     */
    public void fromKernel(MemorySegment p, int len, boolean partialChecksum) {
        if (len < Ipv4Header.MIN_LENGTH
                || !ip.wrap(p, 0, len).isValid()
                || ip.protocol() != Ipv4Header.PROTOCOL_TCP
                || ip.isFragment()) {
            // Not a TCP segment we can translate; but one from a shadow address must not leave
            // either, whatever it is (found by fuzzing: a fragment did).
            if (len >= Ipv4Header.MIN_LENGTH
                    && (Bytes.u8(p, 0) >>> 4) == 4
                    && cfg.shadows().holds(ip.sourceAddress())) {
                counters.drop(Drop.STRAY_KERNEL_PACKET);
            } else {
                io.toWire(p, len);
            }
            return;
        }
        int src = ip.sourceAddress();
        int local;
        if (src == cfg.address()) {
            local = ConnKeys.SERVICE;
        } else if (cfg.shadows().holds(src)) {
            local = src & 0xff; // from a shadow address: a handed-in connection, or nothing at all
            if (local == ConnKeys.SERVICE) { // .0 is no member's shadow (found by fuzzing: it was let out)
                counters.drop(Drop.STRAY_KERNEL_PACKET);
                return;
            }
        } else {
            io.toWire(p, len);
            return;
        }
        int ipHl = ip.headerLength();
        int tcpLen = ip.totalLength() - ipHl;
        if (tcpLen < TcpHeader.MIN_LENGTH) {
            if (local == ConnKeys.SERVICE) io.toWire(p, len);
            else counters.drop(Drop.STRAY_KERNEL_PACKET);
            return;
        }
        tcp.wrap(p, ipHl, tcpLen).partialChecksum(partialChecksum);
        Conn c = tcp.sourcePort() != cfg.servicePort()
                ? null
                : table.get(ConnKeys.key(ip.destinationAddress(), tcp.destinationPort(), local));
        if (c == null) {
            if (local == ConnKeys.SERVICE) io.toWire(p, len);
            else counters.drop(Drop.STRAY_KERNEL_PACKET); // a shadow address never leaves the node
            return;
        }
        e.kernel.readOne(c, false);
        if (!io.validTcp()) return;
        long key = c.key;
        int generation = c.generation;
        switch (c.state) {
            case SYN_RCVD -> entry.kernelInHandshake(c, p, len);
            case HOLDING, PENDING -> entry.kernelWhileHeld(c, p, len);
            case LOCAL -> entry.kernelWhileLocal(c, p, len);
            // handed off, or reset: our kernel's entry was reset, it has nothing to say to the client
            case FORWARDING, LINGER, RESET -> counters.drop(Drop.STRAY_KERNEL_PACKET);
            case INJECTED -> chosen.kernelSynAck(c);
            case SERVING, CLOSED -> chosen.served(c, p, len);
            case FREE -> io.toWire(p, len); // never in the table
            case null -> throw new IllegalStateException("no state");
        }
        e.kernel.reportRead(c, key, generation, false);
    }

    // ------------------------------------------------------------------------------------------
    // Control channel events (called on the packet loop thread).

    /** A handoff request from entry node {@code entryNode} (claims 3, 13, 34). */
    public void onHandoffRequest(Peer entryNode, long connId, HandshakeInit entryInit, byte[] syn, byte[] ack) {
        chosen.onHandoffRequest(entryNode, connId, entryInit, syn, ack);
    }

    /** The chosen node took the connection (claims 5, 15): reset our kernel's entry, start forwarding. */
    public void onHandoffAck(String peer, long connId, HandshakeInit chosenInit, int forwardPort) {
        entry.onHandoffAck(peer, connId, chosenInit, forwardPort);
    }

    /**
     * The entry committed (claims 7, 17): it will never serve this connection itself, so our server
     * may now see the request and answer the client.
     */
    public void onCommit(Peer entryNode, long connId, byte[] request) {
        chosen.onCommit(entryNode, connId, request);
    }

    /** The chosen node refused: serve here. */
    public void onHandoffRefuse(String peer, long connId, Refusal reason) {
        entry.onHandoffRefuse(peer, connId, reason);
    }

    /** The chosen node saw the connection close (claims 10, 19): stop forwarding after the linger. */
    public void onTerminate(String peer, long connId) {
        entry.onTerminate(peer, connId);
    }

    /** The entry node gives the connection up, or asks whether we serve it (see {@code ChosenRole#onAbort}). */
    public void onAbort(Peer entryNode, long connId) {
        chosen.onAbort(entryNode, connId);
    }

    /**
     * The control channel to {@code peer} went down. Pending handoffs to it are served here at once.
     * Connections handed to it, or handed in by it, cannot tell a cut link from a dead node: they wait
     * {@link Closing#peerGrace} for the peer to come back, then are settled ({@link #settleOrphan}).
     */
    public void onPeerDown(String peer) {
        e.peers.down(peer);
        for (int slot = 0; slot < table.capacity(); slot++) {
            Conn c = table.at(slot);
            if (!peer.equals(c.peer)) continue;
            switch (c.state) {
                case PENDING -> entry.chosenLostWhilePending(c);
                case FORWARDING, INJECTED, SERVING -> {
                    c.orphaned = true;
                    e.schedule(c, e.now + e.ms.peerGrace());
                }
                case LINGER, CLOSED, RESET -> {} // they end on their own timers
                case FREE, SYN_RCVD, HOLDING, LOCAL -> {} // no peer yet
                case null -> throw new IllegalStateException("no state");
            }
        }
    }

    /**
     * The control channel to {@code peer} is up, with the peer's {@code incarnation} (chosen anew at
     * each start). A new incarnation means the peer restarted: every connection shared with its
     * earlier life is gone there, and is settled now rather than after the grace time.
     */
    public void onPeerUp(String peer, long incarnation) {
        boolean restarted = e.peers.up(peer, incarnation);
        for (int slot = 0; slot < table.capacity() && e.abortsWaiting > 0; slot++) {
            Conn c = table.at(slot);
            if (c.abortWhenUp && peer.equals(c.peer)) {
                c.abortWhenUp = false;
                e.abortsWaiting--;
                e.control.abort(c.peer, c.connId);
            }
        }
        if (!restarted) return;
        for (int slot = 0; slot < table.capacity(); slot++) {
            Conn c = table.at(slot);
            if (peer.equals(c.peer)
                    && c.peerIncarnation != incarnation
                    && (c.state == State.FORWARDING || c.state == State.INJECTED || c.state == State.SERVING)) {
                settleOrphan(c);
            }
        }
    }

    /**
     * Decides a connection whose peer's control link went down: kept if the peer is back, the same
     * process, and the connection shows it works; otherwise reset both ways, so no client waits on a
     * connection nobody serves (the roles' {@code settleOrphan}).
     */
    private void settleOrphan(Conn c) {
        e.kernel.refresh(c);
        c.orphaned = false;
        boolean alive = e.peers.alive(c.peer, c.peerIncarnation);
        switch (c.state) {
            case FORWARDING -> entry.settleOrphan(c, alive);
            case SERVING, INJECTED -> chosen.settleOrphan(c, alive);
            case FREE, SYN_RCVD, HOLDING, PENDING, LINGER, LOCAL, CLOSED, RESET -> {}
            case null -> throw new IllegalStateException("no state");
        }
    }

    // ------------------------------------------------------------------------------------------
    // Timers.

    private void expired(int slot, long nowMillis) {
        Conn c = table.at(slot);
        if (c.orphaned) {
            settleOrphan(c); // which reads what the kernel saw of it
            return;
        }
        // What the kernel saw (a map read per flow) decides only for a connection that carries on
        // in the kernel: the others are held (nothing seen) or over.
        switch (c.state) {
            case HOLDING -> entry.requestTimedOut(c);
            case PENDING -> entry.handoffTimedOut(c);
            case FORWARDING -> {
                e.kernel.refresh(c);
                entry.forwardingQuiet(c);
            }
            case LOCAL -> {
                e.kernel.refresh(c);
                e.freeIfQuiet(c);
            }
            case INJECTED -> chosen.synAckTimedOut(c);
            case SERVING -> {
                e.kernel.refresh(c);
                chosen.servingTimer(c);
            }
            case SYN_RCVD, LINGER, CLOSED, RESET -> e.free(c); // the handshake never completed; or it is over
            case FREE -> {} // a freed slot's timer is cancelled
            case null -> throw new IllegalStateException("no state");
        }
    }

    // ------------------------------------------------------------------------------------------
    // A restart.

    /**
     * At start, before the first packet: takes over what an earlier process of this node left in the
     * kernel. Local connections and handed-off ones go on as they were, in the kernel as before. The
     * ones shared with a peer wait, as after a cut control link, to hear the peer again with the
     * incarnation they began with ({@link #settleOrphan} after the peer grace): the peer may have
     * given them up meanwhile. A handoff that was in flight cannot go on (its held request died with
     * the process): its client is reset, so is our kernel's half-open entry, and the peer hears an
     * abort once its link is up. With {@code withPeers} false (the earlier process ended longer ago
     * than the peers wait: they have given up what they shared with it) only the local connections
     * are taken over. Returns how many connections were.
     */
    public int takeOver(boolean withPeers) {
        return takeover.takeOver(withPeers);
    }

    // ------------------------------------------------------------------------------------------
    // Phases, for the packet modules in the node's chain (fault injection).

    /** While {@link Output#toWire} runs: the phase of the packet being written (see {@link Phase}). */
    public Phase emittingPhase() {
        return io.emitting();
    }

    /**
     * The phase of a packet from the network, before {@link #fromWire} sees it: looks its connection
     * up without changing anything (packet modules ahead of the BTCP select packets by it).
     */
    public Phase phaseOfWirePacket(MemorySegment p, int len) {
        if (len < Ipv4Header.MIN_LENGTH
                || (Bytes.u8(p, 0) >>> 4) != 4
                || !phaseIp.wrap(p, 0, len).isValid()
                || phaseIp.protocol() != Ipv4Header.PROTOCOL_TCP
                || phaseIp.destinationAddress() != cfg.address()
                || phaseIp.isFragment()
                || phaseIp.totalLength() - phaseIp.headerLength() < TcpHeader.MIN_LENGTH) {
            return Phase.OTHER;
        }
        phaseTcp.wrap(p, phaseIp.headerLength(), phaseIp.totalLength() - phaseIp.headerLength());
        int dport = phaseTcp.destinationPort();
        if (cfg.shadows().isForwardPort(dport)) return Phase.FORWARDED;
        if (dport != cfg.servicePort()) return Phase.OTHER;
        Conn c = table.get(ConnKeys.key(phaseIp.sourceAddress(), phaseTcp.sourcePort(), ConnKeys.SERVICE));
        boolean syn = (phaseTcp.flags() & TcpHeader.SYN) != 0;
        if (c == null) return syn ? Phase.SYN : Phase.OTHER;
        return switch (c.state) {
            case SYN_RCVD -> syn ? Phase.SYN : Phase.HANDSHAKE;
            case HOLDING -> Phase.REQUEST;
            case PENDING -> Phase.HANDOFF;
            case FORWARDING, LINGER, RESET -> Phase.FORWARDED;
            case LOCAL -> Phase.LOCAL;
            case FREE, INJECTED, SERVING, CLOSED -> Phase.OTHER;
        };
    }
}
