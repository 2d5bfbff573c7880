package dev.baton.datapath;

import dev.baton.btcp.FastPath;
import dev.baton.sys.BpfRingBuffer;
import dev.baton.sys.SysException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.HashSet;
import java.util.Optional;
import java.util.Set;

/**
 * The engine's {@link FastPath} on the kernel's data path: each call is one or two writes to, or a
 * read of, the flows and progress maps ({@code bpf(2)} through libbpf, about 2 µs each). Called on
 * the packet loop's thread only, a few times per connection, never per packet the kernel carries.
 */
public final class KernelFastPath implements FastPath {
    private final Datapath datapath;
    private final int address;
    private final int servicePort;
    private final BpfRingBuffer closes;
    /** The engine's sink during {@link #drainCloses} (a field: no capture, no allocation per call). */
    private Closes closesInto;

    private final BpfRingBuffer.Records closeRecord = this::closeRecord;
    /** Between {@link #recall} and {@link #endTakeOver}: the flows that go on; null otherwise. */
    private Set<FlowKey> resumed;

    /**
     * For a node at {@code address} whose service listens on {@code servicePort}. Maps pinned by an
     * earlier process of the node hold what it left: {@link #recall} tells it.
     */
    public KernelFastPath(Datapath datapath, int address, int servicePort) throws SysException {
        if (Datapath.RECORD_SIZE != FastPath.RECORD_SIZE) throw new IllegalStateException("record sizes differ");
        this.datapath = datapath;
        this.address = address;
        this.servicePort = servicePort;
        this.closes = datapath.closes();
    }

    private FlowKey entryKey(int client, int clientPort) {
        return new FlowKey(client, address, clientPort, servicePort);
    }

    @Override
    public boolean handshake(int client, int clientPort, Handshake into) {
        int lengths = datapath.handshake(entryKey(client, clientPort), into.syn, into.synAck);
        if (lengths < 0) return false;
        into.synLength = lengths >>> 8;
        into.synAckLength = lengths & 0xff;
        return true;
    }

    @Override
    public void forgetHandshake(int client, int clientPort) {
        datapath.removeHandshake(entryKey(client, clientPort));
    }

    /** Nothing to write: the programs start counting a service connection at its SYN by themselves. */
    @Override
    public boolean hold(int client, int clientPort) {
        return true;
    }

    @Override
    public boolean holdHandedIn(int client, int clientPort, int forwardPort, int shadow) {
        FlowKey in = new FlowKey(client, address, clientPort, forwardPort);
        FlowKey out = new FlowKey(client, shadow, clientPort, servicePort);
        datapath.forgetProgress(in);
        datapath.forgetProgress(out);
        if (datapath.put(in, Flow.hold()) != 0) return false;
        if (datapath.put(out, Flow.hold()) != 0) {
            datapath.remove(in); // both directions or neither
            return false;
        }
        return true;
    }

    @Override
    public boolean local(int client, int clientPort, int cookie, Consumed c) {
        return datapath.put(entryKey(client, clientPort), Flow.local(c.fromNetwork(), c.fromKernel(), cookie)) == 0;
    }

    @Override
    public int drainCloses(Closes into) {
        closesInto = into;
        try {
            return closes.drain(closeRecord);
        } finally {
            closesInto = null;
        }
    }

    @Override
    public int closesFd() {
        return datapath.closesFd();
    }

    @Override
    public void asleep(boolean asleep) {
        datapath.engineAsleep(asleep);
    }

    /** One {@code struct close_event} (src/main/bpf/datapath.h); an empty one only woke the reader. */
    private void closeRecord(MemorySegment data, long at, int length) {
        if (length < Datapath.CLOSE_EVENT_SIZE) return; // not this build's: nothing to take from it
        closesInto.closed(
                data.get(FlowKey.BE32, at),
                Short.toUnsignedInt(data.get(FlowKey.BE16, at + 4)),
                Short.toUnsignedInt(data.get(ValueLayout.JAVA_SHORT_UNALIGNED, at + 10)),
                Short.toUnsignedInt(data.get(ValueLayout.JAVA_SHORT_UNALIGNED, at + 6)),
                data.get(ValueLayout.JAVA_BYTE, at + 8) & 0xff,
                data.get(ValueLayout.JAVA_BYTE, at + 9) != 0);
    }

    @Override
    public boolean toChosen(
            int client,
            int clientPort,
            int chosen,
            int forwardPort,
            Translation t,
            Consumed c,
            int cookie,
            boolean lingering) {
        Flow f = new Flow(
                FlowAction.TO_CHOSEN,
                t.timestamps(),
                0,
                0,
                chosen,
                forwardPort,
                t.seqDelta(),
                t.tsDelta(),
                c.fromNetwork(),
                c.fromKernel(),
                cookie,
                lingering);
        return datapath.put(entryKey(client, clientPort), f) == 0;
    }

    @Override
    public boolean handedIn(
            int client,
            int clientPort,
            int forwardPort,
            int shadow,
            int entry,
            Translation t,
            Consumed fromClient,
            Consumed fromKernel,
            int cookie) {
        // The kernel's side first: the client's segments it carries are answered on the kernel's path.
        return handedInToClient(client, clientPort, shadow, entry, t, fromKernel, cookie)
                && handedInFromEntry(client, clientPort, forwardPort, shadow, t, fromClient, cookie);
    }

    @Override
    public boolean handedInToClient(
            int client, int clientPort, int shadow, int entry, Translation t, Consumed fromKernel, int cookie) {
        Flow toClient = new Flow(
                FlowAction.TO_CLIENT,
                t.timestamps(),
                t.chosenWindowScale(),
                t.entryWindowScale(),
                entry,
                0,
                t.seqDelta(),
                t.tsDelta(),
                fromKernel.fromNetwork(),
                fromKernel.fromKernel(),
                cookie,
                false);
        return datapath.put(new FlowKey(client, shadow, clientPort, servicePort), toClient) == 0;
    }

    @Override
    public boolean handedInFromEntry(
            int client, int clientPort, int forwardPort, int shadow, Translation t, Consumed fromClient, int cookie) {
        Flow fromEntry = new Flow(
                FlowAction.FROM_ENTRY,
                t.timestamps(),
                0,
                0,
                shadow,
                servicePort,
                t.seqDelta(),
                t.tsDelta(),
                fromClient.fromNetwork(),
                fromClient.fromKernel(),
                cookie,
                false);
        return datapath.put(new FlowKey(client, address, clientPort, forwardPort), fromEntry) == 0;
    }

    @Override
    public void consumed(int client, int clientPort, int localAddress, int localPort, Consumed c) {
        FlowKey k = new FlowKey(client, localAddress, clientPort, localPort);
        Optional<Flow> f = datapath.get(k);
        if (f.isPresent() && f.get().action() != FlowAction.HOLD) {
            // only if it is still there: the programs drop a lingering flow at a new SYN
            datapath.replace(k, f.get().withConsumed(c.fromNetwork(), c.fromKernel()));
        }
    }

    @Override
    public void withdraw(int client, int clientPort) {
        datapath.remove(entryKey(client, clientPort)); // its progress goes with the next SYN, or the LRU
    }

    @Override
    public void withdrawHandedIn(int client, int clientPort, int forwardPort, int shadow) {
        datapath.remove(new FlowKey(client, address, clientPort, forwardPort));
        datapath.remove(new FlowKey(client, shadow, clientPort, servicePort));
    }

    @Override
    public boolean remember(int slot, MemorySegment record) {
        return datapath.putRecord(slot, record);
    }

    @Override
    public void forget(int slot) {
        datapath.removeRecord(slot);
    }

    @Override
    public void recall(Recalled into) {
        resumed = new HashSet<>();
        MemorySegment r = MemorySegment.ofArray(new byte[Datapath.RECORD_SIZE]);
        for (int slot = 0; slot < datapath.recordSlots(); slot++) {
            if (datapath.record(slot, r)) into.record(slot, r);
        }
        datapath.flows().forEach((k, f) -> {
            if (f.action() == FlowAction.LOCAL && k.localAddress() == address && k.localPort() == servicePort) {
                into.local(k.remoteAddress(), k.remotePort(), f.cookie());
            }
        });
    }

    @Override
    public Consumed resume(int client, int clientPort, int localAddress, int localPort) {
        FlowKey k = new FlowKey(client, localAddress, clientPort, localPort);
        Optional<Flow> f = datapath.get(k);
        if (f.isEmpty() || f.get().action() == FlowAction.HOLD || resumed == null) return null;
        Consumed read = datapath.progress(k)
                .map(p -> new Consumed(p.slowIn(), p.slowOut()))
                .orElse(new Consumed(f.get().consumedIn(), f.get().consumedOut()));
        if (datapath.put(k, f.get().withConsumed(read.fromNetwork(), read.fromKernel())) != 0) return null;
        resumed.add(k);
        return read;
    }

    @Override
    public int cookie(int client, int clientPort, int localAddress, int localPort) {
        return datapath.get(new FlowKey(client, localAddress, clientPort, localPort))
                .map(Flow::cookie)
                .orElse(-1);
    }

    @Override
    public void endTakeOver() {
        if (resumed == null) return;
        for (FlowKey k : datapath.flows().keySet()) {
            if (resumed.contains(k)) continue;
            datapath.remove(k);
            datapath.forgetProgress(k);
        }
        resumed = null;
    }

    @Override
    public boolean seen(int client, int clientPort, int localAddress, int localPort, Seen into) {
        Optional<Progress> p = datapath.progress(new FlowKey(client, localAddress, clientPort, localPort));
        if (p.isEmpty()) return false;
        into.lastNanos = p.get().lastNanos();
        into.ack = p.get().ack();
        into.next = p.get().next();
        return true;
    }
}
