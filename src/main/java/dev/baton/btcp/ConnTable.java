package dev.baton.btcp;

/**
 * The connection table: preallocated {@link Conn} slots, found by key ({@link ConnKeys}), each
 * with at most one timer, and the counts the node reports (its load, its open connections).
 * Bounded: at most {@code capacity} connections, at most half of them half-open.
 *
 * <p>Half-open ({@code SYN_RCVD}) entries are kept oldest first, in a list threaded through two
 * arrays indexed by slot (-1 ends it). A SYN flood with spoofed sources never completes a
 * handshake, so without a bound it would fill the table for the SYN timeout and every real client
 * after it would be served untracked, without handoff. A new SYN beyond the bound evicts the
 * oldest (as the BSD SYN cache drops its oldest entry): a real client's handshake takes one round
 * trip, so it keeps its entry unless that many SYNs arrive within its round trip. An evicted
 * connection whose ACK still comes is passed to the kernel untracked, which serves it. The other
 * half of the table stays free for connections past the handshake and for ones handed in.
 */
final class ConnTable {
    private final Conn[] conns;
    private final int[] freeSlots;
    /** Where each slot is in {@link #freeSlots}, or -1 while it is in use (for {@link #claim}). */
    private final int[] freeAt;

    private int freeTop;
    private final LongIntMap byKey;
    final TimerWheel timers;

    private final int maxHalfOpen;
    private final int[] halfOpenNext;
    private final int[] halfOpenPrev;
    private int halfOpenHead = -1;
    private int halfOpenTail = -1;
    private int halfOpen;

    /** Written by the loop on state changes (not per packet), read by the heartbeat thread. */
    private volatile int served;

    private volatile int open;

    ConnTable(int capacity, long nowMillis) {
        conns = new Conn[capacity];
        freeSlots = new int[capacity];
        freeAt = new int[capacity];
        for (int i = 0; i < capacity; i++) {
            conns[i] = new Conn(i);
            conns[i].reset();
            freeSlots[i] = capacity - 1 - i;
            freeAt[capacity - 1 - i] = i;
        }
        freeTop = capacity;
        byKey = new LongIntMap(capacity);
        timers = new TimerWheel(capacity, 1024, 10, nowMillis);
        maxHalfOpen = Math.max(1, capacity / 2);
        halfOpenNext = new int[capacity];
        halfOpenPrev = new int[capacity];
    }

    int capacity() {
        return conns.length;
    }

    Conn at(int slot) {
        return conns[slot];
    }

    /** The connection under {@code key}, or null. */
    Conn get(long key) {
        int slot = byKey.get(key);
        return slot == LongIntMap.MISSING ? null : conns[slot];
    }

    /** The connection handed off (local 0) or in (local: the entry's index) under {@code connId} with {@code peer}. */
    Conn byConnId(long connId, int local, String peer) {
        Conn c = local < 0 || local > 255 ? null : get(ConnKeys.keyOf(connId, local));
        return c != null && c.connId == connId && peer.equals(c.peer) ? c : null;
    }

    /** A free slot under {@code key} (in state FREE, a new generation), or null if the table is full. */
    Conn allocate(long key) {
        if (freeTop == 0) return null;
        return take(conns[freeSlots[--freeTop]], key);
    }

    /**
     * Slot {@code slot} under {@code key}, as {@link #allocate} gives one, or null if it is in use
     * or out of the table: a connection taken over keeps the slot its record was kept for.
     */
    Conn claim(long key, int slot) {
        if (slot < 0 || slot >= conns.length || freeAt[slot] < 0) return null;
        int at = freeAt[slot], last = freeSlots[--freeTop];
        freeSlots[at] = last;
        freeAt[last] = at;
        return take(conns[slot], key);
    }

    private Conn take(Conn c, long key) {
        freeAt[c.slot] = -1;
        c.key = key;
        c.generation = (c.generation + 1) & 0xffff;
        byKey.put(key, c.slot);
        return c;
    }

    /** Returns {@code c}'s slot (already in state FREE): its timer is cancelled, its fields cleared. */
    void release(Conn c) {
        timers.cancel(c.slot);
        byKey.remove(c.key);
        int gen = c.generation;
        c.reset();
        c.generation = gen;
        freeAt[c.slot] = freeTop;
        freeSlots[freeTop++] = c.slot;
    }

    /** Sets {@code c}'s state, keeping the counts and the half-open list. */
    @SuppressWarnings("NonAtomicVolatileUpdate") // one writer, the packet loop; volatile for readers
    void enter(Conn c, State s) {
        if (c.state.servedHere() != s.servedHere()) served += s.servedHere() ? 1 : -1;
        if (c.state.carriesData() != s.carriesData()) open += s.carriesData() ? 1 : -1;
        if (c.state == State.SYN_RCVD && s != State.SYN_RCVD) unlinkHalfOpen(c.slot);
        else if (c.state != State.SYN_RCVD && s == State.SYN_RCVD) linkHalfOpen(c.slot);
        c.state = s;
    }

    void schedule(Conn c, long atMillis) {
        timers.schedule(c.slot, atMillis);
    }

    /** The oldest half-open connection if the half-open bound is reached, else null. */
    Conn halfOpenToEvict() {
        return halfOpen >= maxHalfOpen ? conns[halfOpenHead] : null;
    }

    int size() {
        return byKey.size();
    }

    int halfOpen() {
        return halfOpen;
    }

    /** Connections this node's own server serves. Any thread. */
    int served() {
        return served;
    }

    /** Connections that still carry data ({@link State#carriesData}). Any thread. */
    int open() {
        return open;
    }

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
}
