package dev.baton.node;

import dev.baton.btcp.Btcp;
import dev.baton.control.ControlPlane;
import dev.baton.fault.FaultInjector;
import dev.baton.fault.FaultRule.Direction;
import dev.baton.sys.EventFd;
import dev.baton.sys.Poller;
import dev.baton.sys.SysException;
import dev.baton.sys.Tun;
import dev.baton.wire.VirtioNetHeader;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one thread that owns a node's {@link Btcp}: it waits on both TUN devices, the control links'
 * sockets and an eventfd, reads packets in batches and hands them to the BTCP, runs work other
 * threads queued for it (admin commands), advances the BTCP's timers, and reads and writes the
 * control links ({@link ControlPlane#serviceLinks}), so handoff messages reach the BTCP with no
 * thread in between. Agrona's duty-cycle model: nothing here blocks except
 * {@code poll}, and nothing allocates per packet.
 *
 * <p>With TUNs that carry a virtio-net header, a packet is read into one frame buffer behind its
 * header, and the BTCP sees the packet alone. What the BTCP writes out is either that very packet,
 * rewritten in place (it leaves with the header it came with: a super-packet stays one, a partial
 * checksum stays partial), or a packet of its own, which always has a full checksum and leaves with a
 * zeroed header. A partial checksum is finished in software only where a packet must stand alone:
 * when the fault module keeps a copy, or when one arrives from the network side.
 */
final class PacketLoop implements Runnable, Btcp.Output {
    private static final Logger LOG = LoggerFactory.getLogger(PacketLoop.class);
    private static final int BATCH = 64;
    /**
     * A turn's wait while the fault module holds packets, and the longest a close the kernel passed
     * may wait untold (the programs ask for no wake-up while the loop turns this often).
     */
    private static final int POLL_MILLIS = 10;
    /**
     * The longest wait when nothing is due: the loop sleeps until its next deadline (a timer, a
     * hand-down, a heartbeat) or until a descriptor is ready, so an idle node does not turn 100
     * times a second. A bound, not a tick.
     */
    private static final int MAX_SLEEP_MILLIS = 1_000;

    private static final int INBOX = 65_536;
    /** The poller's first slot for control links: after the two TUNs, the eventfd and the closes. */
    private static final int LINKS = 4;

    private final Tun wire;
    private final Tun kernel;
    /** Both TUNs carry a virtio-net header; else neither does. */
    private final boolean vnet;

    private final int headerLength;
    /** The frame a TUN read fills: [virtio-net header] packet. */
    private final MemorySegment rxFrame = Arena.ofAuto().allocate(VirtioNetHeader.LENGTH + 65536, 16);
    /** The packet in {@link #rxFrame}, as the BTCP sees it. */
    private final MemorySegment rxPacket;

    private final VirtioNetHeader rxHeader = new VirtioNetHeader();
    /** A packet of the BTCP's own or a held one, behind a zeroed header, for writing. */
    private final MemorySegment txFrame = Arena.ofAuto().allocate(VirtioNetHeader.LENGTH + 65536, 16);

    private final AtomicLong badFrames = new AtomicLong();
    private final EventFd wakeup;
    private final ArrayBlockingQueue<Runnable> inbox = new ArrayBlockingQueue<>(INBOX);
    private final AtomicLong inboxDropped = new AtomicLong();
    private final AtomicLong writeFailures = new AtomicLong();
    private final AtomicLong internalErrors = new AtomicLong();
    private Btcp btcp;
    private ControlPlane control;
    /** The fault-injection module, ahead of the BTCP on the network side; owned by this thread. */
    private final FaultInjector faults = new FaultInjector();

    private final FaultInjector.Sink release = this::release;
    private long now;
    private volatile boolean running = true;
    private volatile Throwable failure;

    PacketLoop(Tun wire, Tun kernel) throws SysException {
        if (wire.vnetHeader() != kernel.vnetHeader()) {
            throw new IllegalArgumentException("both TUNs must carry a virtio-net header, or neither");
        }
        this.wire = wire;
        this.kernel = kernel;
        this.vnet = wire.vnetHeader();
        this.headerLength = vnet ? VirtioNetHeader.LENGTH : 0;
        this.rxPacket = rxFrame.asSlice(headerLength);
        rxHeader.wrap(rxFrame, 0);
        this.wakeup = new EventFd();
    }

    void attach(Btcp btcp) {
        this.btcp = btcp;
    }

    /**
     * Makes this loop the driver of {@code plane}'s links (before the loop starts): their sockets
     * are polled with the TUNs, and their messages are read and written on this thread.
     */
    void drive(ControlPlane plane) {
        this.control = plane;
    }

    /** Wakes the loop out of its wait; safe from any thread. */
    void wake() {
        wakeup.signal();
    }

    /** Runs {@code work} on the loop thread soon; false (counted) if the inbox is full. */
    boolean submit(Runnable work) {
        if (!inbox.offer(work)) {
            inboxDropped.incrementAndGet();
            return false;
        }
        wakeup.signal();
        return true;
    }

    /** Runs {@code work} on the loop thread and waits for its result, at most {@code timeoutMillis}. */
    <T> T call(Callable<T> work, long timeoutMillis) throws Exception {
        var task = new FutureTask<>(work);
        if (!submit(task)) throw new IllegalStateException("the packet loop's inbox is full");
        try {
            return task.get(timeoutMillis, TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            throw e.getCause() instanceof Exception x ? x : e;
        }
    }

    long inboxDropped() {
        return inboxDropped.get();
    }

    long writeFailures() {
        return writeFailures.get();
    }

    /** Reads too short for their virtio-net header, or super-packets from the network side. */
    long badFrames() {
        return badFrames.get();
    }

    Throwable failure() {
        return failure;
    }

    void stop() {
        running = false;
        wakeup.signal();
    }

    @Override
    public void run() {
        now = System.currentTimeMillis();
        try {
            Poller poller = new Poller(LINKS + (control == null ? 0 : control.maxLinks()));
            poller.watch(0, wire.fd(), false);
            poller.watch(1, kernel.fd(), false);
            poller.watch(2, wakeup.fd(), false);
            int closesFd = btcp.closesFd();
            poller.watch(3, closesFd, false); // poll(2) skips a negative descriptor
            if (control != null) btcp.injectAfterControl();
            while (running) {
                int links = control == null ? 0 : control.watchLinks(poller, LINKS);
                int wait = waitMillis();
                // Longer than a turn: the kernel's closes must wake us (FastPath#asleep).
                boolean asleep = wait > POLL_MILLIS && closesFd >= 0;
                if (asleep) btcp.asleep(true);
                poller.await(LINKS + links, wait);
                if (asleep) btcp.asleep(false);
                now = System.currentTimeMillis();
                btcp.clock(now);
                if (poller.ready(2)) wakeup.drain();
                // Before the packets: a close the kernel passed precedes any later SYN on its ports.
                btcp.kernelCloses();
                if (poller.ready(0)) readWire(BATCH);
                if (poller.ready(1)) readKernel(BATCH);
                for (Runnable r; (r = inbox.poll()) != null; ) {
                    try {
                        r.run();
                    } catch (RuntimeException e) {
                        internalError(e);
                    }
                }
                now = System.currentTimeMillis();
                if (faults.active()) faults.releaseDue(now, release);
                btcp.tick(now);
                // Last, so that the control messages of this round leave in it, one write per link.
                if (control != null) {
                    try {
                        control.serviceLinks(poller, LINKS, System.nanoTime());
                    } catch (RuntimeException e) {
                        internalError(e);
                    }
                    try {
                        btcp.controlSent(); // the requests that waited for this round's handoff acks
                    } catch (RuntimeException e) {
                        internalError(e);
                    }
                }
            }
        } catch (Throwable t) {
            failure = t;
            LOG.error("packet loop failed: the node stops", t);
        }
    }

    /**
     * How long the next wait may be: until the engine's or the control links' next deadline, at
     * most {@link #MAX_SLEEP_MILLIS}; a turn while the fault module holds packets for later.
     */
    private int waitMillis() {
        if (faults.active()) return POLL_MILLIS;
        long wait = MAX_SLEEP_MILLIS;
        long due = btcp.nextDeadlineMillis();
        if (due != Long.MAX_VALUE) wait = Math.min(wait, due - System.currentTimeMillis());
        if (control != null) {
            long nowNanos = System.nanoTime();
            long dueNanos = control.nextDeadlineNanos(nowNanos);
            if (dueNanos != Long.MAX_VALUE) wait = Math.min(wait, Math.ceilDiv(dueNanos - nowNanos, 1_000_000L));
        }
        return (int) Math.max(0, wait);
    }

    /** Reads and handles up to {@code max} packets from the network side. */
    private void readWire(int max) throws SysException {
        for (int i = 0; i < max; i++) {
            int n = wire.read(rxFrame);
            if (n == Tun.NOTHING) return;
            if ((n = fromNetwork(n)) < 0) continue;
            try {
                if (faults.active()) fromWireWithFaults(rxPacket, n);
                else btcp.fromWire(rxPacket, n);
            } catch (RuntimeException e) {
                internalError(e);
            }
        }
    }

    /** Reads and handles up to {@code max} packets from the kernel side. */
    private void readKernel(int max) throws SysException {
        for (int i = 0; i < max; i++) {
            int n = kernel.read(rxFrame);
            if (n == Tun.NOTHING) return;
            if ((n = fromOurKernel(n)) < 0) continue;
            try {
                btcp.fromKernel(rxPacket, n, vnet && rxHeader.needsChecksum());
            } catch (RuntimeException e) {
                internalError(e);
            }
        }
    }

    /** A bug must cost one packet, not the node: count it, report it (rate-limited), go on. */
    private void internalError(RuntimeException e) {
        internalErrors.incrementAndGet();
        LOG.error("internal error on the packet path (packet dropped)", e);
    }

    long internalErrors() {
        return internalErrors.get();
    }

    /**
     * A frame of {@code n} bytes read from the network side: the length of its packet, or -1
     * (counted) if there is none to give the BTCP. The wire TUN offers no offloads, so the kernel
     * finishes checksums and cuts super-packets before they reach us; should one come partial all
     * the same, it is finished here, since the BTCP checks the checksums of what it holds.
     */
    private int fromNetwork(int n) {
        if (!vnet) return n;
        int len = n - headerLength;
        if (len <= 0 || rxHeader.isGso()) {
            badFrames.incrementAndGet();
            return -1;
        }
        if (rxHeader.needsChecksum() && !rxHeader.completeChecksum(rxPacket, 0, len)) {
            badFrames.incrementAndGet();
            return -1;
        }
        rxHeader.flags(0); // whoever gets it next checks the checksum we may rewrite
        return len;
    }

    /** A frame of {@code n} bytes read from the kernel side: its packet's length, or -1 (counted). */
    private int fromOurKernel(int n) {
        if (!vnet) return n;
        int len = n - headerLength;
        if (len <= 0) {
            badFrames.incrementAndGet();
            return -1;
        }
        rxHeader.flags(rxHeader.flags() & ~VirtioNetHeader.F_DATA_VALID);
        return len;
    }

    @Override
    public void toKernel(MemorySegment packet, int length) {
        send(kernel, packet, length);
    }

    /**
     * Writes {@code packet} to {@code tun}: the packet just read leaves with the header it came with;
     * any other goes behind a zeroed header (a full checksum, no segmentation).
     */
    @SuppressWarnings({"ReferenceEquality", "MemorySegmentReferenceEquality"}) // is it the read buffer itself?
    private void send(Tun tun, MemorySegment packet, int length) {
        boolean ok;
        if (!vnet) {
            ok = tun.write(packet, length);
        } else if (packet == rxPacket) {
            ok = tun.write(rxFrame, headerLength + length);
        } else if (length <= txFrame.byteSize() - headerLength) {
            MemorySegment.copy(packet, 0, txFrame, headerLength, length);
            ok = tun.write(txFrame, headerLength + length);
        } else {
            ok = false;
        }
        if (!ok) writeFailures.incrementAndGet();
    }

    @Override
    @SuppressWarnings({"ReferenceEquality", "MemorySegmentReferenceEquality"}) // is it the read buffer itself?
    public void toWire(MemorySegment packet, int length) {
        if (faults.active()) {
            boolean holdable = true;
            if (vnet && packet == rxPacket && rxHeader.needsChecksum()) {
                // A held copy leaves later behind a zeroed header: it must stand alone. A
                // super-packet cannot (it is many segments); the fault module never holds it.
                holdable = !rxHeader.isGso() && rxHeader.completeChecksum(rxPacket, 0, length);
            }
            switch (faults.onPacket(Direction.OUT, btcp.emittingPhase(), packet, length, now, holdable)) {
                case DROP, HELD -> {}
                case DUPLICATE -> {
                    write(packet, length);
                    write(packet, length);
                }
                case PASS -> write(packet, length);
            }
        } else {
            write(packet, length);
        }
    }

    private void write(MemorySegment packet, int length) {
        send(wire, packet, length);
    }

    /** The fault module; touch it only on this loop's thread (through {@link #submit}). */
    FaultInjector faults() {
        return faults;
    }

    private void fromWireWithFaults(MemorySegment p, int n) {
        switch (faults.onPacket(Direction.IN, btcp.phaseOfWirePacket(p, n), p, n, now)) {
            case DROP, HELD -> {}
            case DUPLICATE -> {
                btcp.fromWire(p, n);
                btcp.fromWire(faults.duplicateOf(), n);
            }
            case PASS -> btcp.fromWire(p, n);
        }
    }

    /** A packet the fault module held comes due: on its way again, past the module. */
    private void release(Direction d, MemorySegment p, int n) {
        try {
            if (d == Direction.IN) btcp.fromWire(p, n);
            else write(p, n);
        } catch (RuntimeException e) {
            internalError(e);
        }
    }
}
