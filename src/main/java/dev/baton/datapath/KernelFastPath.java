package dev.baton.datapath;

import dev.baton.btcp.FastPath;
import java.util.Optional;

/**
 * The engine's {@link FastPath} on the kernel's data path: each call is one or two writes to, or a
 * read of, the flows and progress maps ({@code bpf(2)} through libbpf, about 2 µs each). Called on
 * the packet loop's thread only, a few times per connection, never per packet the kernel carries.
 */
public final class KernelFastPath implements FastPath {
    private final Datapath datapath;
    private final int address;
    private final int servicePort;

    /** For a node at {@code address} whose service listens on {@code servicePort}. */
    public KernelFastPath(Datapath datapath, int address, int servicePort) {
        this.datapath = datapath;
        this.address = address;
        this.servicePort = servicePort;
    }

    private FlowKey entryKey(int client, int clientPort) {
        return new FlowKey(client, address, clientPort, servicePort);
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
    public boolean local(int client, int clientPort, Consumed c) {
        return datapath.put(entryKey(client, clientPort), Flow.local(c.fromNetwork(), c.fromKernel())) == 0;
    }

    @Override
    public boolean toChosen(int client, int clientPort, int chosen, int forwardPort, Translation t, Consumed c) {
        Flow f = new Flow(FlowAction.TO_CHOSEN, t.timestamps(), 0, 0, chosen, forwardPort, t.seqDelta(), t.tsDelta(),
                c.fromNetwork(), c.fromKernel());
        return datapath.put(entryKey(client, clientPort), f) == 0;
    }

    @Override
    public boolean handedIn(int client, int clientPort, int forwardPort, int shadow, int entry, Translation t,
            Consumed fromClient, Consumed fromKernel) {
        Flow fromEntry = new Flow(FlowAction.FROM_ENTRY, t.timestamps(), 0, 0, shadow, servicePort, t.seqDelta(),
                t.tsDelta(), fromClient.fromNetwork(), fromClient.fromKernel());
        Flow toClient = new Flow(FlowAction.TO_CLIENT, t.timestamps(), t.chosenWindowScale(), t.entryWindowScale(),
                entry, 0, t.seqDelta(), t.tsDelta(), fromKernel.fromNetwork(), fromKernel.fromKernel());
        // The kernel's side first: the client's segments it carries are answered on the kernel's path.
        if (datapath.put(new FlowKey(client, shadow, clientPort, servicePort), toClient) != 0) return false;
        return datapath.put(new FlowKey(client, address, clientPort, forwardPort), fromEntry) == 0;
    }

    @Override
    public void consumed(int client, int clientPort, int localAddress, int localPort, Consumed c) {
        FlowKey k = new FlowKey(client, localAddress, clientPort, localPort);
        Optional<Flow> f = datapath.get(k);
        if (f.isPresent() && f.get().action() != FlowAction.HOLD) {
            datapath.put(k, f.get().withConsumed(c.fromNetwork(), c.fromKernel()));
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
    public boolean seen(int client, int clientPort, int localAddress, int localPort, Seen into) {
        Optional<Progress> p = datapath.progress(new FlowKey(client, localAddress, clientPort, localPort));
        if (p.isEmpty()) return false;
        into.lastNanos = p.get().lastNanos();
        into.ack = p.get().ack();
        into.next = p.get().next();
        return true;
    }
}
