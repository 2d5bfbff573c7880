package dev.baton.btcp;

import dev.baton.wire.Seq;
import dev.baton.wire.TcpHeader;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What both roles of the BTCP act on: the configuration, the connection table and its timers, the
 * hold buffers, the packet at hand, the kernel's data path, the peers' liveness and the clock; and
 * the steps of a connection's life that do not depend on its role. One per {@link Btcp}; loop
 * thread only.
 */
final class Engine {
    /** One line per handoff at debug ({@code baton node --log-level debug}); nothing per packet. */
    static final Logger LOG = LoggerFactory.getLogger(Btcp.class);
    /**
     * A chosen node waits this many handoff timeouts for the entry's commit, then resets; an entry
     * that committed eagerly waits as long for the chosen node's answer before it gives up.
     */
    static final int COMMIT_WAIT_FACTOR = 3;

    private static final int MAX_HELD_PACKETS = 64;

    final Btcp.Config cfg;
    final TimerMillis ms;
    final Btcp.Control control;
    final Counters counters;
    final PacketIo io;
    final ConnTable table;
    final HoldPool holds;
    final PeerLinks peers = new PeerLinks();
    final KernelPath kernel;
    /** The loop's clock, in milliseconds ({@link Btcp#tick}). */
    long now;
    /** Connections taken over mid-handoff whose peer is to hear an abort once its link is up. */
    int abortsWaiting;

    Engine(Btcp.Config cfg, Btcp.Output out, Btcp.Control control, Counters counters, long nowMillis) {
        this.cfg = cfg;
        this.ms = TimerMillis.of(cfg);
        this.control = control;
        this.counters = counters;
        this.now = nowMillis;
        io = new PacketIo(out, counters);
        table = new ConnTable(cfg.limits().maxConnections(), nowMillis);
        holds = new HoldPool(
                cfg.limits().holdBuffers(),
                cfg.limits().holdBytes(),
                MAX_HELD_PACKETS,
                cfg.limits().maxHeadBytes());
        kernel = new KernelPath(this);
    }

    /** Sets the state, then tells the kernel's data path what it should know of {@code c} now. */
    void state(Conn c, State s) {
        table.enter(c, s);
        kernel.sync(c);
    }

    /** Forgets {@code c}: its hold buffer, its flows in the kernel, its slot. */
    void free(Conn c) {
        if (c.abortWhenUp) abortsWaiting--;
        if (c.hold != null) holds.release(c.hold);
        // the kernel sends a new SYN on these ports up while it keeps the handshake: let it go
        if (c.adopted) kernel.fast().forgetHandshake(ConnKeys.address(c.key), ConnKeys.port(c.key));
        state(c, State.FREE);
        table.release(c);
    }

    void schedule(Conn c, long atMillis) {
        table.schedule(c, atMillis);
    }

    /** A connection in steady use: forgotten after the idle time without a packet. */
    void scheduleIdle(Conn c) {
        c.lastSeen = now;
        schedule(c, now + ms.idle());
    }

    /** A FIN was seen on a connection still open the other way: silence now ends it sooner. */
    void closing(Conn c) {
        kernel.remember(c);
        if (!c.orphaned) schedule(c, now + quietLimit(c));
    }

    /**
     * How long a connection may stay silent before it is forgotten. Once either side has sent its
     * FIN a connection is closing, and a silent one is over: its last RST or FIN may have been lost,
     * which no one retransmits, so waiting the idle time would keep a dead entry for 15 minutes.
     * Forgetting a live one costs nothing at the entry (its packets pass untracked) and costs the
     * chosen node's translation only after a TIME-WAIT's worth of silence, and only once the client
     * has everything our server sent ({@link #owesClient}).
     */
    long quietLimit(Conn c) {
        boolean closing = c.finFromClient || c.finFromServer;
        return switch (c.state) {
            case LOCAL -> closing ? ms.linger() : ms.idle();
            case SERVING -> closing && !owesClient(c) ? ms.timeWait() : ms.idle();
            case FORWARDING -> c.finFromClient ? ms.linger() : ms.idle();
            case FREE, SYN_RCVD, HOLDING, PENDING, LINGER, INJECTED, CLOSED, RESET -> ms.idle();
        };
    }

    /** A connection whose peer's link went down and came back, and that works: it goes on. */
    void keepOrphan(Conn c) {
        counters.inc(Counter.ORPHANS_KEPT);
        c.lastSeen = now;
        schedule(c, now + quietLimit(c));
    }

    /** Its timer fired: forgotten if it has been quiet for its limit, else looked at again then. */
    void freeIfQuiet(Conn c) {
        if (now - c.lastSeen >= quietLimit(c)) free(c);
        else schedule(c, c.lastSeen + quietLimit(c));
    }

    /**
     * At the chosen node: the client has not acknowledged all our server sent (its FIN included).
     * Our kernel retransmits that until it gives up, so silence then is a retransmission backing
     * off, not an end: forgetting the connection would drop those retransmissions as strays and
     * leave the client hanging (seen once at 5% loss with a 3 s TIME-WAIT).
     */
    static boolean owesClient(Conn c) {
        return Seq.before(c.clientAck, c.serverNext);
    }

    /**
     * Injects a RST from the client into our kernel (claims 7, 17, 32: "sending a reset packet ... to
     * said first TCP module"). Linux drops a SYN-RECV entry on a RST whose sequence number is in its
     * window (tcp_check_req); an established socket takes one at exactly rcv_nxt (RFC 5961 §3.2).
     */
    void injectReset(Conn c, int seq) {
        int local = ConnKeys.local(c.key);
        int dst = local == ConnKeys.SERVICE ? cfg.address() : cfg.shadows().address(local);
        io.writer.headers(
                io.tx,
                ConnKeys.address(c.key),
                dst,
                ConnKeys.port(c.key),
                cfg.servicePort(),
                seq,
                0,
                TcpHeader.RST,
                0,
                false,
                0,
                0,
                0);
        io.toKernel(io.tx, io.writer.finish(io.tx));
    }
}
