package dev.baton.btcp;

import dev.baton.control.RefuseReason;
import dev.baton.http.RequestParser;
import dev.baton.route.Member;
import dev.baton.wire.Bytes;
import dev.baton.wire.Ipv4Header;
import dev.baton.wire.Seq;
import dev.baton.wire.TcpHeader;
import dev.baton.wire.TcpPacketWriter;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The bottom-TCP (BTCP) module of one node: it sits between the network ("wire") and the node's
 * unmodified kernel TCP, sees every packet both ways, and hands connections off (DESIGN.md §1).
 *
 * <p>As <b>entry node</b> for a new connection to the service port it passes the client's SYN up,
 * parses its kernel's SYN/ACK (claims 2, 12, 28), then holds the handshake ACK and the request so the
 * kernel keeps only a SYN-RECV entry and the server never sees the connection (the "connection
 * indication" of claims 6, 16, 31 is held by holding the ACK). When the request head is complete the
 * {@link Router} picks a node: itself, and the held packets are released to the kernel (claims 8, 20,
 * 33); or another node, which gets a handoff request over the control channel (claims 3, 13, 29).
 * On the handoff ack it resets its kernel's SYN-RECV entry, commits (the request bytes go over the
 * control channel), and forwards all later client packets to the chosen node, translated (claims 7,
 * 17, 32), until the chosen node reports the close and a linger time has passed (claims 10, 19).
 *
 * <p>As <b>chosen node</b> it injects the client's SYN (destination rewritten) into its kernel,
 * captures the SYN/ACK (never sent), injects the ACK translated into its own sequence space and
 * answers with a handoff ack (claims 3, 5, 34-35); on the commit it injects the request, then
 * rewrites every packet its kernel sends on the connection so it leaves with the entry node's address
 * and sequence space, straight to the client (claims 9, 18, 36), and reports the close (claims 10,
 * 37). Until the commit nothing of its kernel's reaches the client, so the entry may still fall back.
 *
 * <p>Single-threaded: one packet loop owns this object and calls every method. Nothing on the packet
 * path allocates; handoffs allocate a little on the control path.
 */
public final class Btcp {
    /** One line per handoff at debug ({@code baton node --log-level debug}); nothing per packet. */
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(Btcp.class);

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

        void handoffRefuse(String peer, long connId, int reason);

        void terminate(String peer, long connId);

        void abort(String peer, long connId);
    }

    /** Picks the node that serves a complete request head; null (or this node) serves it here. */
    public interface Router {
        Member route(RequestParser head);
    }

    /**
     * Limits and timeouts.
     *
     * @param address this node's IPv4 address (the service address)
     * @param servicePort the web service port whose connections may be handed off
     * @param shadowNetwork a /24 whose address {@code .i} this node's kernel holds for member {@code i}:
     *                      connections handed in by member i are addressed to it there
     * @param forwardPortBase an entry forwards a handed-off connection's packets to the chosen node's
     *                        port {@code base + i}, {@code i} being the entry's index at the chosen node
     * @param maxConnections size of the connection table
     * @param holdBuffers connections whose request can be held at once
     * @param holdBytes bytes of held packets per connection
     * @param maxHeadBytes largest request head read before serving locally
     * @param requestTimeoutMillis a request head not complete by then is served locally
     * @param handoffTimeoutMillis a handoff not acknowledged by then falls back to local service (after
     *                             an eager commit: the entry asks the chosen node first)
     * @param synTimeoutMillis a handshake not completed by then is forgotten
     * @param lingerMillis the entry keeps forwarding this long after the close (late retransmissions)
     * @param timeWaitMillis the chosen node keeps rewriting this long after the close (TIME-WAIT)
     * @param idleMillis an established connection with no packet for this long is forgotten
     * @param peerGraceMillis after the control link to a peer goes down, connections shared with it
     *                        wait this long for it to come back (the same process: the link was cut)
     *                        before they are reset (it died or restarted)
     * @param eagerCommit the entry commits with its handoff request, not after the chosen node's ack:
     *                    one control message on the way to the first response byte instead of three
     *                    (see {@link #decide}); false: the entry may still fall back until the ack
     */
    public record Config(int address, int servicePort, int shadowNetwork, int forwardPortBase, int maxConnections,
                         int holdBuffers, int holdBytes, int maxHeadBytes, long requestTimeoutMillis,
                         long handoffTimeoutMillis, long synTimeoutMillis, long lingerMillis, long timeWaitMillis,
                         long idleMillis, long peerGraceMillis, boolean eagerCommit) {
        /** 169.254.77.0/24: link-local, so a shadow address is never routed off the node. */
        public static final int DEFAULT_SHADOW_NETWORK = 0xA9FE4D00;
        public static final int DEFAULT_FORWARD_PORT_BASE = 61000;

        public Config {
            if ((shadowNetwork & 0xff) != 0) throw new IllegalArgumentException("shadow network must be a /24");
            if (forwardPortBase <= 0 || forwardPortBase + 255 > 0xffff) {
                throw new IllegalArgumentException("forward port base out of range: " + forwardPortBase);
            }
            if (servicePort > forwardPortBase && servicePort <= forwardPortBase + 255) {
                throw new IllegalArgumentException("the service port lies in the forward port range");
            }
        }

        public static Config defaults(int address, int servicePort) {
            return new Config(address, servicePort, DEFAULT_SHADOW_NETWORK, DEFAULT_FORWARD_PORT_BASE, 65536, 1024,
                    32 * 1024, RequestParser.DEFAULT_MAX_HEAD_BYTES, 5_000, 1_000, 30_000, 10_000, 60_000, 900_000,
                    10_000, true);
        }

        /** The same with other close-down timers (tests shorten them to see tables drain). */
        public Config withClosingTimers(long lingerMillis, long timeWaitMillis, long peerGraceMillis) {
            return new Config(address, servicePort, shadowNetwork, forwardPortBase, maxConnections, holdBuffers,
                    holdBytes, maxHeadBytes, requestTimeoutMillis, handoffTimeoutMillis, synTimeoutMillis,
                    lingerMillis, timeWaitMillis, idleMillis, peerGraceMillis, eagerCommit);
        }

        /** The same with the entry committing with its request ({@code true}) or after the ack. */
        public Config withEagerCommit(boolean eager) {
            return new Config(address, servicePort, shadowNetwork, forwardPortBase, maxConnections, holdBuffers,
                    holdBytes, maxHeadBytes, requestTimeoutMillis, handoffTimeoutMillis, synTimeoutMillis,
                    lingerMillis, timeWaitMillis, idleMillis, peerGraceMillis, eager);
        }

        /** The address entry node {@code index} has in this node's kernel (for connections it hands in). */
        public int shadowAddress(int index) {
            return shadowNetwork | index;
        }
    }

    private static final int MAX_HELD_PACKETS = 64;
    /** A chosen node waits this many handoff timeouts for the entry's commit, then resets. */
    private static final int COMMIT_WAIT_FACTOR = 3;
    private static final int MAX_PACKET = 65536;

    private final Config cfg;
    private final Output out;
    private final Control control;
    private final Router router;
    private final Counters counters = new Counters();

    private final Conn[] conns;
    private final int[] freeSlots;
    private int freeTop;
    private final LongIntMap table;
    private final TimerWheel timers;
    private final HoldPool holds;
    private final TimerWheel.Expiry onExpiry = this::expired;

    /**
     * Half-open ({@code SYN_RCVD}) entries, oldest first, as a list threaded through two arrays
     * indexed by slot (-1 ends it). A SYN flood with spoofed sources never completes a handshake,
     * so without a bound it would fill the table for the SYN timeout and every real client after
     * it would be served untracked, without handoff. At most {@link #maxHalfOpen} entries may be
     * half-open; a new SYN beyond that evicts the oldest (as the BSD SYN cache drops its oldest
     * entry): a real client's handshake takes one round trip, so it keeps its entry unless that
     * many SYNs arrive within its round trip. An evicted connection whose ACK still comes is passed
     * to the kernel untracked, which serves it. The other half of the table stays free for
     * connections past the handshake and for connections handed in by other nodes.
     */
    private final int maxHalfOpen;
    private final int[] halfOpenNext;
    private final int[] halfOpenPrev;
    private int halfOpenHead = -1;
    private int halfOpenTail = -1;
    private int halfOpen;

    private final Ipv4Header ip = new Ipv4Header();
    private final TcpHeader tcp = new TcpHeader();
    private final Ipv4Header auxIp = new Ipv4Header();
    private final TcpHeader auxTcp = new TcpHeader();
    private final Ipv4Header phaseIp = new Ipv4Header();
    private final TcpHeader phaseTcp = new TcpHeader();
    private Phase emitting = Phase.OTHER;
    /** What the control channel told us of each peer: up or not, and its incarnation. Control path only. */
    private final java.util.Map<String, PeerLink> peerLinks = new java.util.HashMap<>();
    private final MemorySegment tx = Arena.ofAuto().allocate(MAX_PACKET, 16);
    private final byte[] scratch = new byte[MAX_PACKET];
    private final TcpPacketWriter writer = new TcpPacketWriter();

    private long now;
    /** Written by the loop on state changes (not per packet), read by the heartbeat thread. */
    private volatile int served;
    /** Connections that still carry data ({@link #openConnections}). */
    private volatile int open;

    private java.util.function.LongConsumer handoffLatency = nanos -> { };

    // What the kernel's data path knows of a connection (Conn.offloaded): its flows held (every
    // packet up to us, counted), or handed down with one of the three translations.
    static final byte OFFLOAD_NONE = 0;
    static final byte OFFLOAD_HELD = 1;
    static final byte OFFLOAD_HELD_HANDED_IN = 2;
    static final byte OFFLOAD_LOCAL = 3;
    static final byte OFFLOAD_TO_CHOSEN = 4;
    static final byte OFFLOAD_HANDED_IN = 5;
    /** The kernel could not take the connection's flows (its table was full): it stays with us. */
    static final byte OFFLOAD_REFUSED = 6;
    private FastPath fast = FastPath.NONE;
    private final FastPath.Seen seen = new FastPath.Seen();
    /**
     * How long a handed-off connection's flow stays with the engine after the entry forwarded what it
     * held: those packets' TSvals are as old as the handoff, and one overtaken by a newer packet on the
     * kernel's path (another CPU's queue at the next hop) would fail the chosen node's PAWS check
     * (RFC 7323 section 5): two timestamp ticks of Linux (1 ms each), and one for the clock's grain.
     */
    static final long HAND_DOWN_DELAY_MILLIS = 3;
    /** Connections waiting for {@link #HAND_DOWN_DELAY_MILLIS}, oldest first (a ring of slots). */
    private final int[] waitingHandDowns;
    private int waitingHead;
    private int waitingCount;
    /** A connection's record for the kernel to keep (FastPath#remember); written a few times per handoff. */
    private final MemorySegment record = Arena.ofAuto().allocate(ConnRecord.SIZE, 8);
    /** Connections taken over mid-handoff whose peer is to hear an abort once its link is up. */
    private int abortsWaiting;

    public Btcp(Config cfg, Output out, Control control, Router router, long nowMillis) {
        this.cfg = cfg;
        this.out = out;
        this.control = control;
        this.router = router;
        this.now = nowMillis;
        conns = new Conn[cfg.maxConnections()];
        freeSlots = new int[cfg.maxConnections()];
        for (int i = 0; i < conns.length; i++) {
            conns[i] = new Conn(i);
            conns[i].reset();
            freeSlots[i] = conns.length - 1 - i;
        }
        freeTop = conns.length;
        table = new LongIntMap(cfg.maxConnections());
        timers = new TimerWheel(cfg.maxConnections(), 1024, 10, nowMillis);
        holds = new HoldPool(cfg.holdBuffers(), cfg.holdBytes(), MAX_HELD_PACKETS, cfg.maxHeadBytes());
        maxHalfOpen = Math.max(1, cfg.maxConnections() / 2);
        halfOpenNext = new int[cfg.maxConnections()];
        waitingHandDowns = new int[cfg.maxConnections()];
        halfOpenPrev = new int[cfg.maxConnections()];
    }

    public Counters counters() {
        return counters;
    }

    /**
     * Lets {@code fastPath} carry the plain segments of steady connections below the kernel's TCP;
     * before the first packet. Without one, every segment goes through this engine.
     */
    public void fastPath(FastPath fastPath) {
        fast = java.util.Objects.requireNonNull(fastPath);
    }

    /**
     * Tells {@code observer} (on the packet loop's thread) how long each completed handoff took, in
     * nanoseconds: from the entry's handoff request to the chosen node's ack. For the metrics.
     */
    public void onHandoffLatency(java.util.function.LongConsumer observer) {
        handoffLatency = java.util.Objects.requireNonNull(observer);
    }

    public Config config() {
        return cfg;
    }

    /** Connections this node's own server is serving (its load, reported to the cluster). */
    public int activeConnections() {
        return served;
    }

    /**
     * Connections that still carry data: served here (locally or handed in), handed off through here
     * as entry, or not yet decided. Entries kept only to absorb late retransmissions (linger,
     * TIME-WAIT, reset) are not counted: a draining node with none open has finished its work.
     */
    public int openConnections() {
        return open;
    }

    /** Entries in the connection table. */
    public int trackedConnections() {
        return table.size();
    }

    /** Entries in the table that are half-open ({@code SYN_RCVD}): at most half the table. */
    public int halfOpenConnections() {
        return halfOpen;
    }

    /** Hold buffers not in use (a connection needs one from its handshake ACK to its decision). */
    public int freeHoldBuffers() {
        return holds.available();
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
    public record ConnectionView(String client, int local, String state, String peer, boolean finFromClient,
            boolean finFromServer, boolean orphaned, String kernel, long quietMillis, long unacknowledged) {}

    /** Up to {@code limit} tracked connections, for the admin command {@code connections} (loop thread). */
    public List<ConnectionView> connections(int limit) {
        List<ConnectionView> all = new ArrayList<>();
        for (Conn c : conns) {
            if (all.size() >= limit) break;
            if (c.state == Conn.FREE) continue;
            all.add(new ConnectionView(Bytes.ipv4ToString(ConnKeys.address(c.key)) + ":" + ConnKeys.port(c.key),
                    ConnKeys.local(c.key), stateName(c.state), c.peer, c.finFromClient, c.finFromServer, c.orphaned,
                    switch (c.offloaded) {
                        case OFFLOAD_HELD, OFFLOAD_HELD_HANDED_IN -> "held";
                        case OFFLOAD_LOCAL -> "local";
                        case OFFLOAD_TO_CHOSEN -> "toChosen";
                        case OFFLOAD_HANDED_IN -> "handedIn";
                        case OFFLOAD_REFUSED -> "refused";
                        default -> "none";
                    }, Math.max(0, now - c.lastSeen),
                    c.state == Conn.SERVING && owesClient(c) ? Integer.toUnsignedLong(c.serverNext - c.clientAck) : 0));
        }
        return all;
    }

    private static String stateName(byte state) {
        return switch (state) {
            case Conn.SYN_RCVD -> "SYN_RCVD";
            case Conn.HOLDING -> "HOLDING";
            case Conn.PENDING -> "PENDING";
            case Conn.FORWARDING -> "FORWARDING";
            case Conn.LINGER -> "LINGER";
            case Conn.LOCAL -> "LOCAL";
            case Conn.INJECTED -> "INJECTED";
            case Conn.SERVING -> "SERVING";
            case Conn.CLOSED -> "CLOSED";
            case Conn.RESET -> "RESET";
            default -> "FREE";
        };
    }

    /** Advances the clock and fires due timers; the loop calls this every iteration. */
    public void tick(long nowMillis) {
        now = nowMillis;
        timers.advance(nowMillis, onExpiry);
        while (waitingCount > 0) {
            Conn c = conns[waitingHandDowns[waitingHead]];
            if (c.handDownAt > now) break;
            waitingHead = (waitingHead + 1) % waitingHandDowns.length;
            waitingCount--;
            if (c.handDownAt == 0) continue; // freed, or handed down, meanwhile
            c.handDownAt = 0;
            syncFastPath(c);
        }
    }

    // ------------------------------------------------------------------------------------------
    // Packets from the network, toward this node's kernel.

    /** A packet read from the wire side. It may be rewritten in place. */
    public void fromWire(MemorySegment p, int len) {
        if (len < 1 || (Bytes.u8(p, 0) >>> 4) != 4) {
            passToKernel(p, len); // IPv6 and the like are not ours
            return;
        }
        if (!ip.wrap(p, 0, len).isValid()) {
            counters.drop(Drop.BAD_IP_HEADER);
            return;
        }
        if (ip.protocol() != Ipv4Header.PROTOCOL_TCP || ip.destinationAddress() != cfg.address()
                || ip.isFragment()) {
            passToKernel(p, len);
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
            if (dport > cfg.forwardPortBase() && dport <= cfg.forwardPortBase() + 255) {
                if (validTcp()) forwardedToUs(dport - cfg.forwardPortBase(), p, len);
            } else {
                passToKernel(p, len);
            }
            return;
        }
        if (!validTcp()) return;

        int slot = table.get(ConnKeys.key(ip.sourceAddress(), tcp.sourcePort(), ConnKeys.SERVICE));
        if (slot == LongIntMap.MISSING) {
            if ((tcp.flags() & (TcpHeader.SYN | TcpHeader.ACK | TcpHeader.RST)) == TcpHeader.SYN) {
                newConnection(p, len);
            } else {
                passToKernel(p, len);
            }
            return;
        }
        Conn c = conns[slot];
        readOne(c, true);
        long key = c.key;
        int generation = c.generation;
        switch (c.state) {
            case Conn.SYN_RCVD -> clientInHandshake(c, p, len);
            case Conn.HOLDING, Conn.PENDING -> clientWhileHeld(c, p, len);
            case Conn.FORWARDING, Conn.LINGER -> clientWhileForwarding(c, p, len);
            case Conn.RESET -> clientAfterReset(c, p, len);
            default -> clientWhileLocal(c, p, len);
        }
        reportRead(c, key, generation, true);
    }

    /** A client packet an entry node forwarded to us on its forward port: for a handed-in connection. */
    private void forwardedToUs(int entryIndex, MemorySegment p, int len) {
        int slot = table.get(ConnKeys.key(ip.sourceAddress(), tcp.sourcePort(), entryIndex));
        if (slot == LongIntMap.MISSING) {
            counters.drop(Drop.UNKNOWN_CONNECTION); // a late retransmission after we forgot it
            return;
        }
        Conn c = conns[slot];
        readOne(c, true);
        long key = c.key;
        int generation = c.generation;
        clientAtChosen(c, p, len);
        reportRead(c, key, generation, true);
    }

    private boolean validTcp() {
        int v = tcp.validate();
        if (v == TcpHeader.OK) return true;
        counters.drop(v == TcpHeader.BAD_OPTIONS ? Drop.BAD_TCP_OPTIONS : Drop.BAD_TCP_HEADER);
        return false;
    }

    /**
     * Both checksums of the current packet, for the packets we keep (a SYN's table entry, held
     * packets): we acknowledge held bytes ourselves, so one our kernel then drops for a wrong IPv4
     * header checksum would be lost for good (found by fuzzing).
     */
    private boolean checksumsValid() {
        return ip.headerChecksumValid() && tcp.checksumValid(ip.sourceAddress(), ip.destinationAddress());
    }

    private boolean isNewSyn(Conn c) {
        return tcp.syn() && !tcp.ack() && tcp.sequenceNumber() != c.clientIsn;
    }

    private void newConnection(MemorySegment p, int len) {
        int synLen = ip.headerLength() + tcp.headerLength();
        if (tcp.payloadLength() > 0 || synLen > Conn.MAX_HANDSHAKE_PACKET) {
            passToKernel(p, len); // a SYN with data (TCP Fast Open) is served locally, untracked
            return;
        }
        if (!checksumsValid()) {
            counters.drop(Drop.BAD_CHECKSUM); // the kernel would drop it too; it must not take a table entry
            return;
        }
        if (halfOpen >= maxHalfOpen) {
            counters.inc(Counter.HALF_OPEN_EVICTED); // a SYN flood: the oldest handshake gives way
            free(conns[halfOpenHead]);
        }
        Conn c = allocate(ConnKeys.key(ip.sourceAddress(), tcp.sourcePort(), ConnKeys.SERVICE));
        if (c == null) {
            counters.drop(Drop.TABLE_FULL); // counted, then served locally untracked
            passToKernel(p, len);
            return;
        }
        counters.inc(Counter.CONNECTIONS_SEEN);
        state(c, Conn.SYN_RCVD);
        readOne(c, true); // the kernel's data path counts a connection from its SYN
        c.clientIsn = tcp.sequenceNumber();
        c.clientNext = c.clientIsn + 1;
        MemorySegment.copy(p, ValueLayout.JAVA_BYTE, 0, c.syn, 0, synLen);
        c.synLength = synLen;
        timers.schedule(c.slot, now + cfg.synTimeoutMillis());
        passToKernel(p, len);
    }

    private void clientInHandshake(Conn c, MemorySegment p, int len) {
        if (tcp.rst()) {
            free(c);
            passToKernel(p, len);
        } else if (tcp.syn()) {
            if (isNewSyn(c)) {
                free(c); // the port was reused: start over
                fromWire(p, len);
            } else {
                passToKernel(p, len); // retransmitted SYN: let the kernel answer it again
            }
        } else if (!tcp.ack() || !c.synAckSeen || tcp.acknowledgmentNumber() != c.local.isn() + 1) {
            passToKernel(p, len); // not the handshake's ACK: the kernel decides
        } else if (!checksumsValid()) {
            counters.drop(Drop.BAD_CHECKSUM);
        } else {
            HoldBuffer h = holds.acquire();
            if (h == null) {
                counters.drop(Drop.HOLD_POOL_EMPTY);
                state(c, Conn.LOCAL);
                counters.inc(Counter.SERVED_LOCALLY);
                scheduleIdle(c);
                passToKernel(p, len);
                return;
            }
            c.hold = h;
            // The TSval the client echoes is that of the SYN/ACK it took (RFC 7323 §4.3: TS.Recent),
            // the first one or a retransmission with a later TSval. Every timestamp translation and
            // every TSval we send must start from that one, or the chosen node's SYN-RECV rejects the
            // echo as never sent (TSEcrRejected) or the client drops what we send as old (PAWS).
            if (tcp.hasTimestamps() && c.local.timestamps() && tcp.tsEcr() != 0) {
                c.local = c.local.withTsVal(tcp.tsEcr());
            }
            state(c, Conn.HOLDING);
            timers.schedule(c.slot, now + cfg.requestTimeoutMillis());
            hold(c, p, len);
        }
    }

    private void clientWhileHeld(Conn c, MemorySegment p, int len) {
        if (tcp.syn()) {
            if (isNewSyn(c)) {
                abandonHold(c);
                fromWire(p, len);
            } else {
                counters.drop(Drop.DUPLICATE_SYN); // never let a retransmitted SYN re-enter the kernel
            }
            return;
        }
        if (!checksumsValid()) {
            counters.drop(Drop.BAD_CHECKSUM);
            return;
        }
        if (c.state == Conn.HOLDING && tcp.rst()) {
            // The client gave up before we decided: let the kernel drop its SYN-RECV entry.
            releaseHeld(c);
            passToKernel(p, len);
            free(c);
            return;
        }
        hold(c, p, len);
    }

    /** Keeps a client packet; while HOLDING, reads the request and decides once the head is complete. */
    private void hold(Conn c, MemorySegment p, int len) {
        if (c.state == Conn.HOLDING && coalesce(c)) {
            // appended to the previous segment
        } else if (!c.hold.add(p, len)) {
            counters.drop(Drop.HOLD_FULL); // TCP retransmits it once the connection moves on
            if (c.state == Conn.HOLDING) serveHeldLocally(c, Counter.REQUEST_UNFINISHED);
            return;
        }
        if (tcp.fin()) c.finFromClient = true;
        if (tcp.hasTimestamps()) c.clientTsVal = tcp.tsVal();
        if (c.state != Conn.HOLDING) return;
        RequestParser.Result r = readRequest(c);
        if (r == RequestParser.Result.NEED_MORE && !c.finFromClient && c.clientNext != c.heldAcked) {
            acknowledgeHeld(c);
        }
        if (r == RequestParser.Result.COMPLETE) {
            decide(c);
        } else if (r == RequestParser.Result.INVALID) {
            serveHeldLocally(c, Counter.REQUEST_INVALID);
        } else if (c.finFromClient) {
            serveHeldLocally(c, Counter.REQUEST_UNFINISHED);
        }
    }

    /** Largest segment coalescing may build: what fits the path MTU that the client's packets came in. */
    private static final int MAX_COALESCED = 1500;

    /**
     * A request sent in many small segments (a client writing byte by byte) would fill the hold with
     * tiny packets: a pure data segment that continues the last held one, with the same ack, is
     * appended to it instead, and that packet's lengths and checksums are made right again.
     */
    private boolean coalesce(Conn c) {
        HoldBuffer h = c.hold;
        int n = tcp.payloadLength();
        if (h.count == 0 || n == 0 || (tcp.flags() & ~(TcpHeader.ACK | TcpHeader.PSH)) != 0) return false;
        int last = h.count - 1;
        if (h.offsets[last] + h.lengths[last] != h.used || h.lengths[last] + n > MAX_COALESCED) return false;
        auxIp.wrap(h.data, h.offsets[last], h.lengths[last]);
        int ipHl = auxIp.headerLength();
        auxTcp.wrap(h.data, h.offsets[last] + ipHl, h.lengths[last] - ipHl);
        if (auxTcp.payloadLength() == 0 || (auxTcp.flags() & ~(TcpHeader.ACK | TcpHeader.PSH)) != 0
                || auxTcp.acknowledgmentNumber() != tcp.acknowledgmentNumber()
                || auxTcp.sequenceNumber() + auxTcp.payloadLength() != tcp.sequenceNumber()) {
            return false;
        }
        if (!h.appendToLast(tcp.segment(), tcp.payloadOffset(), n)) return false;
        int total = h.lengths[last];
        auxIp.wrap(h.data, h.offsets[last], total).totalLength(total);
        auxIp.updateHeaderChecksum();
        auxTcp.wrap(h.data, h.offsets[last] + ipHl, total - ipHl);
        auxTcp.flags(auxTcp.flags() | tcp.flags());
        auxTcp.updateChecksum(auxIp.sourceAddress(), auxIp.destinationAddress());
        return true;
    }

    /** Feeds newly contiguous request bytes from the held packets to the parser (claims 3, 11c-d). */
    private RequestParser.Result readRequest(Conn c) {
        HoldBuffer h = c.hold;
        RequestParser.Result r = RequestParser.Result.NEED_MORE;
        boolean progress = true;
        while (progress && r == RequestParser.Result.NEED_MORE) {
            progress = false;
            for (int i = 0; i < h.count && r == RequestParser.Result.NEED_MORE; i++) {
                auxIp.wrap(h.data, h.offsets[i], h.lengths[i]);
                int ipHl = auxIp.headerLength();
                auxTcp.wrap(h.data, h.offsets[i] + ipHl, h.lengths[i] - ipHl);
                int payload = auxTcp.payloadLength();
                int start = auxTcp.sequenceNumber();
                int end = start + payload;
                if (payload == 0 || !Seq.after(end, c.clientNext) || Seq.after(start, c.clientNext)) continue;
                int skip = c.clientNext - start;
                int n = payload - skip;
                MemorySegment.copy(h.data, ValueLayout.JAVA_BYTE, auxTcp.payloadOffset() + skip, scratch, 0, n);
                r = h.parser.feed(scratch, 0, n);
                c.clientNext += n;
                progress = true;
            }
        }
        return r;
    }

    /**
     * Acknowledges the held request bytes to the client ourselves. Without it a client that writes
     * its request in many small segments stalls once its congestion window is full of unacknowledged
     * bytes that nobody above us can acknowledge yet. Safe because every byte acknowledged is kept
     * until it reaches a kernel: released here, or carried in the commit over the reliable control
     * channel. TSval repeats our kernel's SYN/ACK, which is never ahead of what the serving
     * kernel sends later, so the client's PAWS check (RFC 7323 §5) never rejects what follows.
     */
    private void acknowledgeHeld(Conn c) {
        int shift = Math.max(0, c.local.windowScale());
        int window = c.local.windowScale() >= 0 ? c.synAckWindow >>> shift : c.synAckWindow;
        int n = writer.headers(tx, cfg.address(), ConnKeys.address(c.key), cfg.servicePort(), ConnKeys.port(c.key),
                c.local.isn() + 1, c.clientNext, TcpHeader.ACK, window, c.local.timestamps(), c.local.tsVal(),
                c.clientTsVal, 0);
        writer.finish(tx);
        c.heldAcked = c.clientNext;
        counters.inc(Counter.HELD_BYTES_ACKED);
        passToWire(tx, n, Phase.REQUEST);
    }

    /** The client's bytes from its first up to {@code clientNext}, gathered from the held packets. */
    private byte[] heldRequest(Conn c) {
        HoldBuffer h = c.hold;
        int first = c.clientIsn + 1;
        byte[] out = new byte[c.clientNext - first];
        int have = 0;
        boolean progress = true;
        while (progress && have < out.length) {
            progress = false;
            for (int i = 0; i < h.count && have < out.length; i++) {
                auxIp.wrap(h.data, h.offsets[i], h.lengths[i]);
                int ipHl = auxIp.headerLength();
                auxTcp.wrap(h.data, h.offsets[i] + ipHl, h.lengths[i] - ipHl);
                int start = auxTcp.sequenceNumber() - first;
                int end = start + auxTcp.payloadLength();
                if (auxTcp.payloadLength() == 0 || start > have || end <= have) continue;
                int n = Math.min(end, out.length) - have;
                MemorySegment.copy(h.data, ValueLayout.JAVA_BYTE, auxTcp.payloadOffset() + (have - start), out, have, n);
                have += n;
                progress = true;
            }
        }
        return have == out.length ? out : Arrays.copyOf(out, have);
    }

    /**
     * Routes a complete request head: served here, or handed off (claims 3, 13, 29). With an eager
     * commit the request bytes follow the handoff request at once (the same flush of the control
     * link), so the chosen node's server can answer as soon as its kernel has replayed the handshake:
     * one control message between the request and the first response byte, not three. The entry then
     * never serves the connection itself, except on a refusal, which the chosen node sends only
     * before its server has seen the request and before anything of its own reached the client.
     */
    private void decide(Conn c) {
        Member m = router.route(c.hold.parser);
        if (m == null || m.address() == cfg.address() || !buildPureAck(c)) {
            serveHeldLocally(c, Counter.SERVED_LOCALLY);
            return;
        }
        c.peer = m.name();
        c.peerAddress = m.address();
        c.connId = ConnKeys.connId(c.key, c.generation);
        c.peerIncarnation = peerLink(c.peer).incarnation;
        state(c, Conn.PENDING);
        timers.schedule(c.slot, now + cfg.handoffTimeoutMillis());
        counters.inc(Counter.HANDOFFS_SENT);
        c.handoffSentNanos = System.nanoTime();
        if (!control.handoffRequest(c.peer, c.connId, c.local,
                Arrays.copyOf(c.syn, c.synLength), Arrays.copyOf(c.ack, c.ackLength))) {
            serveHeldLocally(c, Counter.SERVED_LOCALLY); // no need to wait for a timeout
            return;
        }
        // Not sent (a jammed link): the handoff goes on as a late commit, after the ack.
        c.committedEarly = cfg.eagerCommit() && control.commit(c.peer, c.connId, heldRequest(c));
    }

    /**
     * The handshake's ACK for the handoff request (claims 3, 13: "including said SYN packet and said
     * ACK packet"): the first held segment, cut to its headers and flagged ACK only.
     */
    private boolean buildPureAck(Conn c) {
        HoldBuffer h = c.hold;
        if (h.count == 0) return false;
        auxIp.wrap(h.data, h.offsets[0], h.lengths[0]);
        int ipHl = auxIp.headerLength();
        auxTcp.wrap(h.data, h.offsets[0] + ipHl, h.lengths[0] - ipHl);
        int n = ipHl + auxTcp.headerLength();
        if (n > Conn.MAX_HANDSHAKE_PACKET) return false;
        MemorySegment.copy(h.data, ValueLayout.JAVA_BYTE, h.offsets[0], c.ack, 0, n);
        c.ackLength = n;
        MemorySegment a = MemorySegment.ofArray(c.ack);
        auxIp.wrap(a, 0, n).totalLength(n);
        auxIp.updateHeaderChecksum();
        auxTcp.wrap(a, ipHl, n - ipHl);
        auxTcp.flags(TcpHeader.ACK);
        auxTcp.sequenceNumber(c.clientIsn + 1);
        auxTcp.updateChecksum(auxIp.sourceAddress(), auxIp.destinationAddress());
        return true;
    }

    /** Serve here: release the held ACK and request to our kernel, in arrival order (claims 8, 20). */
    private void serveHeldLocally(Conn c, Counter why) {
        counters.inc(why);
        if (c.state == Conn.PENDING) {
            counters.inc(Counter.FALLBACKS);
            if (LOG.isDebugEnabled()) LOG.debug("handoff {} to {}: fell back, served here ({})",
                    Long.toHexString(c.connId), c.peer, why.metric());
        }
        state(c, Conn.LOCAL); // first: the kernel's data path then carries the answer to what we release
        releaseHeld(c);
        scheduleIdle(c);
    }

    private void releaseHeld(Conn c) {
        HoldBuffer h = c.hold;
        if (h == null) return;
        for (int i = 0; i < h.count; i++) {
            MemorySegment.copy(h.data, h.offsets[i], tx, 0, h.lengths[i]);
            passToKernel(tx, h.lengths[i]);
        }
        holds.release(h);
        c.hold = null;
    }

    /**
     * An eagerly committed handoff got no answer in time, or its peer's link went down: the chosen
     * node may be serving the client, so we may not; nobody may be. Reset the client (and answer its
     * later packets with RSTs it takes, RFC 5961 §3.2) and our kernel's half-open entry, and tell the
     * chosen node to let go. The client's retry starts afresh.
     */
    private void abandonCommitted(Conn c) {
        counters.inc(Counter.HANDOFFS_ABANDONED);
        if (LOG.isDebugEnabled()) LOG.debug("handoff {} to {}: no answer after the commit, client reset",
                Long.toHexString(c.connId), c.peer);
        control.abort(c.peer, c.connId);
        injectReset(c, c.clientIsn + 1);
        if (c.hold != null) {
            holds.release(c.hold);
            c.hold = null;
        }
        resetClient(c, c.local.isn() + 1);
        state(c, Conn.RESET);
        timers.schedule(c.slot, now + cfg.lingerMillis());
    }

    private void abandonHold(Conn c) {
        if (c.state == Conn.PENDING) control.abort(c.peer, c.connId);
        free(c);
    }

    private void clientWhileForwarding(Conn c, MemorySegment p, int len) {
        if (tcp.syn()) {
            if (c.state == Conn.LINGER && isNewSyn(c)) {
                free(c); // a new connection on the same port after the old one closed
                fromWire(p, len);
            } else {
                counters.drop(Drop.DUPLICATE_SYN);
            }
            return;
        }
        c.lastSeen = now;
        if (tcp.ack() && Seq.after(tcp.acknowledgmentNumber(), c.clientAck)) c.clientAck = tcp.acknowledgmentNumber();
        boolean rst = tcp.rst();
        boolean fin = tcp.fin();
        translateToChosen(c);
        counters.inc(Counter.PACKETS_FORWARDED);
        counters.add(Counter.BYTES_FORWARDED, len);
        passToWire(p, len, Phase.FORWARDED);
        if (c.state == Conn.FORWARDING && (rst || (fin && !c.finFromClient))) clientClosedWhileForwarding(c, rst);
    }

    /**
     * The client closed a handed-off connection. The chosen node reports the close with a termination
     * message (claims 10, 19); should that never come, the entry must not keep the entry for the
     * idle time: once the client has closed (a FIN) and then gone quiet for the linger time, or has
     * reset (a RST), nothing more will come.
     */
    private void clientClosedWhileForwarding(Conn c, boolean rst) {
        if (rst) {
            state(c, Conn.LINGER);
            timers.schedule(c.slot, now + cfg.lingerMillis());
            return;
        }
        c.finFromClient = true;
        closing(c);
    }

    /** A client packet for a connection whose chosen node was lost: answer with a RST it will take. */
    private void clientAfterReset(Conn c, MemorySegment p, int len) {
        if (tcp.syn() && isNewSyn(c)) {
            free(c);
            fromWire(p, len);
        } else if (tcp.rst()) {
            free(c);
        } else if (tcp.ack()) {
            resetClient(c, tcp.acknowledgmentNumber());
        }
    }

    /** A RST from us (the entry) to the client, at {@code seq} in the client's receive space. */
    private void resetClient(Conn c, int seq) {
        int n = writer.headers(tx, cfg.address(), ConnKeys.address(c.key), cfg.servicePort(), ConnKeys.port(c.key),
                seq, 0, TcpHeader.RST, 0, false, 0, 0, 0);
        writer.finish(tx);
        counters.inc(Counter.CLIENT_RESETS_SENT);
        passToWire(tx, n, Phase.FORWARDED);
    }

    private void clientWhileLocal(Conn c, MemorySegment p, int len) {
        if (tcp.syn() && isNewSyn(c)) {
            free(c);
            fromWire(p, len);
            return;
        }
        c.lastSeen = now;
        passToKernel(p, len);
        if (tcp.rst()) {
            free(c);
        } else if (tcp.fin()) {
            c.finFromClient = true;
            if (c.finFromServer) free(c);
            else closing(c);
        }
    }

    private void clientAtChosen(Conn c, MemorySegment p, int len) {
        if (c.state == Conn.INJECTED) {
            counters.drop(Drop.EARLY_FORWARD);
            return;
        }
        if (tcp.syn()) {
            counters.drop(Drop.DUPLICATE_SYN); // the entry never forwards a SYN; nothing to do with it
            return;
        }
        if (!c.committed && !tcp.rst()) {
            // The entry forwards only after sending the commit, but the commit takes the control
            // channel and can arrive later, e.g. behind a client's retransmitted request. Passed up,
            // that would reach our server before the commit, and would move the kernel's ts_recent
            // past the TSval of the request injected at the commit, which PAWS then drops (RFC 7323
            // section 5). Our kernel has acknowledged none of it, so the client sends it again.
            counters.drop(Drop.EARLY_FORWARD);
            return;
        }
        c.lastSeen = now;
        int end = tcp.sequenceNumber() + tcp.sequenceLength();
        if (Seq.after(end, c.clientNext)) c.clientNext = end;
        if (tcp.ack() && Seq.after(tcp.acknowledgmentNumber(), c.clientAck)) {
            c.clientAck = tcp.acknowledgmentNumber();
            if (c.finFromServer && !c.finFromClient && !owesClient(c)) closing(c); // it has it all now
        }
        toShadow(c);
        passToKernel(p, len);
        if (tcp.rst()) {
            closedAtChosen(c, cfg.lingerMillis());
        } else if (tcp.fin()) {
            c.finFromClient = true;
            syncFastPath(c);
            if (c.finFromServer) closedAtChosen(c, cfg.timeWaitMillis());
            else closing(c);
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
     * packet leaves (DESIGN.md section 3).
     */
    public void fromKernel(MemorySegment p, int len, boolean partialChecksum) {
        if (len < Ipv4Header.MIN_LENGTH || !ip.wrap(p, 0, len).isValid()
                || ip.protocol() != Ipv4Header.PROTOCOL_TCP || ip.isFragment()) {
            // Not a TCP segment we can translate; but one from a shadow address must not leave
            // either, whatever it is (found by fuzzing: a fragment did).
            if (len >= Ipv4Header.MIN_LENGTH && (Bytes.u8(p, 0) >>> 4) == 4
                    && (ip.sourceAddress() & 0xffffff00) == cfg.shadowNetwork()) {
                counters.drop(Drop.STRAY_KERNEL_PACKET);
            } else {
                passToWire(p, len);
            }
            return;
        }
        int src = ip.sourceAddress();
        int local;
        if (src == cfg.address()) {
            local = ConnKeys.SERVICE;
        } else if ((src & 0xffffff00) == cfg.shadowNetwork()) {
            local = src & 0xff; // from a shadow address: a handed-in connection, or nothing at all
            if (local == ConnKeys.SERVICE) { // .0 is no member's shadow (found by fuzzing: it was let out)
                counters.drop(Drop.STRAY_KERNEL_PACKET);
                return;
            }
        } else {
            passToWire(p, len);
            return;
        }
        int ipHl = ip.headerLength();
        int tcpLen = ip.totalLength() - ipHl;
        if (tcpLen < TcpHeader.MIN_LENGTH) {
            if (local == ConnKeys.SERVICE) passToWire(p, len);
            else counters.drop(Drop.STRAY_KERNEL_PACKET);
            return;
        }
        tcp.wrap(p, ipHl, tcpLen).partialChecksum(partialChecksum);
        int slot = tcp.sourcePort() != cfg.servicePort() ? LongIntMap.MISSING
                : table.get(ConnKeys.key(ip.destinationAddress(), tcp.destinationPort(), local));
        if (slot == LongIntMap.MISSING) {
            if (local == ConnKeys.SERVICE) passToWire(p, len);
            else counters.drop(Drop.STRAY_KERNEL_PACKET); // a shadow address never leaves the node
            return;
        }
        Conn c = conns[slot];
        readOne(c, false);
        if (!validTcp()) return;
        long key = c.key;
        int generation = c.generation;
        fromKernelFor(c, p, len);
        reportRead(c, key, generation, false);
    }

    private void fromKernelFor(Conn c, MemorySegment p, int len) {
        switch (c.state) {
            case Conn.SYN_RCVD -> {
                if (tcp.syn() && tcp.ack()) {
                    c.local = initOf(tcp);
                    c.synAckWindow = tcp.window();
                    c.heldAcked = tcp.acknowledgmentNumber();
                    c.synAckSeen = true;
                } else if (tcp.rst()) {
                    free(c);
                }
                passToWire(p, len, tcp.syn() ? Phase.SYNACK : Phase.HANDSHAKE);
            }
            case Conn.HOLDING, Conn.PENDING -> {
                if (tcp.rst()) abandonHold(c); // the kernel gave up on its SYN-RECV entry
                // SYN/ACK retransmissions still reach the client
                passToWire(p, len, tcp.syn() ? Phase.SYNACK : Phase.REQUEST);
            }
            case Conn.FORWARDING, Conn.LINGER -> counters.drop(Drop.STRAY_KERNEL_PACKET);
            case Conn.LOCAL -> {
                c.lastSeen = now;
                passToWire(p, len, Phase.LOCAL);
                if (tcp.rst()) {
                    free(c);
                } else if (tcp.fin()) {
                    c.finFromServer = true;
                    if (c.finFromClient) free(c);
                    else closing(c);
                }
            }
            case Conn.INJECTED -> kernelSynAckAtChosen(c);
            default -> serverAtChosen(c, p, len);
        }
    }

    private static HandshakeInit initOf(TcpHeader t) {
        return new HandshakeInit(t.sequenceNumber(), t.hasTimestamps() ? t.tsVal() : 0, t.windowScale(),
                t.mss(), t.hasTimestamps(), t.sackPermitted());
    }

    /** Our kernel answered the injected SYN: never send it; inject the translated ACK (claims 3, 34). */
    private void kernelSynAckAtChosen(Conn c) {
        if (!(tcp.syn() && tcp.ack())) {
            counters.drop(Drop.STRAY_KERNEL_PACKET); // e.g. a RST: nothing listens; give up below
            if (tcp.rst()) refuseAtChosen(c, RefuseReason.NO_SYNACK);
            return;
        }
        HandshakeInit mine = initOf(tcp);
        HandshakeInit entry = c.remote;
        if (mine.timestamps() != entry.timestamps() || mine.sackPermitted() != entry.sackPermitted()
                || (mine.windowScale() < 0) != (entry.windowScale() < 0)) {
            refuseAtChosen(c, RefuseReason.OPTION_MISMATCH);
            return;
        }
        c.local = mine;
        c.synAckSeen = true;
        c.serverNext = mine.isn() + 1;
        c.clientAck = mine.isn() + 1;
        c.seqDelta = mine.isn() - entry.isn();
        c.tsDelta = mine.tsVal() - entry.tsVal();
        c.timestamps = mine.timestamps();
        c.chosenWindowScale = Math.max(0, mine.windowScale());
        c.entryWindowScale = Math.max(0, entry.windowScale());
        completeHandshake(c);
        state(c, Conn.SERVING);
        if (c.committed) { // the commit came with the request (eager): our server may answer now
            scheduleIdle(c);
        } else {
            timers.schedule(c.slot, now + COMMIT_WAIT_FACTOR * cfg.handoffTimeoutMillis());
        }
        counters.inc(Counter.HANDOFFS_ACCEPTED);
        if (LOG.isDebugEnabled()) LOG.debug("handoff {} from {}: taken, our kernel answered", Long.toHexString(c.connId),
                c.peer);
        control.handoffAck(c.peer, c.connId, mine, cfg.forwardPortBase() + ConnKeys.local(c.key));
    }

    private void serverAtChosen(Conn c, MemorySegment p, int len) {
        if (tcp.syn()) {
            if (tcp.ack()) { // our kernel retransmitted its SYN/ACK: the ACK was lost, and what followed
                completeHandshake(c);
            }
            return;                      // nothing of the handshake ever reaches the client
        }
        if (!c.committed) {
            // Until the entry commits, it may still serve the client itself: nothing of ours may
            // reach the client (our server has no request yet, so these are ACKs at most).
            counters.drop(Drop.BEFORE_COMMIT);
            return;
        }
        c.lastSeen = now;
        boolean rst = tcp.rst();
        boolean fin = tcp.fin();
        int payload = tcp.payloadLength();
        int end = tcp.sequenceNumber() + tcp.sequenceLength();
        if (Seq.after(end, c.serverNext)) c.serverNext = end;
        translateToClient(c);
        counters.inc(Counter.PACKETS_SENT_FOR_OTHERS);
        counters.add(Counter.BYTES_SENT_FOR_OTHERS, payload);
        passToWire(p, len, Phase.SERVED);
        if (c.state != Conn.SERVING) return;
        if (rst) {
            closedAtChosen(c, cfg.lingerMillis());
        } else if (fin) {
            c.finFromServer = true;
            syncFastPath(c); // closing: what follows needs the engine (owesClient, closedAtChosen)
            if (c.finFromClient) closedAtChosen(c, cfg.timeWaitMillis());
            else closing(c);
        }
    }

    private void closedAtChosen(Conn c, long lingerMillis) {
        if (c.state != Conn.SERVING) return;
        state(c, Conn.CLOSED);
        timers.schedule(c.slot, now + lingerMillis);
        counters.inc(Counter.TERMINATIONS);
        control.terminate(c.peer, c.connId);
    }

    // ------------------------------------------------------------------------------------------
    // Translation (DESIGN.md §1 steps 7-8; §3: sequence, ack, SACK edges, timestamps, window).

    /** Entry to chosen: destination, ack, SACK edges and TSecr into the chosen node's space (claim 7). */
    private void translateToChosen(Conn c) {
        int old = ip.destinationAddress();
        ip.destinationAddressWithChecksumUpdate(c.peerAddress);
        tcp.pseudoHeaderAddressChanged(old, c.peerAddress);
        tcp.destinationPortWithChecksumUpdate(c.forwardPort);
        if (tcp.ack()) {
            tcp.acknowledgmentNumberWithChecksumUpdate(tcp.acknowledgmentNumber() + c.seqDelta);
            if (tcp.sackBlockCount() > 0) tcp.shiftSackBlocksWithChecksumUpdate(c.seqDelta);
            if (c.timestamps && tcp.hasTimestamps()) tcp.tsEcrWithChecksumUpdate(tcp.tsEcr() + c.tsDelta);
        }
    }

    /** At the chosen node, a forwarded client packet: to the entry's shadow address and the service port. */
    private void toShadow(Conn c) {
        int old = ip.destinationAddress();
        int shadow = cfg.shadowAddress(ConnKeys.local(c.key));
        ip.destinationAddressWithChecksumUpdate(shadow);
        tcp.pseudoHeaderAddressChanged(old, shadow);
        tcp.destinationPortWithChecksumUpdate(cfg.servicePort());
    }

    /** Chosen to client: source, sequence, TSval into the entry node's space; window rescaled (claim 9). */
    private void translateToClient(Conn c) {
        int old = ip.sourceAddress();
        ip.sourceAddressWithChecksumUpdate(c.peerAddress);
        tcp.pseudoHeaderAddressChanged(old, c.peerAddress);
        tcp.sequenceNumberWithChecksumUpdate(tcp.sequenceNumber() - c.seqDelta);
        if (c.timestamps && tcp.hasTimestamps()) tcp.tsValWithChecksumUpdate(tcp.tsVal() - c.tsDelta);
        if (c.chosenWindowScale != c.entryWindowScale) {
            long bytes = (long) tcp.window() << c.chosenWindowScale;
            tcp.windowWithChecksumUpdate((int) Math.min(0xffff, bytes >>> c.entryWindowScale));
        }
    }

    /**
     * Completes our kernel's handshake: with the request riding on the ACK if the entry has committed
     * (Linux takes data on the handshake's last ACK: one segment, one pass through its TCP, one
     * wake-up of the server, where an ACK and then the request cost two), else with the held ACK alone.
     */
    private void completeHandshake(Conn c) {
        if (!c.committed || !injectRequest(c)) injectAck(c);
    }

    /** Injects the held handshake ACK into our kernel, in its sequence space (claims 3, 13, 34). */
    private void injectAck(Conn c) {
        MemorySegment.copy(c.ack, 0, tx, ValueLayout.JAVA_BYTE, 0, c.ackLength);
        ip.wrap(tx, 0, c.ackLength);
        int ipHl = ip.headerLength();
        tcp.wrap(tx, ipHl, c.ackLength - ipHl);
        tcp.validate();
        int shadow = cfg.shadowAddress(ConnKeys.local(c.key));
        int old = ip.destinationAddress();
        ip.destinationAddressWithChecksumUpdate(shadow);
        tcp.pseudoHeaderAddressChanged(old, shadow);
        tcp.acknowledgmentNumberWithChecksumUpdate(tcp.acknowledgmentNumber() + c.seqDelta);
        if (c.timestamps && tcp.hasTimestamps()) tcp.tsEcrWithChecksumUpdate(tcp.tsEcr() + c.tsDelta);
        passToKernel(tx, c.ackLength);
    }

    /**
     * Injects the request bytes the entry committed with into our kernel, after the ACK, as
     * segments of at most one MSS in our sequence space (claims 7, 17: the web request reaches the
     * selected server's TCP module as if the client had sent it there). Its first segment also
     * acknowledges our SYN/ACK, as the held ACK does, so it may stand in for it.
     *
     * @return false if there is no request to inject
     */
    private boolean injectRequest(Conn c) {
        byte[] r = c.request;
        if (r == null || r.length == 0) return false;
        MemorySegment a = MemorySegment.ofArray(c.ack);
        auxIp.wrap(a, 0, c.ackLength);
        auxTcp.wrap(a, auxIp.headerLength(), c.ackLength - auxIp.headerLength());
        auxTcp.validate();
        int ack = auxTcp.acknowledgmentNumber() + c.seqDelta;
        boolean ts = c.timestamps && auxTcp.hasTimestamps();
        int tsVal = ts ? auxTcp.tsVal() : 0;
        int tsEcr = ts ? auxTcp.tsEcr() + c.tsDelta : 0;
        int mss = c.local.mss() > 0 ? Math.min(c.local.mss(), 1460) - (ts ? TcpPacketWriter.TIMESTAMPS_OPTION : 0) : 536;
        for (int off = 0; off < r.length; off += mss) {
            int n = Math.min(mss, r.length - off);
            int flags = TcpHeader.ACK | (off + n == r.length ? TcpHeader.PSH : 0);
            int hl = writer.headers(tx, auxIp.sourceAddress(), cfg.shadowAddress(ConnKeys.local(c.key)),
                    auxTcp.sourcePort(), cfg.servicePort(),
                    c.clientIsn + 1 + off, ack, flags, auxTcp.window(), ts, tsVal, tsEcr, n);
            MemorySegment.copy(r, off, tx, ValueLayout.JAVA_BYTE, hl, n);
            passToKernel(tx, writer.finish(tx));
        }
        return true;
    }

    /**
     * Injects a RST from the client into our kernel (claims 7, 17, 32: "sending a reset packet ... to
     * said first TCP module"). Linux drops a SYN-RECV entry on a RST whose sequence number is in its
     * window (tcp_check_req); an established socket takes one at exactly rcv_nxt (RFC 5961 §3.2).
     */
    private void injectReset(Conn c, int seq) {
        int local = ConnKeys.local(c.key);
        int dst = local == ConnKeys.SERVICE ? cfg.address() : cfg.shadowAddress(local);
        writer.headers(tx, ConnKeys.address(c.key), dst, ConnKeys.port(c.key), cfg.servicePort(), seq, 0,
                TcpHeader.RST, 0, false, 0, 0, 0);
        passToKernel(tx, writer.finish(tx));
    }

    // ------------------------------------------------------------------------------------------
    // Control channel events (called on the packet loop thread).

    /** A handoff request from entry node {@code peer} (claims 3, 13, 34). */
    public void onHandoffRequest(Member entryNode, long connId, HandshakeInit entry, byte[] syn, byte[] ack) {
        String peer = entryNode.name();
        if (!validHandshakePacket(syn, true) || !validHandshakePacket(ack, false) || entryNode.index() == 0) {
            counters.drop(Drop.BAD_HANDOFF);
            control.handoffRefuse(peer, connId, RefuseReason.MALFORMED);
            return;
        }
        MemorySegment s = MemorySegment.ofArray(syn);
        ip.wrap(s, 0, syn.length);
        tcp.wrap(s, ip.headerLength(), syn.length - ip.headerLength());
        long key = ConnKeys.key(ip.sourceAddress(), tcp.sourcePort(), entryNode.index());
        // A node hands off only connections made to its own address, under the id that names them.
        if (ConnKeys.keyOf(connId, entryNode.index()) != key || ip.destinationAddress() != entryNode.address()) {
            counters.drop(Drop.BAD_HANDOFF);
            control.handoffRefuse(peer, connId, RefuseReason.MALFORMED);
            return;
        }
        int existing = table.get(key);
        if (existing != LongIntMap.MISSING) {
            Conn old = conns[existing];
            if (old.connId == connId && peer.equals(old.peer) && old.clientIsn == tcp.sequenceNumber()) {
                counters.drop(Drop.DUPLICATE_HANDOFF); // the same request twice: the first one stands
                return;
            }
            // The same id with another SYN is a new connection: a connection id is only the client's
            // address and port and a 16-bit generation of the entry's table slot, which repeats when a
            // busy client wraps its ports while the earlier connection sits in our TIME-WAIT (seen
            // with wrk: one handoff in a few hundred waited out the handoff timeout and fell back).
            if (old.state != Conn.CLOSED || old.clientIsn == tcp.sequenceNumber()) {
                counters.inc(Counter.HANDOFFS_REFUSED);
                control.handoffRefuse(peer, connId, RefuseReason.DUPLICATE);
                return;
            }
            // The client reuses the port of a connection that closed here and sits in TIME-WAIT:
            // forget ours; the kernel accepts the new SYN on that TIME-WAIT socket or answers it.
            free(old);
        }
        Conn c = allocate(key);
        if (c == null) {
            counters.inc(Counter.HANDOFFS_REFUSED);
            control.handoffRefuse(peer, connId, RefuseReason.TABLE_FULL);
            return;
        }
        state(c, Conn.INJECTED);
        c.peer = peer;
        c.peerIncarnation = peerLink(peer).incarnation;
        c.connId = connId;
        c.remote = entry;
        c.peerAddress = ip.destinationAddress();
        c.clientIsn = tcp.sequenceNumber();
        c.clientNext = c.clientIsn + 1;
        System.arraycopy(syn, 0, c.syn, 0, syn.length);
        c.synLength = syn.length;
        System.arraycopy(ack, 0, c.ack, 0, ack.length);
        c.ackLength = ack.length;
        timers.schedule(c.slot, now + cfg.handoffTimeoutMillis());
        // Claim 3: "changing a first destination IP address of said SYN packet to a second IP address"
        // of this node: the entry's shadow address here, so the 4-tuple is as unique as the client's.
        MemorySegment.copy(syn, 0, tx, ValueLayout.JAVA_BYTE, 0, syn.length);
        ip.wrap(tx, 0, syn.length);
        tcp.wrap(tx, ip.headerLength(), syn.length - ip.headerLength());
        int shadow = cfg.shadowAddress(entryNode.index());
        int old = ip.destinationAddress();
        ip.destinationAddressWithChecksumUpdate(shadow);
        tcp.pseudoHeaderAddressChanged(old, shadow);
        passToKernel(tx, syn.length);
    }

    private boolean validHandshakePacket(byte[] b, boolean syn) {
        if (b == null || b.length < 40 || b.length > Conn.MAX_HANDSHAKE_PACKET) return false;
        MemorySegment s = MemorySegment.ofArray(b);
        if (!auxIp.wrap(s, 0, b.length).isValid() || auxIp.protocol() != Ipv4Header.PROTOCOL_TCP
                || auxIp.totalLength() != b.length || auxIp.isFragment()) {
            return false;
        }
        int ipHl = auxIp.headerLength();
        auxTcp.wrap(s, ipHl, b.length - ipHl);
        if (auxTcp.validate() != TcpHeader.OK || auxTcp.payloadLength() != 0
                || auxTcp.destinationPort() != cfg.servicePort()) {
            return false;
        }
        // Injected after an incremental rewrite, which keeps a wrong checksum wrong: our kernel would
        // drop the packet silently and the handoff would only end at its timeout (found by fuzzing).
        if (!auxIp.headerChecksumValid() || !auxTcp.checksumValid(auxIp.sourceAddress(), auxIp.destinationAddress())) {
            return false;
        }
        int f = auxTcp.flags() & (TcpHeader.SYN | TcpHeader.ACK | TcpHeader.RST | TcpHeader.FIN);
        return f == (syn ? TcpHeader.SYN : TcpHeader.ACK);
    }

    /** The chosen node took the connection (claims 5, 15): reset our kernel's entry, start forwarding. */
    public void onHandoffAck(String peer, long connId, HandshakeInit chosen, int forwardPort) {
        Conn c = byConnId(connId, ConnKeys.SERVICE, peer);
        if (c != null && (c.state == Conn.FORWARDING || c.state == Conn.LINGER)) {
            counters.drop(Drop.DUPLICATE_HANDOFF); // the answer to our question, after the first ack
            return;
        }
        if (c == null || c.state != Conn.PENDING) {
            counters.drop(Drop.UNKNOWN_CONNECTION);
            control.abort(peer, connId); // we no longer want it (timed out, served locally): undo
            return;
        }
        if (!c.committedEarly && !control.commit(peer, connId, heldRequest(c))) {
            control.abort(peer, connId); // the link is gone or jammed: undo what we can, serve here
            serveHeldLocally(c, Counter.SERVED_LOCALLY);
            return;
        }
        c.forwardPort = forwardPort;
        c.clientAck = c.local.isn() + 1;
        c.seqDelta = chosen.isn() - c.local.isn();
        c.tsDelta = chosen.tsVal() - c.local.tsVal();
        c.timestamps = c.local.timestamps() && chosen.timestamps();
        injectReset(c, c.clientIsn + 1);
        HoldBuffer h = c.hold;
        for (int i = 0; i < h.count; i++) {
            MemorySegment.copy(h.data, h.offsets[i], tx, 0, h.lengths[i]);
            ip.wrap(tx, 0, h.lengths[i]);
            tcp.wrap(tx, ip.headerLength(), h.lengths[i] - ip.headerLength());
            tcp.validate();
            // The request bytes go with the commit; forward only what extends past them, and (after an
            // eager commit, when the response may have reached the client first) its ACKs of that.
            boolean covered = !Seq.after(tcp.sequenceNumber() + tcp.payloadLength(), c.clientNext);
            boolean acksResponse = tcp.payloadLength() == 0 && Seq.after(tcp.acknowledgmentNumber(), c.local.isn() + 1);
            if (covered && !acksResponse && (tcp.flags() & (TcpHeader.FIN | TcpHeader.RST)) == 0) continue;
            translateToChosen(c);
            counters.inc(Counter.PACKETS_FORWARDED);
            counters.add(Counter.BYTES_FORWARDED, h.lengths[i]);
            passToWire(tx, h.lengths[i], Phase.FORWARDED);
        }
        holds.release(h);
        c.hold = null;
        if (fast != FastPath.NONE && waitingCount < waitingHandDowns.length) {
            c.handDownAt = now + HAND_DOWN_DELAY_MILLIS; // see HAND_DOWN_DELAY_MILLIS
            waitingHandDowns[(waitingHead + waitingCount++) % waitingHandDowns.length] = c.slot;
        }
        state(c, Conn.FORWARDING);
        counters.inc(Counter.HANDOFFS_COMPLETED);
        long took = System.nanoTime() - c.handoffSentNanos;
        handoffLatency.accept(took);
        if (LOG.isDebugEnabled()) LOG.debug("handoff {} to {}: completed in {} us", Long.toHexString(c.connId), c.peer,
                took / 1000);
        c.lastSeen = now;
        timers.schedule(c.slot, now + quietLimit(c));
    }

    /**
     * The entry committed (claims 7, 17): it will never serve this connection itself, so our server
     * may now see the request and answer the client.
     */
    public void onCommit(Member entryNode, long connId, byte[] request) {
        Conn c = byConnId(connId, entryNode.index(), entryNode.name());
        if (c == null || (c.state != Conn.SERVING && c.state != Conn.INJECTED) || c.committed) {
            counters.drop(Drop.UNKNOWN_CONNECTION);
            return;
        }
        c.committed = true;
        c.request = request;
        int end = c.clientIsn + 1 + request.length;
        if (Seq.after(end, c.clientNext)) c.clientNext = end;
        if (c.state == Conn.INJECTED) return; // an eager commit: injected once our kernel took the ACK
        injectRequest(c);
        scheduleIdle(c);
        syncFastPath(c);
    }

    /** The chosen node refused: serve here. */
    public void onHandoffRefuse(String peer, long connId, int reason) {
        Conn c = byConnId(connId, ConnKeys.SERVICE, peer);
        if (c == null || c.state != Conn.PENDING) {
            counters.drop(Drop.UNKNOWN_CONNECTION);
            return;
        }
        counters.refused(reason);
        counters.inc(Counter.REFUSALS_RECEIVED);
        serveHeldLocally(c, Counter.SERVED_LOCALLY);
    }

    /** The chosen node saw the connection close (claims 10, 19): stop forwarding after the linger. */
    public void onTerminate(String peer, long connId) {
        Conn c = byConnId(connId, ConnKeys.SERVICE, peer);
        if (c == null || (c.state != Conn.FORWARDING && c.state != Conn.LINGER)) {
            counters.drop(Drop.UNKNOWN_CONNECTION);
            return;
        }
        if (c.state == Conn.FORWARDING) {
            counters.inc(Counter.TERMINATIONS);
            state(c, Conn.LINGER);
            timers.schedule(c.slot, now + cfg.lingerMillis());
        }
    }

    /**
     * The entry node gives the connection up, or (after an eager commit that got no answer) asks
     * whether we serve it. If our server has not seen the request, we let go and say so (a refusal:
     * the entry may serve it). If it has, the client may have bytes from us: the first abort is
     * answered with our ack again, so the entry forwards; a second one means the entry reset the
     * client, and so do we.
     */
    public void onAbort(Member entryNode, long connId) {
        Conn c = byConnId(connId, entryNode.index(), entryNode.name());
        if (c == null || !c.isChosenRole()) {
            counters.drop(Drop.UNKNOWN_CONNECTION);
            control.handoffRefuse(entryNode.name(), connId, RefuseReason.ABORTED);
            return;
        }
        refresh(c);
        boolean served = c.committed && c.state != Conn.INJECTED;
        if (served && !c.queried) {
            c.queried = true;
            control.handoffAck(c.peer, c.connId, c.local, cfg.forwardPortBase() + ConnKeys.local(c.key));
            return;
        }
        if (c.state != Conn.CLOSED) injectReset(c, c.clientNext);
        if (served && c.state != Conn.CLOSED) resetClientFromChosen(c);
        if (!served) control.handoffRefuse(entryNode.name(), connId, RefuseReason.ABORTED);
        free(c);
    }

    /**
     * The control channel to {@code peer} went down. Pending handoffs to it are served here at once.
     * Connections handed to it, or handed in by it, cannot tell a cut link from a dead node: they wait
     * {@link Config#peerGraceMillis} for the peer to come back, then are settled ({@link #settleOrphan}).
     */
    public void onPeerDown(String peer) {
        peerLink(peer).up = false;
        for (Conn c : conns) {
            if (!peer.equals(c.peer)) continue;
            switch (c.state) {
                case Conn.PENDING -> {
                    if (c.committedEarly) abandonCommitted(c);
                    else serveHeldLocally(c, Counter.SERVED_LOCALLY);
                }
                case Conn.FORWARDING, Conn.INJECTED, Conn.SERVING -> {
                    c.orphaned = true;
                    timers.schedule(c.slot, now + cfg.peerGraceMillis());
                }
                default -> { } // LINGER, CLOSED and RESET end on their own timers
            }
        }
    }

    /**
     * The control channel to {@code peer} is up, with the peer's {@code incarnation} (chosen anew at
     * each start). A new incarnation means the peer restarted: every connection shared with its
     * earlier life is gone there, and is settled now rather than after the grace time.
     */
    public void onPeerUp(String peer, long incarnation) {
        PeerLink l = peerLink(peer);
        boolean restarted = l.known && l.incarnation != incarnation;
        l.up = true;
        l.known = true;
        l.incarnation = incarnation;
        if (abortsWaiting > 0) {
            for (Conn c : conns) {
                if (c.abortWhenUp && peer.equals(c.peer)) {
                    c.abortWhenUp = false;
                    abortsWaiting--;
                    control.abort(c.peer, c.connId);
                }
            }
        }
        if (!restarted) return;
        for (Conn c : conns) {
            if (peer.equals(c.peer) && c.peerIncarnation != incarnation
                    && (c.state == Conn.FORWARDING || c.state == Conn.INJECTED || c.state == Conn.SERVING)) {
                settleOrphan(c);
            }
        }
    }

    /**
     * Decides a connection whose peer's control link went down. Kept if the peer is back, the same
     * process, and the connection shows it works: at the entry the client has acknowledged data from
     * the chosen node (so the commit arrived), at the chosen node the entry committed. Otherwise it
     * is reset both ways (the client gets a RST with the entry's address, the kernel one from the
     * client) so no client waits on a connection nobody serves, and the entry is freed.
     */
    private void settleOrphan(Conn c) {
        refresh(c);
        c.orphaned = false;
        PeerLink l = peerLinks.get(c.peer);
        boolean alive = l != null && l.up && l.incarnation == c.peerIncarnation;
        switch (c.state) {
            case Conn.FORWARDING -> {
                if (alive && c.clientAck != c.local.isn() + 1) {
                    keepOrphan(c);
                    return;
                }
                counters.inc(Counter.ORPHANS_RESET);
                resetClient(c, c.clientAck);
                state(c, Conn.RESET);
                timers.schedule(c.slot, now + cfg.lingerMillis());
            }
            case Conn.SERVING -> {
                if (alive && c.committed) {
                    keepOrphan(c);
                    return;
                }
                counters.inc(Counter.ORPHANS_RESET);
                injectReset(c, c.clientNext);
                if (c.committed) resetClientFromChosen(c);
                free(c);
            }
            case Conn.INJECTED -> {
                counters.inc(Counter.ORPHANS_RESET);
                injectReset(c, c.clientIsn + 1);
                free(c);
            }
            default -> { }
        }
    }

    private void keepOrphan(Conn c) {
        counters.inc(Counter.ORPHANS_KEPT);
        c.lastSeen = now;
        timers.schedule(c.slot, now + quietLimit(c));
    }

    /**
     * At the chosen node: RSTs to the client with the entry's address. A RST is taken only at exactly
     * the client's RCV.NXT, and we no longer see its ACKs: one at the end of what we sent (it got
     * everything, the usual case), one at its last acknowledgment we saw (what we sent since was
     * lost, or refused by a full receive buffer: a zero window takes nothing past RCV.NXT). Between
     * the two, the client answers with a challenge ACK to the entry, whose kernel or BTCP resets it.
     */
    private void resetClientFromChosen(Conn c) {
        sendResetFromChosen(c, c.serverNext);
        if (c.clientAck != c.serverNext) sendResetFromChosen(c, c.clientAck);
    }

    private void sendResetFromChosen(Conn c, int seqInOurSpace) {
        int n = writer.headers(tx, c.peerAddress, ConnKeys.address(c.key), cfg.servicePort(), ConnKeys.port(c.key),
                seqInOurSpace - c.seqDelta, 0, TcpHeader.RST, 0, false, 0, 0, 0);
        writer.finish(tx);
        counters.inc(Counter.CLIENT_RESETS_SENT);
        passToWire(tx, n, Phase.SERVED);
    }

    private PeerLink peerLink(String peer) {
        return peerLinks.computeIfAbsent(peer, k -> new PeerLink());
    }

    /** A peer as the control channel last reported it. */
    private static final class PeerLink {
        boolean up;
        boolean known;
        long incarnation;
    }

    private void refuseAtChosen(Conn c, int reason) {
        counters.inc(Counter.HANDOFFS_REFUSED);
        control.handoffRefuse(c.peer, c.connId, reason);
        injectReset(c, c.clientIsn + 1);
        free(c);
    }

    // ------------------------------------------------------------------------------------------
    // Timers and the table.

    private void expired(int slot, long nowMillis) {
        Conn c = conns[slot];
        refresh(c);
        if (c.orphaned) {
            settleOrphan(c);
            return;
        }
        switch (c.state) {
            case Conn.HOLDING -> serveHeldLocally(c, Counter.REQUEST_TIMEOUT);
            case Conn.PENDING -> {
                if (!c.committedEarly) {
                    control.abort(c.peer, c.connId);
                    serveHeldLocally(c, Counter.SERVED_LOCALLY);
                } else if (!c.waitedLong) {
                    // Committed: the chosen node may be serving, so we may not. Ask it (an abort):
                    // it answers with its ack if its server has the request, else lets go and
                    // refuses, and then we serve. Its answer may be lost too: wait a while longer.
                    c.waitedLong = true;
                    control.abort(c.peer, c.connId);
                    timers.schedule(slot, nowMillis + (COMMIT_WAIT_FACTOR - 1) * cfg.handoffTimeoutMillis());
                } else {
                    abandonCommitted(c);
                }
            }
            case Conn.INJECTED -> refuseAtChosen(c, RefuseReason.NO_SYNACK);
            case Conn.SERVING -> {
                if (!c.committed) { // the entry never committed: it serves the client, or nobody does
                    counters.drop(Drop.NEVER_COMMITTED);
                    injectReset(c, c.clientNext);
                    free(c);
                } else if (nowMillis - c.lastSeen >= quietLimit(c)) {
                    free(c);
                } else {
                    timers.schedule(slot, c.lastSeen + quietLimit(c));
                }
            }
            case Conn.FORWARDING -> {
                long quiet = quietLimit(c);
                if (nowMillis - c.lastSeen < quiet) {
                    timers.schedule(slot, c.lastSeen + quiet);
                } else {
                    if (c.finFromClient) counters.inc(Counter.CLOSED_WITHOUT_TERMINATION);
                    free(c);
                }
            }
            case Conn.LOCAL -> {
                if (nowMillis - c.lastSeen >= quietLimit(c)) free(c);
                else timers.schedule(slot, c.lastSeen + quietLimit(c));
            }
            default -> free(c); // SYN_RCVD never completed; LINGER and CLOSED are over
        }
    }

    /**
     * How long a connection may stay silent before it is forgotten. Once either side has sent its
     * FIN a connection is closing, and a silent one is over: its last RST or FIN may have been lost,
     * which no one retransmits, so waiting the idle time would keep a dead entry for 15 minutes.
     * Forgetting a live one costs nothing at the entry (its packets pass untracked) and costs the
     * chosen node's translation only after a TIME-WAIT's worth of silence, and only once the client
     * has everything our server sent ({@link #owesClient}).
     */
    private long quietLimit(Conn c) {
        boolean closing = c.finFromClient || c.finFromServer;
        return switch (c.state) {
            case Conn.LOCAL -> closing ? cfg.lingerMillis() : cfg.idleMillis();
            case Conn.SERVING -> closing && !owesClient(c) ? cfg.timeWaitMillis() : cfg.idleMillis();
            case Conn.FORWARDING -> c.finFromClient ? cfg.lingerMillis() : cfg.idleMillis();
            default -> cfg.idleMillis();
        };
    }

    /**
     * At the chosen node: the client has not acknowledged all our server sent (its FIN included).
     * Our kernel retransmits that until it gives up, so silence then is a retransmission backing
     * off, not an end: forgetting the connection would drop those retransmissions as strays and
     * leave the client hanging (seen once at 5% loss with a 3 s TIME-WAIT).
     */
    private static boolean owesClient(Conn c) {
        return Seq.before(c.clientAck, c.serverNext);
    }

    /** A FIN was seen on a connection still open the other way: silence now ends it sooner. */
    private void closing(Conn c) {
        remember(c);
        if (!c.orphaned) timers.schedule(c.slot, now + quietLimit(c));
    }

    private void scheduleIdle(Conn c) {
        c.lastSeen = now;
        timers.schedule(c.slot, now + cfg.idleMillis());
    }

    private Conn byConnId(long connId, int local, String peer) {
        int slot = local < 0 || local > 255 ? LongIntMap.MISSING : table.get(ConnKeys.keyOf(connId, local));
        if (slot == LongIntMap.MISSING) return null;
        Conn c = conns[slot];
        return c.connId == connId && peer.equals(c.peer) ? c : null;
    }

    private Conn allocate(long key) {
        if (freeTop == 0) return null;
        Conn c = conns[freeSlots[--freeTop]];
        c.key = key;
        c.generation = (c.generation + 1) & 0xffff;
        table.put(key, c.slot);
        return c;
    }

    private void free(Conn c) {
        timers.cancel(c.slot);
        if (c.abortWhenUp) abortsWaiting--;
        if (c.hold != null) holds.release(c.hold);
        table.remove(c.key);
        state(c, Conn.FREE);
        int gen = c.generation;
        c.reset();
        c.generation = gen;
        freeSlots[freeTop++] = c.slot;
    }

    /** Sets the state, keeping the count of connections our own server serves and the half-open list. */
    private void state(Conn c, byte s) {
        boolean before = c.state == Conn.LOCAL || c.state == Conn.SERVING;
        boolean after = s == Conn.LOCAL || s == Conn.SERVING;
        if (before != after) served += after ? 1 : -1;
        boolean wasOpen = carriesData(c.state);
        boolean isOpen = carriesData(s);
        if (wasOpen != isOpen) open += isOpen ? 1 : -1;
        if (c.state == Conn.SYN_RCVD && s != Conn.SYN_RCVD) unlinkHalfOpen(c.slot);
        else if (c.state != Conn.SYN_RCVD && s == Conn.SYN_RCVD) linkHalfOpen(c.slot);
        c.state = s;
        syncFastPath(c);
    }

    // ------------------------------------------------------------------------------------------
    // A restart (issue 12: a restart loses no connection). The kernel's data path outlives the
    // process: its flows carry the connections on while no process runs, and the records the engine
    // kept (FastPath#remember) say what the next process needs of each one shared with a peer.

    /**
     * What a shared connection's record must say, or nothing: a connection handed off from here
     * (being handed off, forwarding, lingering) or handed in and committed. A local one needs no
     * record (its flow says it all), nor one that is not steady yet.
     */
    private void remember(Conn c) {
        if (fast == FastPath.NONE) return;
        boolean shared = switch (c.state) {
            case Conn.PENDING, Conn.FORWARDING, Conn.LINGER -> true;
            case Conn.SERVING -> c.committed;
            default -> false;
        };
        if (shared && ConnRecord.fits(c)) {
            // What moves on its own (acks, sequence numbers) the next process reads from the kernel's
            // progress: a record changes only with the state and the flags.
            int as = ConnRecord.version(c);
            if (c.remembered && c.recordedAs == as) return;
            ConnRecord.write(c, record);
            c.remembered = fast.remember(c.key, record);
            c.recordedAs = as;
        } else if (c.remembered) {
            fast.forget(c.key);
            c.remembered = false;
        }
    }

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
        long before = counters.get(Counter.TAKEN_OVER);
        fast.recall(new FastPath.Recalled() {
            @Override
            public void record(MemorySegment r) {
                if (withPeers) adopt(r);
                else fast.forget(ConnRecord.key(r));
            }

            @Override
            public void local(int client, int clientPort) {
                adoptLocal(client, clientPort);
            }
        });
        fast.endTakeOver();
        return (int) (counters.get(Counter.TAKEN_OVER) - before);
    }

    private void adopt(MemorySegment r) {
        long key = ConnRecord.key(r);
        byte state = ConnRecord.state(r);
        Conn c = (key >>> 56) == 0 && table.get(key) == LongIntMap.MISSING ? allocate(key) : null;
        if (c == null) { // a table full, or a record that is no key of ours: it cannot be taken over
            fast.forget(key);
            return;
        }
        ConnRecord.read(r, c);
        c.remembered = true;
        c.recordedAs = ConnRecord.version(r);
        c.lastSeen = now;
        int client = ConnKeys.address(key), port = ConnKeys.port(key), local = ConnKeys.local(key);
        switch (state) {
            case Conn.FORWARDING, Conn.LINGER -> {
                FastPath.Consumed read = local == ConnKeys.SERVICE
                        ? fast.resume(client, port, cfg.address(), cfg.servicePort()) : null;
                if (!resumed(c, read, read, OFFLOAD_TO_CHOSEN)) return;
                state(c, state);
                if (state == Conn.LINGER) timers.schedule(c.slot, now + cfg.lingerMillis());
                else waitForPeer(c);
            }
            case Conn.SERVING -> {
                if (local == ConnKeys.SERVICE) {
                    free(c);
                    return;
                }
                if (!c.finFromClient && !c.finFromServer) { // handed down: both its flows
                    FastPath.Consumed in = fast.resume(client, port, cfg.address(), cfg.forwardPortBase() + local);
                    FastPath.Consumed out = fast.resume(client, port, cfg.shadowAddress(local), cfg.servicePort());
                    if (!resumed(c, in, out, OFFLOAD_HANDED_IN)) return;
                }
                state(c, Conn.SERVING);
                waitForPeer(c);
            }
            case Conn.PENDING -> {
                counters.inc(Counter.TAKEOVER_RESETS);
                injectReset(c, c.clientIsn + 1);
                resetClient(c, c.local.isn() + 1);
                c.abortWhenUp = true;
                abortsWaiting++;
                state(c, Conn.RESET);
                timers.schedule(c.slot, now + cfg.lingerMillis());
                return;
            }
            default -> {
                free(c);
                return;
            }
        }
        counters.inc(Counter.TAKEN_OVER);
    }

    /**
     * The kernel carries {@code c}'s flows again ({@link FastPath#resume}), counting what it sent the
     * dead process as read: from the network on {@code in}, from the kernel on {@code out}. If it no
     * longer carries one of them there is nothing left to take over: {@code c} is freed.
     */
    private boolean resumed(Conn c, FastPath.Consumed in, FastPath.Consumed out, byte offload) {
        if (in == null || out == null) {
            free(c);
            return false;
        }
        c.readFromNetwork = in.fromNetwork();
        c.readFromKernel = out.fromKernel();
        c.offloaded = offload;
        return true;
    }

    /** A connection shared with a peer, taken over: settled once the peer grace is over. */
    private void waitForPeer(Conn c) {
        c.orphaned = true;
        timers.schedule(c.slot, now + cfg.peerGraceMillis());
    }

    private void adoptLocal(int client, int clientPort) {
        long key = ConnKeys.key(client, clientPort, ConnKeys.SERVICE);
        Conn c = table.get(key) == LongIntMap.MISSING ? allocate(key) : null;
        if (c == null) return; // its flow is removed at the end: its packets pass untracked, to the kernel
        FastPath.Consumed read = fast.resume(client, clientPort, cfg.address(), cfg.servicePort());
        if (!resumed(c, read, read, OFFLOAD_LOCAL)) return;
        state(c, Conn.LOCAL);
        scheduleIdle(c);
        counters.inc(Counter.TAKEN_OVER);
    }

    // ------------------------------------------------------------------------------------------
    // The kernel's data path (FastPath): it carries a connection's plain segments while it is steady.

    /**
     * What the kernel's data path should know of a connection in its state: from its first packet
     * its flows, held (everything comes up to us, counted); a local one, and a handed-off one at the
     * entry (through its linger), handed down for the rest of their life; a handed-in one from the
     * commit to the first FIN or RST, after which the engine must see every segment (owesClient, the
     * termination); nothing once it is over.
     */
    private static byte offloadWanted(Conn c) {
        return switch (c.state) {
            case Conn.SYN_RCVD, Conn.HOLDING, Conn.PENDING -> OFFLOAD_HELD;
            case Conn.LOCAL -> OFFLOAD_LOCAL;
            case Conn.FORWARDING, Conn.LINGER -> c.handDownAt != 0 ? OFFLOAD_HELD : OFFLOAD_TO_CHOSEN;
            case Conn.INJECTED -> OFFLOAD_HELD_HANDED_IN;
            case Conn.SERVING -> c.finFromClient || c.finFromServer ? OFFLOAD_NONE
                    : c.committed ? OFFLOAD_HANDED_IN : OFFLOAD_HELD_HANDED_IN;
            default -> OFFLOAD_NONE;
        };
    }

    private static boolean entryKind(byte o) {
        return o == OFFLOAD_HELD || o == OFFLOAD_LOCAL || o == OFFLOAD_TO_CHOSEN;
    }

    private static boolean handedDown(byte o) {
        return o >= OFFLOAD_LOCAL && o <= OFFLOAD_HANDED_IN;
    }

    /** Tells the kernel's data path what it should know of {@code c} now (see {@link #offloadWanted}). */
    private void syncFastPath(Conn c) {
        remember(c);
        byte want = offloadWanted(c);
        if (want == c.offloaded || fast == FastPath.NONE || c.offloaded == OFFLOAD_REFUSED) return;
        int client = ConnKeys.address(c.key), port = ConnKeys.port(c.key);
        int entry = ConnKeys.local(c.key);
        boolean sameFlows = c.offloaded != OFFLOAD_NONE && want != OFFLOAD_NONE
                && entryKind(c.offloaded) == entryKind(want);
        if (c.offloaded != OFFLOAD_NONE && !sameFlows) {
            refresh(c);
            // a connection at the entry held only since its SYN has nothing in the flows map
            if (handedDown(c.offloaded) && entryKind(c.offloaded)) fast.withdraw(client, port);
            else if (!entryKind(c.offloaded)) {
                fast.withdrawHandedIn(client, port, cfg.forwardPortBase() + entry, cfg.shadowAddress(entry));
            }
            c.offloaded = OFFLOAD_NONE;
        }
        if (want == OFFLOAD_NONE) return;
        FastPath.Translation t = new FastPath.Translation(c.seqDelta, c.tsDelta, c.timestamps, c.chosenWindowScale,
                c.entryWindowScale);
        boolean taken = switch (want) {
            case OFFLOAD_HELD -> fast.hold(client, port);
            case OFFLOAD_HELD_HANDED_IN -> fast.holdHandedIn(client, port, cfg.forwardPortBase() + entry,
                    cfg.shadowAddress(entry));
            case OFFLOAD_LOCAL -> fast.local(client, port, new FastPath.Consumed(c.readFromNetwork, c.readFromKernel));
            case OFFLOAD_TO_CHOSEN -> fast.toChosen(client, port, c.peerAddress, c.forwardPort, t,
                    new FastPath.Consumed(c.readFromNetwork, c.readFromKernel));
            default -> fast.handedIn(client, port, cfg.forwardPortBase() + entry, cfg.shadowAddress(entry),
                    c.peerAddress, t, new FastPath.Consumed(c.readFromNetwork, 0),
                    new FastPath.Consumed(0, c.readFromKernel));
        };
        if (want == OFFLOAD_HELD || want == OFFLOAD_HELD_HANDED_IN) {
            c.readFromNetwork = 0; // the kernel counts from now on
            c.readFromKernel = 0;
        }
        if (taken) {
            c.offloaded = want;
            if (handedDown(want)) counters.inc(Counter.FAST_PATH_FLOWS);
        } else if (c.offloaded == OFFLOAD_NONE || !sameFlows) {
            c.offloaded = OFFLOAD_REFUSED; // the kernel could not take it: its packets stay with us
            counters.inc(Counter.FAST_PATH_FULL);
        } else {
            counters.inc(Counter.FAST_PATH_FULL); // the held flow stays: its packets keep coming up
        }
    }

    /**
     * A packet of {@code c} that the kernel sent up and counted: one more read. {@code fromNetwork}:
     * it came from the network side.
     */
    private void readOne(Conn c, boolean fromNetwork) {
        if (c.offloaded == OFFLOAD_NONE || c.offloaded == OFFLOAD_REFUSED) return;
        if (fromNetwork) c.readFromNetwork++;
        else c.readFromKernel++;
    }

    /**
     * After a packet of a handed-down connection came up and was handled: the kernel keeps sending
     * the flow's packets up until it hears that the engine has read all it sent.
     */
    private void reportRead(Conn c, long key, int generation, boolean fromNetwork) {
        if (c.key != key || c.generation != generation || !handedDown(c.offloaded)) return;
        int client = ConnKeys.address(c.key), port = ConnKeys.port(c.key);
        if (entryKind(c.offloaded)) {
            fast.consumed(client, port, cfg.address(), cfg.servicePort(),
                    new FastPath.Consumed(c.readFromNetwork, c.readFromKernel));
        } else {
            int entry = ConnKeys.local(c.key);
            if (fromNetwork) {
                fast.consumed(client, port, cfg.address(), cfg.forwardPortBase() + entry,
                        new FastPath.Consumed(c.readFromNetwork, 0));
            } else {
                fast.consumed(client, port, cfg.shadowAddress(entry), cfg.servicePort(),
                        new FastPath.Consumed(0, c.readFromKernel));
            }
        }
    }

    /**
     * Takes in what the kernel's data path saw of a connection: when it was last heard, how far it
     * got. A flow it carried nothing of (every segment came up: the fault module, catching up) has
     * numbers that mean nothing: zeros, which would look like a sequence number half the space away.
     */
    private void refresh(Conn c) {
        if (!handedDown(c.offloaded)) return;
        int client = ConnKeys.address(c.key), port = ConnKeys.port(c.key);
        if (c.offloaded == OFFLOAD_HANDED_IN) {
            int entry = ConnKeys.local(c.key);
            if (carried(client, port, cfg.address(), cfg.forwardPortBase() + entry, c)) {
                if (Seq.after(seen.ack, c.clientAck)) c.clientAck = seen.ack;
                if (Seq.after(seen.next, c.clientNext)) c.clientNext = seen.next;
            }
            if (carried(client, port, cfg.shadowAddress(entry), cfg.servicePort(), c)) {
                if (Seq.after(seen.next, c.serverNext)) c.serverNext = seen.next;
            }
        } else if (carried(client, port, cfg.address(), cfg.servicePort(), c)) {
            if (c.offloaded == OFFLOAD_TO_CHOSEN && Seq.after(seen.ack, c.clientAck)) c.clientAck = seen.ack;
        }
    }

    /** Whether the kernel carried a segment of this flow of {@code c} ({@link #seen}), and when it was heard. */
    private boolean carried(int client, int port, int localAddress, int localPort, Conn c) {
        if (!fast.seen(client, port, localAddress, localPort, seen) || seen.lastNanos == 0) return false;
        long at = now - Math.max(0, System.nanoTime() - seen.lastNanos) / 1_000_000;
        if (at > c.lastSeen) c.lastSeen = at;
        return true;
    }

    private static boolean carriesData(byte state) {
        return state != Conn.FREE && state != Conn.LINGER && state != Conn.CLOSED && state != Conn.RESET;
    }

    /** Appends a slot to the half-open list (the newest end). */
    private void linkHalfOpen(int slot) {
        halfOpenPrev[slot] = halfOpenTail;
        halfOpenNext[slot] = -1;
        if (halfOpenTail >= 0) halfOpenNext[halfOpenTail] = slot;
        else halfOpenHead = slot;
        halfOpenTail = slot;
        halfOpen++;
    }

    private void unlinkHalfOpen(int slot) {
        int prev = halfOpenPrev[slot];
        int next = halfOpenNext[slot];
        if (prev >= 0) halfOpenNext[prev] = next;
        else halfOpenHead = next;
        if (next >= 0) halfOpenPrev[next] = prev;
        else halfOpenTail = prev;
        halfOpen--;
    }

    private void passToKernel(MemorySegment p, int len) {
        out.toKernel(p, len);
    }

    private void passToWire(MemorySegment p, int len) {
        passToWire(p, len, Phase.OTHER);
    }

    private void passToWire(MemorySegment p, int len, Phase phase) {
        emitting = phase;
        out.toWire(p, len);
        emitting = Phase.OTHER;
    }

    /** While {@link Output#toWire} runs: the phase of the packet being written (see {@link Phase}). */
    public Phase emittingPhase() {
        return emitting;
    }

    /**
     * The phase of a packet from the network, before {@link #fromWire} sees it: looks its connection
     * up without changing anything (packet modules ahead of the BTCP select packets by it).
     */
    public Phase phaseOfWirePacket(MemorySegment p, int len) {
        if (len < Ipv4Header.MIN_LENGTH || (Bytes.u8(p, 0) >>> 4) != 4 || !phaseIp.wrap(p, 0, len).isValid()
                || phaseIp.protocol() != Ipv4Header.PROTOCOL_TCP || phaseIp.destinationAddress() != cfg.address()
                || phaseIp.isFragment() || phaseIp.totalLength() - phaseIp.headerLength() < TcpHeader.MIN_LENGTH) {
            return Phase.OTHER;
        }
        phaseTcp.wrap(p, phaseIp.headerLength(), phaseIp.totalLength() - phaseIp.headerLength());
        int dport = phaseTcp.destinationPort();
        if (dport > cfg.forwardPortBase() && dport <= cfg.forwardPortBase() + 255) return Phase.FORWARDED;
        if (dport != cfg.servicePort()) return Phase.OTHER;
        int slot = table.get(ConnKeys.key(phaseIp.sourceAddress(), phaseTcp.sourcePort(), ConnKeys.SERVICE));
        boolean syn = (phaseTcp.flags() & TcpHeader.SYN) != 0;
        if (slot == LongIntMap.MISSING) return syn ? Phase.SYN : Phase.OTHER;
        return switch (conns[slot].state) {
            case Conn.SYN_RCVD -> syn ? Phase.SYN : Phase.HANDSHAKE;
            case Conn.HOLDING -> Phase.REQUEST;
            case Conn.PENDING -> Phase.HANDOFF;
            case Conn.FORWARDING, Conn.LINGER, Conn.RESET -> Phase.FORWARDED;
            case Conn.LOCAL -> Phase.LOCAL;
            default -> Phase.OTHER;
        };
    }
}
