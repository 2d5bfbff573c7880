package dev.baton.btcp;

import java.lang.foreign.MemorySegment;

/**
 * A restart (issue 12: a restart loses no connection). The kernel's data path outlives the process:
 * its flows carry the connections on while no process runs, and the records the engine kept
 * ({@link KernelPath#remember}) say what the next process needs of each one shared with a peer.
 */
final class Takeover {
    private final Engine e;
    private final EntryRole entry;
    private final Btcp.Config cfg;
    private final TimerMillis ms;

    Takeover(Engine e, EntryRole entry) {
        this.e = e;
        this.entry = entry;
        this.cfg = e.cfg;
        this.ms = e.ms;
    }

    /** See {@link Btcp#takeOver}. */
    int takeOver(boolean withPeers) {
        FastPath fast = e.kernel.fast();
        long before = e.counters.get(Counter.TAKEN_OVER);
        fast.recall(new FastPath.Recalled() {
            @Override
            public void record(int slot, MemorySegment r) {
                if (withPeers) adopt(slot, r);
                else fast.forget(slot);
            }

            @Override
            public void local(int client, int clientPort, int cookie) {
                adoptLocal(client, clientPort, cookie);
            }
        });
        fast.endTakeOver();
        return (int) (e.counters.get(Counter.TAKEN_OVER) - before);
    }

    /**
     * Takes over the connection of {@code r}, kept for table slot {@code slot}: into the same slot,
     * whose record it goes on writing (records come before any other connection takes a slot).
     */
    private void adopt(int slot, MemorySegment r) {
        FastPath fast = e.kernel.fast();
        long key = ConnRecord.key(r);
        State state = ConnRecord.state(r);
        Conn c = (key >>> 56) == 0 && e.table.get(key) == null ? e.table.claim(key, slot) : null;
        if (c == null) { // a slot taken or out of the table, or a record that is no key of ours
            fast.forget(slot);
            return;
        }
        ConnRecord.read(r, c);
        c.remembered = true;
        c.recordedAs = ConnRecord.version(r);
        c.lastSeen = e.now;
        int client = ConnKeys.address(key), port = ConnKeys.port(key), local = ConnKeys.local(key);
        // Its record does not say whether the kernel passed its handshake: forget one at its end.
        c.adopted = local == ConnKeys.SERVICE;
        switch (state) {
            case FORWARDING, LINGER -> {
                FastPath.Consumed read =
                        local == ConnKeys.SERVICE ? fast.resume(client, port, cfg.address(), cfg.servicePort()) : null;
                if (!resumed(c, read, read, Offload.TO_CHOSEN)) return;
                c.generation = fast.cookie(client, port, cfg.address(), cfg.servicePort()) & 0xffff; // its closes' name
                e.state(c, state);
                if (state == State.LINGER) e.schedule(c, e.now + ms.linger());
                else waitForPeer(c);
            }
            case SERVING -> {
                if (local == ConnKeys.SERVICE) {
                    e.free(c);
                    return;
                }
                // handed down, both its flows, through its closes
                FastPath.Consumed in =
                        fast.resume(client, port, cfg.address(), cfg.shadows().forwardPort(local));
                FastPath.Consumed out = fast.resume(client, port, cfg.shadows().address(local), cfg.servicePort());
                if (!resumed(c, in, out, Offload.HANDED_IN)) return;
                // the name its closes are told with, those the kernel passed in the gap included
                c.generation =
                        fast.cookie(client, port, cfg.address(), cfg.shadows().forwardPort(local)) & 0xffff;
                e.state(c, State.SERVING);
                waitForPeer(c);
            }
            case PENDING -> {
                // Its held request died with the process: the handoff cannot go on.
                e.counters.inc(Counter.TAKEOVER_RESETS);
                e.injectReset(c, c.clientIsn + 1);
                entry.resetClient(c, c.local.isn() + 1);
                c.abortWhenUp = true;
                e.abortsWaiting++;
                e.state(c, State.RESET);
                e.schedule(c, e.now + ms.linger());
                return;
            }
            case null -> { // a record of no state of ours
                e.free(c);
                return;
            }
            case FREE, SYN_RCVD, HOLDING, LOCAL, INJECTED, CLOSED, RESET -> { // never recorded
                e.free(c);
                return;
            }
        }
        e.counters.inc(Counter.TAKEN_OVER);
    }

    /**
     * The kernel carries {@code c}'s flows again ({@link FastPath#resume}), counting what it sent the
     * dead process as read: from the network on {@code in}, from the kernel on {@code out}. If it no
     * longer carries one of them there is nothing left to take over: {@code c} is freed.
     */
    private boolean resumed(Conn c, FastPath.Consumed in, FastPath.Consumed out, Offload offload) {
        if (in == null || out == null) {
            e.free(c);
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
        e.schedule(c, e.now + ms.peerGrace());
    }

    private void adoptLocal(int client, int clientPort, int cookie) {
        long key = ConnKeys.key(client, clientPort, ConnKeys.SERVICE);
        Conn c = e.table.get(key) == null ? e.table.allocate(key) : null;
        if (c == null) return; // its flow is removed at the end: its packets pass untracked, to the kernel
        // The name its flow and its close events carry, those the kernel passed in the gap included.
        c.generation = cookie & 0xffff;
        c.adopted = true; // as in adopt(MemorySegment)
        FastPath.Consumed read = e.kernel.fast().resume(client, clientPort, cfg.address(), cfg.servicePort());
        if (!resumed(c, read, read, Offload.LOCAL)) return;
        e.state(c, State.LOCAL);
        e.scheduleIdle(c);
        e.counters.inc(Counter.TAKEN_OVER);
    }
}
