package dev.baton.node;

import dev.baton.btcp.Btcp;
import dev.baton.fault.FaultInjector;
import dev.baton.fault.FaultRule.Direction;
import dev.baton.sys.EventFd;
import dev.baton.sys.Poller;
import dev.baton.sys.SysException;
import dev.baton.sys.Tun;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The one thread that owns a node's {@link Btcp}: it waits on both TUN devices and on an eventfd,
 * reads packets in batches and hands them to the BTCP, runs work other threads queued for it (control
 * messages), and advances the BTCP's timers. Agrona's duty-cycle model: nothing here blocks except
 * {@code poll}, and nothing allocates per packet.
 */
final class PacketLoop implements Runnable, Btcp.Output {
    private static final int BATCH = 64;
    private static final int POLL_MILLIS = 10;
    private static final int INBOX = 65_536;

    private final Tun wire;
    private final Tun kernel;
    private final EventFd wakeup;
    private final ArrayBlockingQueue<Runnable> inbox = new ArrayBlockingQueue<>(INBOX);
    private final AtomicLong inboxDropped = new AtomicLong();
    private final AtomicLong writeFailures = new AtomicLong();
    private final AtomicLong internalErrors = new AtomicLong();
    private Btcp btcp;
    /** The fault-injection module, ahead of the BTCP on the network side; owned by this thread. */
    private final FaultInjector faults = new FaultInjector();
    private final FaultInjector.Sink release = this::release;
    private long now;
    private volatile boolean running = true;
    private volatile Throwable failure;

    PacketLoop(Tun wire, Tun kernel) throws SysException {
        this.wire = wire;
        this.kernel = kernel;
        this.wakeup = new EventFd();
    }

    void attach(Btcp btcp) {
        this.btcp = btcp;
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
    <T> T call(java.util.concurrent.Callable<T> work, long timeoutMillis) throws Exception {
        var task = new java.util.concurrent.FutureTask<>(work);
        if (!submit(task)) throw new IllegalStateException("the packet loop's inbox is full");
        try {
            return task.get(timeoutMillis, java.util.concurrent.TimeUnit.MILLISECONDS);
        } catch (java.util.concurrent.ExecutionException e) {
            throw e.getCause() instanceof Exception x ? x : e;
        }
    }

    long inboxDropped() {
        return inboxDropped.get();
    }

    long writeFailures() {
        return writeFailures.get();
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
        MemorySegment rx = Arena.ofAuto().allocate(65536, 16);
        now = System.currentTimeMillis();
        try {
            Poller poller = new Poller(wire.fd(), kernel.fd(), wakeup.fd());
            while (running) {
                poller.await(POLL_MILLIS);
                if (poller.ready(2)) wakeup.drain();
                if (poller.ready(0)) {
                    for (int i = 0; i < BATCH; i++) {
                        int n = wire.read(rx);
                        if (n == Tun.NOTHING) break;
                        try {
                            if (faults.active()) fromWireWithFaults(rx, n);
                            else btcp.fromWire(rx, n);
                        } catch (RuntimeException e) {
                            internalError(e);
                        }
                    }
                }
                if (poller.ready(1)) {
                    for (int i = 0; i < BATCH; i++) {
                        int n = kernel.read(rx);
                        if (n == Tun.NOTHING) break;
                        try {
                            btcp.fromKernel(rx, n);
                        } catch (RuntimeException e) {
                            internalError(e);
                        }
                    }
                }
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
            }
        } catch (Throwable t) {
            failure = t;
            System.err.println("baton: packet loop failed: " + t);
            t.printStackTrace();
        }
    }

    /** A bug must cost one packet, not the node: count it, report the first few, go on. */
    private void internalError(RuntimeException e) {
        if (internalErrors.incrementAndGet() <= 10) {
            System.err.println("baton: internal error on the packet path (packet dropped): " + e);
            e.printStackTrace();
        }
    }

    long internalErrors() {
        return internalErrors.get();
    }

    @Override
    public void toKernel(MemorySegment packet, int length) {
        if (!kernel.write(packet, length)) writeFailures.incrementAndGet();
    }

    @Override
    public void toWire(MemorySegment packet, int length) {
        if (faults.active()) {
            switch (faults.onPacket(Direction.OUT, btcp.emittingPhase(), packet, length, now)) {
                case DROP, HELD -> { }
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
        if (!wire.write(packet, length)) writeFailures.incrementAndGet();
    }

    /** The fault module; touch it only on this loop's thread (through {@link #submit}). */
    FaultInjector faults() {
        return faults;
    }

    private void fromWireWithFaults(MemorySegment p, int n) {
        switch (faults.onPacket(Direction.IN, btcp.phaseOfWirePacket(p, n), p, n, now)) {
            case DROP, HELD -> { }
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
