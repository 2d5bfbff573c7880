package dev.baton.btcp;

import dev.baton.http.RequestParser;
import dev.baton.wire.Ipv4Header;
import dev.baton.wire.Seq;
import dev.baton.wire.TcpHeader;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.function.LongConsumer;
import org.slf4j.Logger;

/**
 * The entry role: the node the client connected to. It passes the client's SYN up, parses its
 * kernel's SYN/ACK (claims 2, 12, 28), then holds the handshake ACK and the request so the kernel
 * keeps only a SYN-RECV entry and the server never sees the connection (the "connection indication"
 * of claims 6, 16, 31 is held by holding the ACK). When the request head is complete the router
 * picks a node: this one, and the held packets are released to the kernel (claims 8, 20, 33); or
 * another, which gets a handoff request over the control channel (claims 3, 13, 29). On the handoff
 * ack it resets its kernel's SYN-RECV entry, commits (the request bytes go over the control
 * channel), and forwards all later client packets to the chosen node, translated (claims 7, 17, 32),
 * until the chosen node reports the close and a linger time has passed (claims 10, 19).
 *
 * <p>States: {@code SYN_RCVD → HOLDING → LOCAL}, or {@code → PENDING → FORWARDING → LINGER}, or
 * {@code PENDING → RESET} when an eagerly committed handoff is lost. {@link Btcp} says which
 * method a packet or event of each state comes to.
 */
final class EntryRole {
    /** Largest segment coalescing may build: what fits the path MTU that the client's packets came in. */
    private static final int MAX_COALESCED = 1500;

    private static final Logger LOG = Engine.LOG;

    private final Engine e;
    private final Btcp.Config cfg;
    private final TimerMillis ms;
    private final Counters counters;
    private final Btcp.Control control;
    private final Btcp.Router router;
    private final PacketIo io;
    private final Ipv4Header ip;
    private final TcpHeader tcp;
    private LongConsumer handoffLatency = nanos -> {};
    /** What {@link #adopt} reads from the kernel: one, reused. */
    private final FastPath.Handshake handshake = new FastPath.Handshake();

    EntryRole(Engine e, Btcp.Router router) {
        this.e = e;
        this.cfg = e.cfg;
        this.ms = e.ms;
        this.counters = e.counters;
        this.control = e.control;
        this.router = router;
        this.io = e.io;
        this.ip = io.ip;
        this.tcp = io.tcp;
    }

    void onHandoffLatency(LongConsumer observer) {
        handoffLatency = observer;
    }

    // ------------------------------------------------------------------------------------------
    // Client packets (the packet at hand: io.ip, io.tcp).

    /** A client's SYN to the service port with no connection under its key. */
    void newConnection(MemorySegment p, int len) {
        int synLen = ip.headerLength() + tcp.headerLength();
        if (tcp.payloadLength() > 0 || synLen > Conn.MAX_HANDSHAKE_PACKET) {
            io.toKernel(p, len); // a SYN with data (TCP Fast Open) is served locally, untracked
            return;
        }
        if (!io.checksumsValid()) {
            counters.drop(Drop.BAD_CHECKSUM); // the kernel would drop it too; it must not take a table entry
            return;
        }
        Conn oldest = e.table.halfOpenToEvict();
        if (oldest != null) {
            counters.inc(Counter.HALF_OPEN_EVICTED); // a SYN flood: the oldest handshake gives way
            e.free(oldest);
        }
        Conn c = e.table.allocate(ConnKeys.key(ip.sourceAddress(), tcp.sourcePort(), ConnKeys.SERVICE));
        if (c == null) {
            counters.drop(Drop.TABLE_FULL); // counted, then served locally untracked
            io.toKernel(p, len);
            return;
        }
        counters.inc(Counter.CONNECTIONS_SEEN);
        e.state(c, State.SYN_RCVD);
        e.kernel.readOne(c, true); // the kernel's data path counts a connection from its SYN
        c.clientIsn = tcp.sequenceNumber();
        c.clientNext = c.clientIsn + 1;
        MemorySegment.copy(p, ValueLayout.JAVA_BYTE, 0, c.syn, 0, synLen);
        c.synLength = synLen;
        e.schedule(c, e.now + ms.syn());
        io.toKernel(p, len);
    }

    /**
     * A segment with data for a key with no connection: if the kernel passed its handshake itself and
     * sent its request up to be decided ({@link FastPath#handshake}), the connection is taken in as
     * {@link #newConnection} and {@link #kernelInHandshake} would have taken it, from the SYN and the
     * SYN/ACK the kernel kept, and the caller hands the segment on as the handshake's ACK (the kernel
     * dropped the bare one: this segment carries the same). Returns the connection, or null: none, or
     * its copies do not hold together, or no room (the segment is then the kernel's, as before).
     */
    Conn adopt() {
        return e.kernel.fast().handshake(ip.sourceAddress(), tcp.sourcePort(), handshake) ? adoptFetched() : null;
    }

    /**
     * {@code LINGER}, its flow {@link Offload#LINGERING}: whether the segment at hand is the request of
     * a new connection on {@code old}'s ports whose handshake the kernel took itself (dropping the
     * old flow). Then {@code old} is freed, and {@link #adoptFetched} takes the new one in.
     */
    boolean takenAnew(Conn old) {
        if (tcp.payloadLength() == 0
                || !tcp.ack()
                || tcp.syn()
                || tcp.rst()
                || !e.kernel.fast().handshake(ip.sourceAddress(), tcp.sourcePort(), handshake)) {
            return false;
        }
        byte[] syn = handshake.syn;
        int isn = handshake.synLength < Ipv4Header.MIN_LENGTH + TcpHeader.MIN_LENGTH
                ? old.clientIsn
                : (syn[24] & 0xff) << 24 | (syn[25] & 0xff) << 16 | (syn[26] & 0xff) << 8 | (syn[27] & 0xff);
        if (isn == old.clientIsn) return false; // the kernel takes a SYN only from a 20-byte IPv4 header
        old.offloaded = Offload.NONE; // the kernel dropped its flow; the handshake is the new one's
        e.free(old);
        return true;
    }

    /** {@link #adopt}, the handshake fetched already ({@link #takenAnew}). */
    Conn adoptFetched() {
        FastPath.Handshake h = handshake;
        Ipv4Header auxIp = io.auxIp;
        TcpHeader auxTcp = io.auxTcp;
        MemorySegment syn = MemorySegment.ofArray(h.syn).asSlice(0, h.synLength);
        if (!auxIp.wrap(syn, 0, h.synLength).isValid() || auxIp.totalLength() != h.synLength) return null;
        auxTcp.wrap(syn, auxIp.headerLength(), h.synLength - auxIp.headerLength());
        if (auxTcp.validate() != TcpHeader.OK) return null;
        int clientIsn = auxTcp.sequenceNumber();
        if ((auxTcp.flags() & (TcpHeader.SYN | TcpHeader.ACK)) != TcpHeader.SYN
                || auxIp.sourceAddress() != ip.sourceAddress()
                || auxTcp.sourcePort() != tcp.sourcePort()
                || !auxIp.headerChecksumValid()
                || !auxTcp.checksumValid(auxIp.sourceAddress(), auxIp.destinationAddress())) {
            counters.drop(Drop.BAD_CHECKSUM); // the kernel answered a later copy; we cannot hand this one off
            return null;
        }
        MemorySegment synAck = MemorySegment.ofArray(h.synAck).asSlice(0, h.synAckLength);
        if (!auxIp.wrap(synAck, 0, h.synAckLength).isValid()) return null;
        auxTcp.wrap(synAck, auxIp.headerLength(), h.synAckLength - auxIp.headerLength());
        if (auxTcp.validate() != TcpHeader.OK) return null; // and its options parsed, for HandshakeInit
        if ((auxTcp.flags() & (TcpHeader.SYN | TcpHeader.ACK)) != (TcpHeader.SYN | TcpHeader.ACK)
                || auxTcp.acknowledgmentNumber() != clientIsn + 1) {
            return null;
        }
        Conn oldest = e.table.halfOpenToEvict();
        if (oldest != null) {
            counters.inc(Counter.HALF_OPEN_EVICTED);
            e.free(oldest);
        }
        Conn c = e.table.allocate(ConnKeys.key(ip.sourceAddress(), tcp.sourcePort(), ConnKeys.SERVICE));
        if (c == null) {
            counters.drop(Drop.TABLE_FULL);
            return null;
        }
        counters.inc(Counter.CONNECTIONS_SEEN);
        c.adopted = true;
        e.state(c, State.SYN_RCVD);
        c.clientIsn = clientIsn;
        c.clientNext = clientIsn + 1;
        System.arraycopy(h.syn, 0, c.syn, 0, h.synLength);
        c.synLength = h.synLength;
        c.local = HandshakeInit.of(auxTcp);
        c.synAckWindow = auxTcp.window();
        c.heldAcked = auxTcp.acknowledgmentNumber();
        c.synAckSeen = true;
        e.schedule(c, e.now + ms.syn());
        return c;
    }

    /** The packet at hand reuses the port of a connection just freed: as if it were the first. */
    private void anew(MemorySegment p, int len) {
        if ((tcp.flags() & (TcpHeader.SYN | TcpHeader.ACK | TcpHeader.RST)) == TcpHeader.SYN) newConnection(p, len);
        else io.toKernel(p, len);
    }

    /** {@code SYN_RCVD}: waiting for the handshake's ACK, which is held (claims 6, 16). */
    void inHandshake(Conn c, MemorySegment p, int len) {
        if (tcp.rst()) {
            e.free(c);
            io.toKernel(p, len);
        } else if (tcp.syn()) {
            if (io.isNewSyn(c)) {
                e.free(c); // the port was reused: start over
                anew(p, len);
            } else {
                io.toKernel(p, len); // retransmitted SYN: let the kernel answer it again
            }
        } else if (!tcp.ack() || !c.synAckSeen || tcp.acknowledgmentNumber() != c.local.isn() + 1) {
            io.toKernel(p, len); // not the handshake's ACK: the kernel decides
        } else if (!io.checksumsValid()) {
            counters.drop(Drop.BAD_CHECKSUM);
        } else {
            HoldBuffer h = e.holds.acquire();
            if (h == null) {
                counters.drop(Drop.HOLD_POOL_EMPTY);
                e.state(c, State.LOCAL);
                counters.inc(Counter.SERVED_LOCALLY);
                e.scheduleIdle(c);
                io.toKernel(p, len);
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
            e.state(c, State.HOLDING);
            e.schedule(c, e.now + ms.request());
            hold(c, p, len);
        }
    }

    /** {@code HOLDING} or {@code PENDING}: the client's packets are kept until the decision. */
    void whileHeld(Conn c, MemorySegment p, int len) {
        if (tcp.syn()) {
            if (io.isNewSyn(c)) {
                abandonHold(c);
                anew(p, len);
            } else {
                counters.drop(Drop.DUPLICATE_SYN); // never let a retransmitted SYN re-enter the kernel
            }
            return;
        }
        if (!io.checksumsValid()) {
            counters.drop(Drop.BAD_CHECKSUM);
            return;
        }
        if (c.state == State.HOLDING && tcp.rst()) {
            // The client gave up before we decided: let the kernel drop its SYN-RECV entry.
            releaseHeld(c);
            io.toKernel(p, len);
            e.free(c);
            return;
        }
        hold(c, p, len);
    }

    /** Keeps a client packet; while HOLDING, reads the request and decides once the head is complete. */
    private void hold(Conn c, MemorySegment p, int len) {
        if (c.state == State.HOLDING && coalesce(c)) {
            // appended to the previous segment
        } else if (!c.hold.add(p, len)) {
            counters.drop(Drop.HOLD_FULL); // TCP retransmits it once the connection moves on
            if (c.state == State.HOLDING) serveHeldLocally(c, Counter.REQUEST_UNFINISHED);
            return;
        }
        if (tcp.fin()) c.finFromClient = true;
        if (tcp.hasTimestamps()) c.clientTsVal = tcp.tsVal();
        if (c.state != State.HOLDING) return;
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
        io.wrapHeld(h, last);
        Ipv4Header auxIp = io.auxIp;
        TcpHeader auxTcp = io.auxTcp;
        int ipHl = auxIp.headerLength();
        if (auxTcp.payloadLength() == 0
                || (auxTcp.flags() & ~(TcpHeader.ACK | TcpHeader.PSH)) != 0
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
        TcpHeader auxTcp = io.auxTcp;
        RequestParser.Result r = RequestParser.Result.NEED_MORE;
        boolean progress = true;
        while (progress && r == RequestParser.Result.NEED_MORE) {
            progress = false;
            for (int i = 0; i < h.count && r == RequestParser.Result.NEED_MORE; i++) {
                io.wrapHeld(h, i);
                int payload = auxTcp.payloadLength();
                int start = auxTcp.sequenceNumber();
                int end = start + payload;
                if (payload == 0 || !Seq.after(end, c.clientNext) || Seq.after(start, c.clientNext)) continue;
                int skip = c.clientNext - start;
                int n = payload - skip;
                MemorySegment.copy(h.data, ValueLayout.JAVA_BYTE, auxTcp.payloadOffset() + skip, io.scratch, 0, n);
                r = h.parser.feed(io.scratch, 0, n);
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
        int n = io.writer.headers(
                io.tx,
                cfg.address(),
                ConnKeys.address(c.key),
                cfg.servicePort(),
                ConnKeys.port(c.key),
                c.local.isn() + 1,
                c.clientNext,
                TcpHeader.ACK,
                window,
                c.local.timestamps(),
                c.local.tsVal(),
                c.clientTsVal,
                0);
        io.writer.finish(io.tx);
        c.heldAcked = c.clientNext;
        counters.inc(Counter.HELD_BYTES_ACKED);
        io.toWire(io.tx, n, Phase.REQUEST);
    }

    /** The client's bytes from its first up to {@code clientNext}, gathered from the held packets. */
    private byte[] heldRequest(Conn c) {
        HoldBuffer h = c.hold;
        TcpHeader auxTcp = io.auxTcp;
        int first = c.clientIsn + 1;
        byte[] out = new byte[c.clientNext - first];
        int have = 0;
        boolean progress = true;
        while (progress && have < out.length) {
            progress = false;
            for (int i = 0; i < h.count && have < out.length; i++) {
                io.wrapHeld(h, i);
                int start = auxTcp.sequenceNumber() - first;
                int end = start + auxTcp.payloadLength();
                if (auxTcp.payloadLength() == 0 || start > have || end <= have) continue;
                int n = Math.min(end, out.length) - have;
                long from = auxTcp.payloadOffset() + (have - start);
                MemorySegment.copy(h.data, ValueLayout.JAVA_BYTE, from, out, have, n);
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
        Peer m = router.route(c.hold.parser);
        if (m == null || m.address() == cfg.address() || !buildPureAck(c)) {
            serveHeldLocally(c, Counter.SERVED_LOCALLY);
            return;
        }
        c.peer = m.name();
        c.peerAddress = m.address();
        c.connId = ConnKeys.connId(c.key, c.generation);
        c.peerIncarnation = e.peers.incarnation(c.peer);
        e.state(c, State.PENDING);
        e.schedule(c, e.now + ms.handoff());
        counters.inc(Counter.HANDOFFS_SENT);
        c.handoffSentNanos = System.nanoTime();
        if (!control.handoffRequest(
                c.peer, c.connId, c.local, Arrays.copyOf(c.syn, c.synLength), Arrays.copyOf(c.ack, c.ackLength))) {
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
        io.wrapHeld(h, 0);
        Ipv4Header auxIp = io.auxIp;
        TcpHeader auxTcp = io.auxTcp;
        int ipHl = auxIp.headerLength();
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
        if (c.state == State.PENDING) {
            counters.inc(Counter.FALLBACKS);
            if (LOG.isDebugEnabled())
                LOG.debug(
                        "handoff {} to {}: fell back, served here ({})",
                        Long.toHexString(c.connId),
                        c.peer,
                        why.metric());
        }
        // Released before the kernel's data path takes the connection: a client segment it passed
        // meanwhile would reach our kernel ahead of what we release, which the client saw us
        // acknowledge, and the kernel would SACK it below the client's acknowledged edge
        // (TCPSACKDiscard at the client: HostileRequestsIT's dripping heads, 1 run in 4).
        releaseHeld(c);
        e.state(c, State.LOCAL);
        e.scheduleIdle(c);
    }

    private void releaseHeld(Conn c) {
        HoldBuffer h = c.hold;
        if (h == null) return;
        for (int i = 0; i < h.count; i++) {
            MemorySegment.copy(h.data, h.offsets[i], io.tx, 0, h.lengths[i]);
            io.toKernel(io.tx, h.lengths[i]);
        }
        e.holds.release(h);
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
        if (LOG.isDebugEnabled())
            LOG.debug("handoff {} to {}: no answer after the commit, client reset", Long.toHexString(c.connId), c.peer);
        control.abort(c.peer, c.connId);
        e.injectReset(c, c.clientIsn + 1);
        if (c.hold != null) {
            e.holds.release(c.hold);
            c.hold = null;
        }
        resetClient(c, c.local.isn() + 1);
        e.state(c, State.RESET);
        e.schedule(c, e.now + ms.linger());
    }

    private void abandonHold(Conn c) {
        if (c.state == State.PENDING) control.abort(c.peer, c.connId);
        e.free(c);
    }

    /** {@code FORWARDING} or {@code LINGER}: translated and sent on to the chosen node (claim 7). */
    void whileForwarding(Conn c, MemorySegment p, int len) {
        if (tcp.syn()) {
            if (c.state == State.LINGER && io.isNewSyn(c)) {
                e.free(c); // a new connection on the same port after the old one closed
                anew(p, len);
            } else {
                counters.drop(Drop.DUPLICATE_SYN);
            }
            return;
        }
        c.lastSeen = e.now;
        if (tcp.ack() && Seq.after(tcp.acknowledgmentNumber(), c.clientAck)) c.clientAck = tcp.acknowledgmentNumber();
        boolean rst = tcp.rst();
        boolean fin = tcp.fin();
        c.translation.toChosen(ip, tcp, c.peerAddress, c.forwardPort);
        counters.inc(Counter.PACKETS_FORWARDED);
        counters.add(Counter.BYTES_FORWARDED, len);
        io.toWire(p, len, Phase.FORWARDED);
        if (c.state == State.FORWARDING && (rst || (fin && !c.finFromClient))) closedWhileForwarding(c, rst);
    }

    /** {@code FORWARDING}: the client's FIN or RST, passed on to the chosen node by the kernel's data path. */
    void closedInKernelWhileForwarding(Conn c, int tcpFlags) {
        boolean rst = (tcpFlags & TcpHeader.RST) != 0;
        if (rst || ((tcpFlags & TcpHeader.FIN) != 0 && !c.finFromClient)) closedWhileForwarding(c, rst);
    }

    /**
     * The client closed a handed-off connection. The chosen node reports the close with a termination
     * message (claims 10, 19); should that never come, the entry must not keep the entry for the
     * idle time: once the client has closed (a FIN) and then gone quiet for the linger time, or has
     * reset (a RST), nothing more will come.
     */
    private void closedWhileForwarding(Conn c, boolean rst) {
        if (rst) {
            e.state(c, State.LINGER);
            e.schedule(c, e.now + ms.linger());
            return;
        }
        c.finFromClient = true;
        e.closing(c);
    }

    /** {@code RESET}: a client packet for a connection whose chosen node was lost: a RST it will take. */
    void afterReset(Conn c, MemorySegment p, int len) {
        if (tcp.syn() && io.isNewSyn(c)) {
            e.free(c);
            anew(p, len);
        } else if (tcp.rst()) {
            e.free(c);
        } else if (tcp.ack()) {
            resetClient(c, tcp.acknowledgmentNumber());
        }
    }

    /** A RST from us (the entry) to the client, at {@code seq} in the client's receive space. */
    void resetClient(Conn c, int seq) {
        int n = io.writer.headers(
                io.tx,
                cfg.address(),
                ConnKeys.address(c.key),
                cfg.servicePort(),
                ConnKeys.port(c.key),
                seq,
                0,
                TcpHeader.RST,
                0,
                false,
                0,
                0,
                0);
        io.writer.finish(io.tx);
        counters.inc(Counter.CLIENT_RESETS_SENT);
        io.toWire(io.tx, n, Phase.FORWARDED);
    }

    /** {@code LOCAL}: our kernel serves it; watched for its close. */
    void whileLocal(Conn c, MemorySegment p, int len) {
        if (tcp.syn() && io.isNewSyn(c)) {
            e.free(c);
            anew(p, len);
            return;
        }
        c.lastSeen = e.now;
        io.toKernel(p, len);
        localClose(c, tcp.flags(), false);
    }

    /**
     * {@code LOCAL}: a FIN or RST, seen here or passed by the kernel's data path (which then tells
     * of it, {@link FastPath#drainCloses}): once both sides sent their FIN, or either a RST, the
     * connection is over for us (claim 8: nothing of it is ours to do).
     */
    void localClose(Conn c, int tcpFlags, boolean fromKernel) {
        if ((tcpFlags & TcpHeader.RST) != 0) {
            e.free(c);
        } else if ((tcpFlags & TcpHeader.FIN) != 0) {
            if (fromKernel) c.finFromServer = true;
            else c.finFromClient = true;
            if (c.finFromClient && c.finFromServer) e.free(c);
            else e.closing(c);
        }
    }

    // ------------------------------------------------------------------------------------------
    // Our kernel's packets to the client.

    /** {@code SYN_RCVD}: our kernel's SYN/ACK, parsed for its ISN and options (claims 2, 12, 28). */
    void kernelInHandshake(Conn c, MemorySegment p, int len) {
        if (tcp.syn() && tcp.ack()) {
            c.local = HandshakeInit.of(tcp);
            c.synAckWindow = tcp.window();
            c.heldAcked = tcp.acknowledgmentNumber();
            c.synAckSeen = true;
        } else if (tcp.rst()) {
            e.free(c);
        }
        io.toWire(p, len, tcp.syn() ? Phase.SYNACK : Phase.HANDSHAKE);
    }

    /** {@code HOLDING} or {@code PENDING}: SYN/ACK retransmissions still reach the client. */
    void kernelWhileHeld(Conn c, MemorySegment p, int len) {
        if (tcp.rst()) abandonHold(c); // the kernel gave up on its SYN-RECV entry
        io.toWire(p, len, tcp.syn() ? Phase.SYNACK : Phase.REQUEST);
    }

    /** {@code LOCAL}: our server's packets, watched for its close. */
    void kernelWhileLocal(Conn c, MemorySegment p, int len) {
        c.lastSeen = e.now;
        io.toWire(p, len, Phase.LOCAL);
        localClose(c, tcp.flags(), true);
    }

    // ------------------------------------------------------------------------------------------
    // The chosen node's answers (control channel).

    /** The chosen node took the connection (claims 5, 15): reset our kernel's entry, start forwarding. */
    void onHandoffAck(String peer, long connId, HandshakeInit chosen, int forwardPort) {
        Conn c = e.table.byConnId(connId, ConnKeys.SERVICE, peer);
        if (c != null && (c.state == State.FORWARDING || c.state == State.LINGER)) {
            counters.drop(Drop.DUPLICATE_HANDOFF); // the answer to our question, after the first ack
            return;
        }
        if (c == null || c.state != State.PENDING) {
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
        c.translation.atEntry(c.local, chosen);
        e.injectReset(c, c.clientIsn + 1);
        HoldBuffer h = c.hold;
        int forwarded = 0;
        for (int i = 0; i < h.count; i++) {
            MemorySegment.copy(h.data, h.offsets[i], io.tx, 0, h.lengths[i]);
            ip.wrap(io.tx, 0, h.lengths[i]);
            tcp.wrap(io.tx, ip.headerLength(), h.lengths[i] - ip.headerLength());
            tcp.validate();
            // The request bytes go with the commit; forward only what extends past them, and (after an
            // eager commit, when the response may have reached the client first) its ACKs of that.
            boolean covered = !Seq.after(tcp.sequenceNumber() + tcp.payloadLength(), c.clientNext);
            boolean acksResponse = tcp.payloadLength() == 0 && Seq.after(tcp.acknowledgmentNumber(), c.local.isn() + 1);
            if (covered && !acksResponse && (tcp.flags() & (TcpHeader.FIN | TcpHeader.RST)) == 0) continue;
            c.translation.toChosen(ip, tcp, c.peerAddress, c.forwardPort);
            counters.inc(Counter.PACKETS_FORWARDED);
            counters.add(Counter.BYTES_FORWARDED, h.lengths[i]);
            io.toWire(io.tx, h.lengths[i], Phase.FORWARDED);
            forwarded++;
        }
        e.holds.release(h);
        c.hold = null;
        if (forwarded > 0) e.kernel.handDownLater(c); // else nothing of ours can be overtaken: at once
        e.state(c, State.FORWARDING);
        counters.inc(Counter.HANDOFFS_COMPLETED);
        long took = System.nanoTime() - c.handoffSentNanos;
        handoffLatency.accept(took);
        if (LOG.isDebugEnabled())
            LOG.debug("handoff {} to {}: completed in {} us", Long.toHexString(c.connId), c.peer, took / 1000);
        c.lastSeen = e.now;
        e.schedule(c, e.now + e.quietLimit(c));
    }

    /** The chosen node refused: serve here. */
    void onHandoffRefuse(String peer, long connId, Refusal reason) {
        Conn c = e.table.byConnId(connId, ConnKeys.SERVICE, peer);
        if (c == null || c.state != State.PENDING) {
            counters.drop(Drop.UNKNOWN_CONNECTION);
            return;
        }
        counters.refused(reason);
        counters.inc(Counter.REFUSALS_RECEIVED);
        serveHeldLocally(c, Counter.SERVED_LOCALLY);
    }

    /** The chosen node saw the connection close (claims 10, 19): stop forwarding after the linger. */
    void onTerminate(String peer, long connId) {
        Conn c = e.table.byConnId(connId, ConnKeys.SERVICE, peer);
        if (c == null || (c.state != State.FORWARDING && c.state != State.LINGER)) {
            counters.drop(Drop.UNKNOWN_CONNECTION);
            return;
        }
        if (c.state == State.FORWARDING) {
            counters.inc(Counter.TERMINATIONS);
            e.state(c, State.LINGER);
            e.schedule(c, e.now + ms.linger());
        }
    }

    /** The control link to a handoff's chosen node went down before it answered: serve here, or give up. */
    void chosenLostWhilePending(Conn c) {
        if (c.committedEarly) abandonCommitted(c);
        else serveHeldLocally(c, Counter.SERVED_LOCALLY);
    }

    /**
     * {@code FORWARDING}, after its chosen node's link went down: kept if the peer is back, the same
     * process ({@code alive}), and the client has acknowledged data from the chosen node (so the
     * commit arrived); else the client is reset and its later packets get RSTs.
     */
    void settleOrphan(Conn c, boolean alive) {
        if (alive && c.clientAck != c.local.isn() + 1) {
            e.keepOrphan(c);
            return;
        }
        counters.inc(Counter.ORPHANS_RESET);
        resetClient(c, c.clientAck);
        e.state(c, State.RESET);
        e.schedule(c, e.now + ms.linger());
    }

    // ------------------------------------------------------------------------------------------
    // Timers.

    /** {@code HOLDING}: the request head did not complete in time. */
    void requestTimedOut(Conn c) {
        serveHeldLocally(c, Counter.REQUEST_TIMEOUT);
    }

    /** {@code PENDING}: no answer to the handoff request in time. */
    void handoffTimedOut(Conn c) {
        if (!c.committedEarly) {
            control.abort(c.peer, c.connId);
            serveHeldLocally(c, Counter.SERVED_LOCALLY);
        } else if (!c.waitedLong) {
            // Committed: the chosen node may be serving, so we may not. Ask it (an abort): it
            // answers with its ack if its server has the request, else lets go and refuses, and
            // then we serve. Its answer may be lost too: wait a while longer.
            c.waitedLong = true;
            control.abort(c.peer, c.connId);
            e.schedule(c, e.now + (Engine.COMMIT_WAIT_FACTOR - 1) * ms.handoff());
        } else {
            abandonCommitted(c);
        }
    }

    /** {@code FORWARDING}: quiet for a while; forgotten once quiet for its limit. */
    void forwardingQuiet(Conn c) {
        long quiet = e.quietLimit(c);
        if (e.now - c.lastSeen < quiet) {
            e.schedule(c, c.lastSeen + quiet);
        } else {
            if (c.finFromClient) counters.inc(Counter.CLOSED_WITHOUT_TERMINATION);
            e.free(c);
        }
    }
}
