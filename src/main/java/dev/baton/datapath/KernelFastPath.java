package dev.baton.datapath;

import dev.baton.btcp.FastPath;
import java.util.Optional;

/**
 * The engine's {@link FastPath} on the kernel's data path: each call is one or two writes to, or a
 * read of, the flows map ({@code bpf(2)} through libbpf, about 2 µs each). Called on the packet
 * loop's thread only, once or twice per connection, never per packet.
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

    @Override
    public boolean local(int client, int clientPort) {
        return datapath.put(new FlowKey(client, address, clientPort, servicePort), Flow.local()) == 0;
    }

    @Override
    public boolean toChosen(int client, int clientPort, int chosen, int forwardPort, Translation t, int clientAck) {
        Flow f = new Flow(FlowAction.TO_CHOSEN, t.timestamps(), 0, 0, chosen, forwardPort, t.seqDelta(), t.tsDelta(),
                clientAck, 0, 0);
        return datapath.put(new FlowKey(client, address, clientPort, servicePort), f) == 0;
    }

    @Override
    public boolean handedIn(int client, int clientPort, int forwardPort, int shadow, int entry, Translation t,
            int clientAck, int clientNext, int serverNext) {
        FlowKey in = new FlowKey(client, address, clientPort, forwardPort);
        Flow fromEntry = new Flow(FlowAction.FROM_ENTRY, t.timestamps(), 0, 0, shadow, servicePort, t.seqDelta(),
                t.tsDelta(), clientAck, clientNext, 0);
        Flow toClient = new Flow(FlowAction.TO_CLIENT, t.timestamps(), t.chosenWindowScale(), t.entryWindowScale(),
                entry, 0, t.seqDelta(), t.tsDelta(), clientAck, serverNext, 0);
        if (datapath.put(in, fromEntry) != 0) return false;
        if (datapath.put(new FlowKey(client, shadow, clientPort, servicePort), toClient) != 0) {
            datapath.remove(in); // both directions or neither
            return false;
        }
        return true;
    }

    @Override
    public void withdraw(int client, int clientPort) {
        datapath.remove(new FlowKey(client, address, clientPort, servicePort));
    }

    @Override
    public void withdrawHandedIn(int client, int clientPort, int forwardPort, int shadow) {
        datapath.remove(new FlowKey(client, address, clientPort, forwardPort));
        datapath.remove(new FlowKey(client, shadow, clientPort, servicePort));
    }

    @Override
    public boolean seen(int client, int clientPort, int localAddress, int localPort, Seen into) {
        Optional<Flow> f = datapath.get(new FlowKey(client, localAddress, clientPort, localPort));
        if (f.isEmpty()) return false;
        into.lastNanos = f.get().lastNanos();
        into.ack = f.get().ack();
        into.next = f.get().next();
        return true;
    }
}
