package dev.baton.btcp;

import dev.baton.wire.Ipv4Header;
import dev.baton.wire.Seq;
import dev.baton.wire.TcpHeader;
import dev.baton.wire.TcpPacketWriter;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.slf4j.Logger;

/**
 * The chosen role: the node a connection is handed to. It injects the client's SYN (destination
 * rewritten to the entry's shadow address) into its kernel, captures the SYN/ACK (never sent),
 * injects the ACK translated into its own sequence space and answers with a handoff ack (claims 3,
 * 5, 34-35); on the commit it injects the request, then rewrites every packet its kernel sends on
 * the connection so it leaves with the entry node's address and sequence space, straight to the
 * client (claims 9, 18, 36), and reports the close (claims 10, 37). Until the commit nothing of its
 * kernel's reaches the client, so the entry may still fall back.
 *
 * <p>States: {@code INJECTED → SERVING → CLOSED}. {@link Btcp} says which method a packet or event
 * of each state comes to.
 */
final class ChosenRole {

    private static final Logger LOG = Engine.LOG;

    private final Engine e;
    private final Btcp.Config cfg;
    private final TimerMillis ms;
    private final Counters counters;
    private final Btcp.Control control;
    private final PacketIo io;
    private final Ipv4Header ip;
    private final TcpHeader tcp;
    /**
     * With {@link #injectAfterControl}: the eagerly committed connections whose request waits for
     * the round's control messages (their slots and generations, in order), at most one round's.
     */
    private final int[] waiting = new int[MAX_WAITING];

    private final int[] waitingGeneration = new int[MAX_WAITING];
    private int waitingCount;
    private boolean injectAfterControl;

    /** More than one round of the packet loop reads (64 packets a side). */
    static final int MAX_WAITING = 256;

    ChosenRole(Engine e) {
        this.e = e;
        this.cfg = e.cfg;
        this.ms = e.ms;
        this.counters = e.counters;
        this.control = e.control;
        this.io = e.io;
        this.ip = io.ip;
        this.tcp = io.tcp;
    }

    private int shadow(Conn c) {
        return cfg.shadows().address(ConnKeys.local(c.key));
    }

    // ------------------------------------------------------------------------------------------
    // The client's packets, forwarded by the entry (the packet at hand: io.ip, io.tcp).

    /** {@code INJECTED}: the entry forwards only after our ack, which has not been sent yet. */
    void forwardedEarly() {
        counters.drop(Drop.EARLY_FORWARD);
    }

    /** {@code SERVING} or {@code CLOSED}: to the entry's shadow address, up to our kernel. */
    void forwarded(Conn c, MemorySegment p, int len) {
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
        c.lastSeen = e.now;
        int end = tcp.sequenceNumber() + tcp.sequenceLength();
        if (Seq.after(end, c.clientNext)) c.clientNext = end;
        if (tcp.ack() && Seq.after(tcp.acknowledgmentNumber(), c.clientAck)) {
            c.clientAck = tcp.acknowledgmentNumber();
            if (c.finFromServer && !c.finFromClient && !Engine.owesClient(c)) e.closing(c); // it has it all now
        }
        Translation.readdress(ip, tcp, shadow(c), cfg.servicePort());
        io.toKernel(p, len);
        if (tcp.rst()) {
            closed(c, ms.linger());
        } else if (tcp.fin()) {
            c.finFromClient = true;
            if (c.finFromServer) closed(c, ms.timeWait());
            else e.closing(c);
        }
    }

    // ------------------------------------------------------------------------------------------
    // Our kernel's packets on a handed-in connection.

    /**
     * {@code INJECTED}: our kernel answered the injected SYN: never send it; inject the translated
     * ACK (claims 3, 34).
     */
    void kernelSynAck(Conn c) {
        if (!(tcp.syn() && tcp.ack())) {
            counters.drop(Drop.STRAY_KERNEL_PACKET); // e.g. a RST: nothing listens; give up below
            if (tcp.rst()) refuse(c, Refusal.NO_SYNACK);
            return;
        }
        HandshakeInit mine = HandshakeInit.of(tcp);
        HandshakeInit entry = c.remote;
        if (mine.timestamps() != entry.timestamps()
                || mine.sackPermitted() != entry.sackPermitted()
                || (mine.windowScale() < 0) != (entry.windowScale() < 0)) {
            refuse(c, Refusal.OPTION_MISMATCH);
            return;
        }
        c.local = mine;
        c.synAckSeen = true;
        c.serverNext = mine.isn() + 1;
        c.clientAck = mine.isn() + 1;
        c.translation.atChosen(entry, mine);
        // Committed eagerly: the flows go down before our server can answer the request we inject,
        // so its answer leaves on the kernel's path; on a new connection it would otherwise all come
        // up behind the SYN/ACK. A request that waits for our ack (injectLater) keeps the client's
        // flow held until it is in: the entry forwards once it has the ack, and a segment the
        // kernel passed ahead of the request would reach our kernel first, out of order, draw
        // SACKs and a retransmission from the client, and move ts_recent past the request's TSval,
        // which PAWS then drops (RFC 7323 section 5; MismatchedKernelsIT's upload, 1 run in 6).
        // (A late commit injects at once: the entry may be forwarding by then, onCommit.)
        c.requestWaiting = c.committed && injectLater(c);
        e.state(c, State.SERVING);
        if (!c.requestWaiting) completeHandshake(c);
        if (c.committed) { // the commit came with the request (eager): our server may answer now
            e.scheduleIdle(c);
        } else {
            e.schedule(c, e.now + Engine.COMMIT_WAIT_FACTOR * ms.handoff());
        }
        counters.inc(Counter.HANDOFFS_ACCEPTED);
        if (LOG.isDebugEnabled()) {
            LOG.debug("handoff {} from {}: taken, our kernel answered", Long.toHexString(c.connId), c.peer);
        }
        control.handoffAck(c.peer, c.connId, mine, cfg.shadows().forwardPort(ConnKeys.local(c.key)));
    }

    /**
     * The loop writes the control messages of a round before it calls {@link #controlSent}: from
     * now on an eagerly committed request waits for them, so our handoff ack leaves before our
     * server can answer. On a new connection the answer otherwise often reaches the client, and the
     * client's ACK and FIN the entry, before the ack does: the entry then holds them, forwards them
     * itself and hands the connection down late (3 ms, {@link KernelPath#HAND_DOWN_DELAY_MILLIS}).
     */
    void injectAfterControl() {
        injectAfterControl = true;
    }

    /** Queues {@code c}'s request for {@link #controlSent}; false if it cannot wait (inject now). */
    private boolean injectLater(Conn c) {
        if (!injectAfterControl || waitingCount == MAX_WAITING) return false;
        waiting[waitingCount] = c.slot;
        waitingGeneration[waitingCount++] = c.generation;
        return true;
    }

    /**
     * The round's control messages are written: injects the requests that waited for them, in the
     * order their SYN/ACKs came, and then hands their client's flows down. Nothing else of theirs
     * can have reached our kernel meanwhile: what the entry forwarded came up (held), to be
     * read in a later round. One freed (an abort read in the same round) is skipped.
     */
    void controlSent() {
        for (int i = 0; i < waitingCount; i++) {
            Conn c = e.table.at(waiting[i]);
            if (c.generation != waitingGeneration[i] || !c.requestWaiting) continue;
            c.requestWaiting = false;
            if (c.state == State.SERVING) {
                completeHandshake(c);
                e.kernel.sync(c);
            }
        }
        waitingCount = 0;
    }

    /** {@code SERVING} or {@code CLOSED}: our server's packets, straight to the client as the entry's (claim 9). */
    void served(Conn c, MemorySegment p, int len) {
        if (tcp.syn()) {
            // our kernel retransmitted its SYN/ACK: the ACK was lost, and what followed (unless
            // the request waits to be injected at the end of this round)
            if (tcp.ack() && !c.requestWaiting) completeHandshake(c);
            return; // nothing of the handshake ever reaches the client
        }
        if (!c.committed) {
            // Until the entry commits, it may still serve the client itself: nothing of ours may
            // reach the client (our server has no request yet, so these are ACKs at most).
            counters.drop(Drop.BEFORE_COMMIT);
            return;
        }
        c.lastSeen = e.now;
        boolean rst = tcp.rst();
        boolean fin = tcp.fin();
        int payload = tcp.payloadLength();
        int end = tcp.sequenceNumber() + tcp.sequenceLength();
        if (Seq.after(end, c.serverNext)) c.serverNext = end;
        c.translation.toClient(ip, tcp, c.peerAddress);
        counters.inc(Counter.PACKETS_SENT_FOR_OTHERS);
        counters.add(Counter.BYTES_SENT_FOR_OTHERS, payload);
        io.toWire(p, len, Phase.SERVED);
        if (c.state != State.SERVING) return;
        if (rst) {
            closed(c, ms.linger());
        } else if (fin) {
            c.finFromServer = true;
            if (c.finFromClient) closed(c, ms.timeWait());
            else e.closing(c);
        }
    }

    /**
     * {@code SERVING}: a FIN or RST the kernel's data path passed on the handed-in
     * flows ({@link FastPath#drainCloses}), as {@link #served} and {@link #forwarded} take one that
     * comes up: the kernel rewrites on through the close and TIME-WAIT, so none of its packets
     * need cross user space.
     */
    void closedInKernel(Conn c, int tcpFlags, boolean fromKernel) {
        if ((tcpFlags & TcpHeader.RST) != 0) {
            closed(c, ms.linger());
            return;
        }
        if ((tcpFlags & TcpHeader.FIN) == 0) return;
        if (fromKernel) c.finFromServer = true;
        else c.finFromClient = true;
        if (c.finFromClient && c.finFromServer) {
            closed(c, ms.timeWait());
        } else {
            e.kernel.refresh(c); // how far the client got: owesClient, for how long silence may last
            e.closing(c);
        }
    }

    /** Both FINs or a RST: the entry hears of the close (claims 10, 37); we rewrite on through TIME-WAIT. */
    private void closed(Conn c, long lingerMillis) {
        if (c.state != State.SERVING) return;
        e.state(c, State.CLOSED);
        e.schedule(c, e.now + lingerMillis);
        counters.inc(Counter.TERMINATIONS);
        control.terminate(c.peer, c.connId);
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
        MemorySegment.copy(c.ack, 0, io.tx, ValueLayout.JAVA_BYTE, 0, c.ackLength);
        ip.wrap(io.tx, 0, c.ackLength);
        int ipHl = ip.headerLength();
        tcp.wrap(io.tx, ipHl, c.ackLength - ipHl);
        tcp.validate();
        c.translation.heldAckToChosen(ip, tcp, shadow(c));
        io.toKernel(io.tx, c.ackLength);
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
        Ipv4Header auxIp = io.auxIp;
        TcpHeader auxTcp = io.auxTcp;
        MemorySegment a = MemorySegment.ofArray(c.ack);
        auxIp.wrap(a, 0, c.ackLength);
        auxTcp.wrap(a, auxIp.headerLength(), c.ackLength - auxIp.headerLength());
        auxTcp.validate();
        Translation t = c.translation;
        int ack = t.toChosenSpace(auxTcp.acknowledgmentNumber());
        boolean ts = t.timestamps && auxTcp.hasTimestamps();
        int tsVal = ts ? auxTcp.tsVal() : 0;
        int tsEcr = ts ? t.tsEcrToChosen(auxTcp.tsEcr()) : 0;
        int mss =
                c.local.mss() > 0 ? Math.min(c.local.mss(), 1460) - (ts ? TcpPacketWriter.TIMESTAMPS_OPTION : 0) : 536;
        for (int off = 0; off < r.length; off += mss) {
            int n = Math.min(mss, r.length - off);
            int flags = TcpHeader.ACK | (off + n == r.length ? TcpHeader.PSH : 0);
            int hl = io.writer.headers(
                    io.tx,
                    auxIp.sourceAddress(),
                    shadow(c),
                    auxTcp.sourcePort(),
                    cfg.servicePort(),
                    c.clientIsn + 1 + off,
                    ack,
                    flags,
                    auxTcp.window(),
                    ts,
                    tsVal,
                    tsEcr,
                    n);
            MemorySegment.copy(r, off, io.tx, ValueLayout.JAVA_BYTE, hl, n);
            io.toKernel(io.tx, io.writer.finish(io.tx));
        }
        return true;
    }

    // ------------------------------------------------------------------------------------------
    // The entry's messages (control channel).

    /** A handoff request from entry node {@code peer} (claims 3, 13, 34). */
    void onHandoffRequest(Peer entryNode, long connId, HandshakeInit entry, byte[] syn, byte[] ack) {
        String peer = entryNode.name();
        if (!validHandshakePacket(syn, true) || !validHandshakePacket(ack, false) || entryNode.index() == 0) {
            counters.drop(Drop.BAD_HANDOFF);
            control.handoffRefuse(peer, connId, Refusal.MALFORMED);
            return;
        }
        MemorySegment s = MemorySegment.ofArray(syn);
        ip.wrap(s, 0, syn.length);
        tcp.wrap(s, ip.headerLength(), syn.length - ip.headerLength());
        long key = ConnKeys.key(ip.sourceAddress(), tcp.sourcePort(), entryNode.index());
        // A node hands off only connections made to its own address, under the id that names them.
        if (ConnKeys.keyOf(connId, entryNode.index()) != key || ip.destinationAddress() != entryNode.address()) {
            counters.drop(Drop.BAD_HANDOFF);
            control.handoffRefuse(peer, connId, Refusal.MALFORMED);
            return;
        }
        Conn old = e.table.get(key);
        if (old != null) {
            if (old.connId == connId && peer.equals(old.peer) && old.clientIsn == tcp.sequenceNumber()) {
                counters.drop(Drop.DUPLICATE_HANDOFF); // the same request twice: the first one stands
                return;
            }
            // The same id with another SYN is a new connection: a connection id is only the client's
            // address and port and a 16-bit generation of the entry's table slot, which repeats when a
            // busy client wraps its ports while the earlier connection sits in our TIME-WAIT (seen
            // with wrk: one handoff in a few hundred waited out the handoff timeout and fell back).
            if (old.state != State.CLOSED || old.clientIsn == tcp.sequenceNumber()) {
                counters.inc(Counter.HANDOFFS_REFUSED);
                control.handoffRefuse(peer, connId, Refusal.DUPLICATE);
                return;
            }
            // The client reuses the port of a connection that closed here and sits in TIME-WAIT:
            // forget ours; the kernel accepts the new SYN on that TIME-WAIT socket or answers it.
            e.free(old);
        }
        Conn c = e.table.allocate(key);
        if (c == null) {
            counters.inc(Counter.HANDOFFS_REFUSED);
            control.handoffRefuse(peer, connId, Refusal.TABLE_FULL);
            return;
        }
        e.state(c, State.INJECTED);
        c.peer = peer;
        c.peerIncarnation = e.peers.incarnation(peer);
        c.connId = connId;
        c.remote = entry;
        c.peerAddress = ip.destinationAddress();
        c.clientIsn = tcp.sequenceNumber();
        c.clientNext = c.clientIsn + 1;
        System.arraycopy(syn, 0, c.syn, 0, syn.length);
        c.synLength = syn.length;
        System.arraycopy(ack, 0, c.ack, 0, ack.length);
        c.ackLength = ack.length;
        e.schedule(c, e.now + ms.handoff());
        // Claim 3: "changing a first destination IP address of said SYN packet to a second IP address"
        // of this node: the entry's shadow address here, so the 4-tuple is as unique as the client's.
        MemorySegment.copy(syn, 0, io.tx, ValueLayout.JAVA_BYTE, 0, syn.length);
        ip.wrap(io.tx, 0, syn.length);
        tcp.wrap(io.tx, ip.headerLength(), syn.length - ip.headerLength());
        int shadow = cfg.shadows().address(entryNode.index());
        int dst = ip.destinationAddress();
        ip.destinationAddressWithChecksumUpdate(shadow);
        tcp.pseudoHeaderAddressChanged(dst, shadow);
        io.toKernel(io.tx, syn.length);
    }

    private boolean validHandshakePacket(byte[] b, boolean syn) {
        if (b == null || b.length < 40 || b.length > Conn.MAX_HANDSHAKE_PACKET) return false;
        Ipv4Header auxIp = io.auxIp;
        TcpHeader auxTcp = io.auxTcp;
        MemorySegment s = MemorySegment.ofArray(b);
        if (!auxIp.wrap(s, 0, b.length).isValid()
                || auxIp.protocol() != Ipv4Header.PROTOCOL_TCP
                || auxIp.totalLength() != b.length
                || auxIp.isFragment()) {
            return false;
        }
        int ipHl = auxIp.headerLength();
        auxTcp.wrap(s, ipHl, b.length - ipHl);
        if (auxTcp.validate() != TcpHeader.OK
                || auxTcp.payloadLength() != 0
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

    /**
     * The entry committed (claims 7, 17): it will never serve this connection itself, so our server
     * may now see the request and answer the client.
     */
    void onCommit(Peer entryNode, long connId, byte[] request) {
        Conn c = e.table.byConnId(connId, entryNode.index(), entryNode.name());
        if (c == null || (c.state != State.SERVING && c.state != State.INJECTED) || c.committed) {
            counters.drop(Drop.UNKNOWN_CONNECTION);
            return;
        }
        c.committed = true;
        c.request = request;
        int end = c.clientIsn + 1 + request.length;
        if (Seq.after(end, c.clientNext)) c.clientNext = end;
        if (c.state == State.INJECTED) return; // an eager commit: injected once our kernel took the ACK
        injectRequest(c);
        e.scheduleIdle(c);
        e.kernel.sync(c);
    }

    /**
     * The entry node gives the connection up, or (after an eager commit that got no answer) asks
     * whether we serve it. If our server has not seen the request, we let go and say so (a refusal:
     * the entry may serve it). If it has, the client may have bytes from us: the first abort is
     * answered with our ack again, so the entry forwards; a second one means the entry reset the
     * client, and so do we.
     */
    void onAbort(Peer entryNode, long connId) {
        Conn c = e.table.byConnId(connId, entryNode.index(), entryNode.name());
        if (c == null || c.state.role != State.Role.CHOSEN) {
            counters.drop(Drop.UNKNOWN_CONNECTION);
            control.handoffRefuse(entryNode.name(), connId, Refusal.ABORTED);
            return;
        }
        e.kernel.refresh(c);
        boolean served = c.committed && c.state != State.INJECTED;
        if (served && !c.queried) {
            c.queried = true;
            control.handoffAck(c.peer, c.connId, c.local, cfg.shadows().forwardPort(ConnKeys.local(c.key)));
            return;
        }
        if (c.state != State.CLOSED) e.injectReset(c, c.clientNext);
        if (served && c.state != State.CLOSED) resetClient(c);
        if (!served) control.handoffRefuse(entryNode.name(), connId, Refusal.ABORTED);
        e.free(c);
    }

    /**
     * {@code SERVING} or {@code INJECTED}, after the entry's link went down: kept if the entry is
     * back, the same process ({@code alive}), and it committed; else reset both ways (the client
     * gets a RST with the entry's address, the kernel one from the client) and forgotten.
     */
    void settleOrphan(Conn c, boolean alive) {
        if (c.state == State.SERVING && alive && c.committed) {
            e.keepOrphan(c);
            return;
        }
        counters.inc(Counter.ORPHANS_RESET);
        if (c.state == State.INJECTED) {
            e.injectReset(c, c.clientIsn + 1);
        } else {
            e.injectReset(c, c.clientNext);
            if (c.committed) resetClient(c);
        }
        e.free(c);
    }

    // ------------------------------------------------------------------------------------------
    // Timers.

    /** {@code INJECTED}: our kernel never answered the SYN. */
    void synAckTimedOut(Conn c) {
        refuse(c, Refusal.NO_SYNACK);
    }

    /** {@code SERVING}: no commit in time, or quiet for a while. */
    void servingTimer(Conn c) {
        if (!c.committed) { // the entry never committed: it serves the client, or nobody does
            counters.drop(Drop.NEVER_COMMITTED);
            e.injectReset(c, c.clientNext);
            e.free(c);
        } else {
            e.freeIfQuiet(c);
        }
    }

    /**
     * RSTs to the client with the entry's address. A RST is taken only at exactly the client's
     * RCV.NXT, and we no longer see its ACKs: one at the end of what we sent (it got everything, the
     * usual case), one at its last acknowledgment we saw (what we sent since was lost, or refused by
     * a full receive buffer: a zero window takes nothing past RCV.NXT). Between the two, the client
     * answers with a challenge ACK to the entry, whose kernel or BTCP resets it.
     */
    private void resetClient(Conn c) {
        sendReset(c, c.serverNext);
        if (c.clientAck != c.serverNext) sendReset(c, c.clientAck);
    }

    private void sendReset(Conn c, int seqInOurSpace) {
        int n = io.writer.headers(
                io.tx,
                c.peerAddress,
                ConnKeys.address(c.key),
                cfg.servicePort(),
                ConnKeys.port(c.key),
                c.translation.toEntrySpace(seqInOurSpace),
                0,
                TcpHeader.RST,
                0,
                false,
                0,
                0,
                0);
        io.writer.finish(io.tx);
        counters.inc(Counter.CLIENT_RESETS_SENT);
        io.toWire(io.tx, n, Phase.SERVED);
    }

    private void refuse(Conn c, Refusal reason) {
        counters.inc(Counter.HANDOFFS_REFUSED);
        control.handoffRefuse(c.peer, c.connId, reason);
        e.injectReset(c, c.clientIsn + 1);
        e.free(c);
    }
}
