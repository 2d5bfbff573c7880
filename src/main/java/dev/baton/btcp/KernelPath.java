package dev.baton.btcp;

import dev.baton.wire.Seq;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Objects;

/**
 * The engine's side of the kernel's data path ({@link FastPath}): it carries a connection's plain
 * segments while the connection is steady. Here the engine says what the kernel should know of each
 * connection as its state changes ({@link #sync}), counts what the kernel sent up, reads back what the
 * kernel saw ({@link #refresh}), and keeps the records a restarted process takes over
 * ({@link #remember}). Written a few times per connection, never per segment the kernel carries.
 */
@SuppressWarnings("ReferenceEquality") // FastPath.NONE is a sentinel: identity is the meaning
final class KernelPath {
    /**
     * How long a handed-off connection's flow stays with the engine after the entry forwarded what it
     * held: those packets' TSvals are as old as the handoff, and one overtaken by a newer packet on the
     * kernel's path (another CPU's queue at the next hop) would fail the chosen node's PAWS check
     * (RFC 7323 section 5): two timestamp ticks of Linux (1 ms each), and one for the clock's grain.
     * An entry that forwarded nothing it held hands down at once ({@code EntryRole.onHandoffAck}):
     * what still comes up is forwarded before the kernel's path takes a later packet (the counts),
     * and both leave hashed alike (bpf_set_hash_invalid), so the next hop queues them in order.
     */
    static final long HAND_DOWN_DELAY_MILLIS = 3;

    private final Engine e;
    private FastPath fast = FastPath.NONE;
    private final FastPath.Seen seen = new FastPath.Seen();
    /** Connections waiting for {@link #HAND_DOWN_DELAY_MILLIS}, oldest first (a ring of slots). */
    private final int[] waitingHandDowns;

    private int waitingHead;
    private int waitingCount;
    /** A connection's record for the kernel to keep; written a few times per handoff. */
    private final MemorySegment record = Arena.ofAuto().allocate(ConnRecord.SIZE, 8);

    KernelPath(Engine e) {
        this.e = e;
        waitingHandDowns = new int[e.cfg.limits().maxConnections()];
    }

    void attach(FastPath fastPath) {
        fast = Objects.requireNonNull(fastPath);
    }

    FastPath fast() {
        return fast;
    }

    boolean present() {
        return fast != FastPath.NONE;
    }

    /**
     * What the kernel's data path should know of a connection in its state: from its first packet
     * its flows, held (everything comes up to us, counted); a local one, and a handed-off one at the
     * entry (through its linger), handed down for the rest of their life; a handed-in one from the
     * commit through its TIME-WAIT (the client's flow once the request is in our kernel), its closes
     * told by the kernel ({@link FastPath#drainCloses}: the termination); nothing once it is over.
     */
    private static Offload wanted(Conn c) {
        return switch (c.state) {
            case SYN_RCVD, HOLDING, PENDING -> Offload.HELD;
            case LOCAL -> Offload.LOCAL;
            case FORWARDING -> c.handDownAt != 0 ? Offload.HELD : Offload.TO_CHOSEN;
            case LINGER -> c.handDownAt != 0 ? Offload.HELD : Offload.LINGERING;
            case INJECTED -> Offload.HELD_HANDED_IN;
            case SERVING ->
                !c.committed
                        ? Offload.HELD_HANDED_IN
                        : c.requestWaiting ? Offload.HANDED_IN_TO_CLIENT : Offload.HANDED_IN;
            case CLOSED -> c.offloaded == Offload.HANDED_IN ? Offload.HANDED_IN : Offload.NONE; // through TIME-WAIT
            case FREE, RESET -> Offload.NONE;
        };
    }

    /** Tells the kernel's data path what it should know of {@code c} now (see {@link #wanted}). */
    void sync(Conn c) {
        remember(c);
        Offload want = wanted(c);
        if (want == c.offloaded || fast == FastPath.NONE || c.offloaded == Offload.REFUSED) return;
        int client = ConnKeys.address(c.key), port = ConnKeys.port(c.key);
        int entry = ConnKeys.local(c.key);
        boolean sameFlows =
                c.offloaded != Offload.NONE && want != Offload.NONE && c.offloaded.entrySide() == want.entrySide();
        if (c.offloaded != Offload.NONE && !sameFlows) {
            if (c.state != State.FREE) refresh(c); // a connection being forgotten needs none of it
            // a connection at the entry held only since its SYN has nothing in the flows map
            if (c.offloaded.handedDown() && c.offloaded.entrySide()) fast.withdraw(client, port);
            else if (!c.offloaded.entrySide()) {
                fast.withdrawHandedIn(
                        client,
                        port,
                        e.cfg.shadows().forwardPort(entry),
                        e.cfg.shadows().address(entry));
            }
            c.offloaded = Offload.NONE;
        }
        if (want == Offload.NONE) return;
        boolean taken = switch (want) {
            case NONE, REFUSED -> throw new AssertionError(want); // never wanted
            case HELD -> fast.hold(client, port);
            case HELD_HANDED_IN ->
                fast.holdHandedIn(
                        client,
                        port,
                        e.cfg.shadows().forwardPort(entry),
                        e.cfg.shadows().address(entry));
            case LOCAL ->
                fast.local(client, port, c.generation, new FastPath.Consumed(c.readFromNetwork, c.readFromKernel));
            case TO_CHOSEN ->
                fast.toChosen(
                        client,
                        port,
                        c.peerAddress,
                        c.forwardPort,
                        c.translation.forKernel(),
                        new FastPath.Consumed(c.readFromNetwork, c.readFromKernel),
                        c.generation,
                        false);
            case LINGERING -> {
                // The kernel may take the next SYN on these ports from now on: the handshake the
                // engine adopted this connection with goes first, not at its end (it may be the new one's).
                if (c.adopted) {
                    fast.forgetHandshake(client, port);
                    c.adopted = false;
                }
                yield fast.toChosen(
                        client,
                        port,
                        c.peerAddress,
                        c.forwardPort,
                        c.translation.forKernel(),
                        new FastPath.Consumed(c.readFromNetwork, c.readFromKernel),
                        c.generation,
                        true);
            }
            case HANDED_IN_TO_CLIENT ->
                fast.handedInToClient(
                        client,
                        port,
                        e.cfg.shadows().address(entry),
                        c.peerAddress,
                        c.translation.forKernel(),
                        new FastPath.Consumed(0, c.readFromKernel),
                        c.generation);
            case HANDED_IN ->
                c.offloaded == Offload.HANDED_IN_TO_CLIENT
                        ? fast.handedInFromEntry(
                                client,
                                port,
                                e.cfg.shadows().forwardPort(entry),
                                e.cfg.shadows().address(entry),
                                c.translation.forKernel(),
                                new FastPath.Consumed(c.readFromNetwork, 0),
                                c.generation)
                        : fast.handedIn(
                                client,
                                port,
                                e.cfg.shadows().forwardPort(entry),
                                e.cfg.shadows().address(entry),
                                c.peerAddress,
                                c.translation.forKernel(),
                                new FastPath.Consumed(c.readFromNetwork, 0),
                                new FastPath.Consumed(0, c.readFromKernel),
                                c.generation);
        };
        if (want == Offload.HELD || want == Offload.HELD_HANDED_IN) {
            c.readFromNetwork = 0; // the kernel counts from now on
            c.readFromKernel = 0;
        }
        if (taken) {
            if (want.handedDown() && !(sameFlows && c.offloaded.handedDown())) e.counters.inc(Counter.FAST_PATH_FLOWS);
            c.offloaded = want;
        } else if (c.offloaded == Offload.NONE || !sameFlows) {
            c.offloaded = Offload.REFUSED; // the kernel could not take it: its packets stay with us
            e.counters.inc(Counter.FAST_PATH_FULL);
        } else {
            e.counters.inc(Counter.FAST_PATH_FULL); // the held flow stays: its packets keep coming up
        }
    }

    /** Hands {@code c} down only after {@link #HAND_DOWN_DELAY_MILLIS} (it is held until then). */
    void handDownLater(Conn c) {
        if (fast == FastPath.NONE || waitingCount == waitingHandDowns.length) return;
        c.handDownAt = e.now + HAND_DOWN_DELAY_MILLIS;
        waitingHandDowns[(waitingHead + waitingCount++) % waitingHandDowns.length] = c.slot;
    }

    /** When {@link #tick} next has work: the first waiting hand-down's time (0: now), or {@link TimerWheel#NONE}. */
    long nextHandDownMillis() {
        return waitingCount == 0 ? TimerWheel.NONE : e.table.at(waitingHandDowns[waitingHead]).handDownAt;
    }

    /** Hands down the connections whose delay is over. */
    void tick() {
        while (waitingCount > 0) {
            Conn c = e.table.at(waitingHandDowns[waitingHead]);
            if (c.handDownAt > e.now) break;
            waitingHead = (waitingHead + 1) % waitingHandDowns.length;
            waitingCount--;
            if (c.handDownAt == 0) continue; // freed, or handed down, meanwhile
            c.handDownAt = 0;
            sync(c);
        }
    }

    /**
     * A packet of {@code c} that the kernel sent up and counted: one more read. {@code fromNetwork}:
     * it came from the network side.
     */
    void readOne(Conn c, boolean fromNetwork) {
        if (!c.offloaded.counted()) return;
        if (fromNetwork) c.readFromNetwork++;
        else c.readFromKernel++;
    }

    /**
     * After a packet of a handed-down connection came up and was handled: the kernel keeps sending
     * the flow's packets up until it hears that the engine has read all it sent. {@code key} and
     * {@code generation}: {@code c}'s before the packet (its slot may hold another connection now).
     */
    void reportRead(Conn c, long key, int generation, boolean fromNetwork) {
        if (c.key != key || c.generation != generation || !c.offloaded.handedDown()) return;
        int client = ConnKeys.address(c.key), port = ConnKeys.port(c.key);
        if (c.offloaded.entrySide()) {
            fast.consumed(
                    client,
                    port,
                    e.cfg.address(),
                    e.cfg.servicePort(),
                    new FastPath.Consumed(c.readFromNetwork, c.readFromKernel));
        } else {
            int entry = ConnKeys.local(c.key);
            if (fromNetwork) {
                fast.consumed(
                        client,
                        port,
                        e.cfg.address(),
                        e.cfg.shadows().forwardPort(entry),
                        new FastPath.Consumed(c.readFromNetwork, 0));
            } else {
                fast.consumed(
                        client,
                        port,
                        e.cfg.shadows().address(entry),
                        e.cfg.servicePort(),
                        new FastPath.Consumed(0, c.readFromKernel));
            }
        }
    }

    /**
     * Takes in what the kernel's data path saw of a connection: when it was last heard, how far it
     * got. A flow it carried nothing of (every segment came up: the fault module, catching up) has
     * numbers that mean nothing: zeros, which would look like a sequence number half the space away.
     */
    void refresh(Conn c) {
        if (!c.offloaded.handedDown()) return;
        int client = ConnKeys.address(c.key), port = ConnKeys.port(c.key);
        if (c.offloaded == Offload.HANDED_IN) {
            int entry = ConnKeys.local(c.key);
            if (carried(client, port, e.cfg.address(), e.cfg.shadows().forwardPort(entry), c)) {
                if (Seq.after(seen.ack, c.clientAck)) c.clientAck = seen.ack;
                if (Seq.after(seen.next, c.clientNext)) c.clientNext = seen.next;
            }
            if (carried(client, port, e.cfg.shadows().address(entry), e.cfg.servicePort(), c)) {
                if (Seq.after(seen.next, c.serverNext)) c.serverNext = seen.next;
            }
        } else if (carried(client, port, e.cfg.address(), e.cfg.servicePort(), c)) {
            if ((c.offloaded == Offload.TO_CHOSEN || c.offloaded == Offload.LINGERING)
                    && Seq.after(seen.ack, c.clientAck)) {
                c.clientAck = seen.ack;
            }
        }
    }

    /** Whether the kernel carried a segment of this flow of {@code c} ({@link #seen}), and when it was heard. */
    private boolean carried(int client, int port, int localAddress, int localPort, Conn c) {
        if (!fast.seen(client, port, localAddress, localPort, seen) || seen.lastNanos == 0) return false;
        long at = e.now - Math.max(0, System.nanoTime() - seen.lastNanos) / 1_000_000;
        if (at > c.lastSeen) c.lastSeen = at;
        return true;
    }

    /**
     * Keeps what a shared connection's record must say, or nothing (issue 12: a restart loses no
     * connection): a connection handed off from here (being handed off, forwarding, lingering) or
     * handed in and committed. A local one needs no record (its flow says it all), nor one that is
     * not steady yet.
     */
    void remember(Conn c) {
        if (fast == FastPath.NONE) return;
        boolean shared = switch (c.state) {
            case PENDING, FORWARDING, LINGER -> true;
            case SERVING -> c.committed;
            case FREE, SYN_RCVD, HOLDING, LOCAL, INJECTED, CLOSED, RESET -> false;
        };
        if (shared && ConnRecord.fits(c)) {
            // What moves on its own (acks, sequence numbers) the next process reads from the kernel's
            // progress: a record changes only with the state and the flags.
            int as = ConnRecord.version(c);
            if (c.remembered && c.recordedAs == as) return;
            ConnRecord.write(c, record);
            c.remembered = fast.remember(c.slot, record);
            c.recordedAs = as;
        } else if (c.remembered) {
            fast.forget(c.slot);
            c.remembered = false;
        }
    }
}
