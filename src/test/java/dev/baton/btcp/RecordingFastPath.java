package dev.baton.btcp;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A kernel data path in memory for the engine's tests: records what the engine tells it, as typed
 * records, and reports what a test says the kernel saw. Like the kernel's maps it outlives an
 * engine: the flows it carries and the records it keeps are there for the next one
 * ({@link Btcp#takeOver}).
 */
final class RecordingFastPath implements FastPath {
    sealed interface Call {}

    record Hold(int client, int port) implements Call {}

    record HoldHandedIn(int client, int port, int forwardPort, int shadow) implements Call {}

    record Local(int client, int port, int cookie, Consumed consumed) implements Call {}

    record ToChosen(int client, int port, int chosen, int forwardPort, Translation t, Consumed consumed)
            implements Call {}

    record HandedIn(
            int client,
            int port,
            int forwardPort,
            int shadow,
            int entry,
            Translation t,
            Consumed fromClient,
            Consumed fromKernel)
            implements Call {}

    record HandedInToClient(int client, int port, int shadow, int entry, Consumed fromKernel) implements Call {}

    record HandedInFromEntry(int client, int port, int forwardPort, int shadow, Consumed fromClient) implements Call {}
    /** {@link #toChosen} of a connection that is over. */
    record Lingering(int client, int port) implements Call {}

    record Read(int client, int port, int localAddress, int localPort, Consumed consumed) implements Call {}

    record Withdraw(int client, int port) implements Call {}

    record WithdrawHandedIn(int client, int port, int forwardPort, int shadow) implements Call {}

    final List<Call> calls = new ArrayList<>();
    /** What the kernel takes: false stands for a full table. */
    boolean accept = true;
    /** What {@link #seen} reports for every flow, if set. */
    Seen report;
    /** What {@link #seen} reports for one flow ({@link #flow}); before {@link #report}. */
    final Map<List<Integer>, Seen> reports = new LinkedHashMap<>();
    /** Called when a flow is handed down, so a test can look at the engine's state right then. */
    Runnable onHandDown = () -> {};
    /** The flows handed down (client, client port, local address, local port), by their kind. */
    final Map<List<Integer>, String> carried = new LinkedHashMap<>();
    /** The cookies local flows were handed down with. */
    final Map<List<Integer>, Integer> cookies = new LinkedHashMap<>();
    /** The records kept, by table slot, and how many times one was written. */
    final Map<Integer, byte[]> records = new LinkedHashMap<>();

    int recordWrites;
    /** How many times the engine read what the kernel saw of a flow ({@link #seen}: a map read each). */
    int seenReads;
    /** What {@link #resume} says the engine has read of a flow. */
    Consumed readAtResume = new Consumed(5, 2);

    private Set<List<Integer>> resumed;
    /** Handshakes the kernel passed itself and whose request it sends up, by (client, port). */
    final Map<List<Integer>, byte[][]> handshakes = new LinkedHashMap<>();

    @Override
    public boolean handshake(int client, int clientPort, Handshake into) {
        byte[][] h = handshakes.get(List.of(client, clientPort));
        if (h == null) return false;
        System.arraycopy(h[0], 0, into.syn, 0, h[0].length);
        into.synLength = h[0].length;
        System.arraycopy(h[1], 0, into.synAck, 0, h[1].length);
        into.synAckLength = h[1].length;
        return true;
    }

    @Override
    public void forgetHandshake(int client, int clientPort) {
        handshakes.remove(List.of(client, clientPort));
    }

    static List<Integer> flow(int client, int port, int localAddress, int localPort) {
        return List.of(client, port, localAddress, localPort);
    }

    /** The calls of one kind. */
    <T extends Call> List<T> of(Class<T> kind) {
        return calls.stream().filter(kind::isInstance).map(kind::cast).toList();
    }

    @Override
    public boolean hold(int client, int clientPort) {
        calls.add(new Hold(client, clientPort));
        return accept;
    }

    @Override
    public boolean holdHandedIn(int client, int clientPort, int forwardPort, int shadow) {
        calls.add(new HoldHandedIn(client, clientPort, forwardPort, shadow));
        return accept;
    }

    @Override
    public boolean local(int client, int clientPort, int cookie, Consumed consumed) {
        calls.add(new Local(client, clientPort, cookie, consumed));
        onHandDown.run();
        if (accept) {
            carried.put(flow(client, clientPort, BtcpTest.A, 80), "local");
            cookies.put(flow(client, clientPort, BtcpTest.A, 80), cookie);
        }
        return accept;
    }

    /** A close the kernel passed, as the programs would tell of it ({@link #drainCloses}). */
    record Close(int client, int port, int entry, int cookie, int tcpFlags, boolean fromKernel) {}

    /** Closes not yet drained. */
    final Deque<Close> closes = new ArrayDeque<>();

    /** The kernel passes a FIN or RST of a local flow: told with the cookie the flow was handed down with. */
    void passClose(int client, int port, int tcpFlags, boolean fromKernel) {
        closes.add(new Close(
                client, port, 0, cookies.getOrDefault(flow(client, port, BtcpTest.A, 80), -1), tcpFlags, fromKernel));
    }

    /** The kernel passes a FIN or RST of a handed-in connection from entry {@code entry} (its index). */
    void passHandedInClose(int client, int port, int entry, int forwardPort, int tcpFlags, boolean fromKernel) {
        closes.add(new Close(
                client,
                port,
                entry,
                cookies.getOrDefault(flow(client, port, BtcpTest.B, forwardPort), -1),
                tcpFlags,
                fromKernel));
    }

    @Override
    public int drainCloses(Closes into) {
        int n = 0;
        for (Close c; (c = closes.poll()) != null; n++)
            into.closed(c.client, c.port, c.entry, c.cookie, c.tcpFlags, c.fromKernel);
        return n;
    }

    @Override
    public boolean toChosen(
            int client,
            int clientPort,
            int chosen,
            int forwardPort,
            Translation t,
            Consumed consumed,
            int cookie,
            boolean lingering) {
        cookies.put(flow(client, clientPort, BtcpTest.A, 80), cookie);
        calls.add(
                lingering
                        ? new Lingering(client, clientPort)
                        : new ToChosen(client, clientPort, chosen, forwardPort, t, consumed));
        onHandDown.run();
        if (accept) carried.put(flow(client, clientPort, BtcpTest.A, 80), "toChosen");
        return accept;
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
        return handDown(new HandedIn(client, clientPort, forwardPort, shadow, entry, t, fromClient, fromKernel), () -> {
            carryFromEntry(client, clientPort, forwardPort, cookie);
            carried.put(flow(client, clientPort, shadow, 80), "toClient");
        });
    }

    @Override
    public boolean handedInToClient(
            int client, int clientPort, int shadow, int entry, Translation t, Consumed fromKernel, int cookie) {
        return handDown(
                new HandedInToClient(client, clientPort, shadow, entry, fromKernel),
                () -> carried.put(flow(client, clientPort, shadow, 80), "toClient"));
    }

    @Override
    public boolean handedInFromEntry(
            int client, int clientPort, int forwardPort, int shadow, Translation t, Consumed fromClient, int cookie) {
        return handDown(
                new HandedInFromEntry(client, clientPort, forwardPort, shadow, fromClient),
                () -> carryFromEntry(client, clientPort, forwardPort, cookie));
    }

    /** Records a hand-down {@code call}; if the kernel takes it, {@code carry} notes the flows it carries. */
    private boolean handDown(Call call, Runnable carry) {
        calls.add(call);
        onHandDown.run();
        if (accept) carry.run();
        return accept;
    }

    private void carryFromEntry(int client, int clientPort, int forwardPort, int cookie) {
        cookies.put(flow(client, clientPort, BtcpTest.B, forwardPort), cookie);
        carried.put(flow(client, clientPort, BtcpTest.B, forwardPort), "fromEntry");
    }

    @Override
    public void consumed(int client, int clientPort, int localAddress, int localPort, Consumed consumed) {
        calls.add(new Read(client, clientPort, localAddress, localPort, consumed));
    }

    @Override
    public void withdraw(int client, int clientPort) {
        calls.add(new Withdraw(client, clientPort));
        carried.remove(flow(client, clientPort, BtcpTest.A, 80));
    }

    @Override
    public void withdrawHandedIn(int client, int clientPort, int forwardPort, int shadow) {
        calls.add(new WithdrawHandedIn(client, clientPort, forwardPort, shadow));
        carried.remove(flow(client, clientPort, BtcpTest.B, forwardPort));
        carried.remove(flow(client, clientPort, shadow, 80));
    }

    @Override
    public boolean remember(int slot, MemorySegment record) {
        if (!accept) return false;
        recordWrites++;
        records.put(slot, record.asSlice(0, RECORD_SIZE).toArray(ValueLayout.JAVA_BYTE));
        return true;
    }

    @Override
    public void forget(int slot) {
        records.remove(slot);
    }

    @Override
    public void recall(Recalled into) {
        resumed = new HashSet<>();
        for (var r : List.copyOf(records.entrySet()))
            into.record(r.getKey(), MemorySegment.ofArray(r.getValue().clone()));
        carried.forEach((f, kind) -> {
            if (kind.equals("local")) into.local(f.get(0), f.get(1), cookies.getOrDefault(f, 0));
        });
    }

    @Override
    public int cookie(int client, int clientPort, int localAddress, int localPort) {
        return cookies.getOrDefault(flow(client, clientPort, localAddress, localPort), -1);
    }

    @Override
    public Consumed resume(int client, int clientPort, int localAddress, int localPort) {
        List<Integer> f = flow(client, clientPort, localAddress, localPort);
        if (resumed == null || !carried.containsKey(f)) return null;
        resumed.add(f);
        return readAtResume;
    }

    @Override
    public void endTakeOver() {
        carried.keySet().retainAll(resumed);
        resumed = null;
    }

    @Override
    public boolean seen(int client, int clientPort, int localAddress, int localPort, Seen into) {
        seenReads++;
        Seen r = reports.getOrDefault(flow(client, clientPort, localAddress, localPort), report);
        if (r == null) return false;
        into.lastNanos = r.lastNanos;
        into.ack = r.ack;
        into.next = r.next;
        return true;
    }
}
