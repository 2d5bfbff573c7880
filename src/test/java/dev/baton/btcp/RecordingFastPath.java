package dev.baton.btcp;

import java.util.ArrayList;
import java.util.List;

/**
 * A kernel data path in memory for the engine's tests: records what the engine tells it, as typed
 * records, and reports what a test says the kernel saw.
 */
final class RecordingFastPath implements FastPath {
    sealed interface Call {}
    record Hold(int client, int port) implements Call {}
    record HoldHandedIn(int client, int port, int forwardPort, int shadow) implements Call {}
    record Local(int client, int port, Consumed consumed) implements Call {}
    record ToChosen(int client, int port, int chosen, int forwardPort, Translation t, Consumed consumed)
            implements Call {}
    record HandedIn(int client, int port, int forwardPort, int shadow, int entry, Translation t, Consumed fromClient,
            Consumed fromKernel) implements Call {}
    record Read(int client, int port, int localAddress, int localPort, Consumed consumed) implements Call {}
    record Withdraw(int client, int port) implements Call {}
    record WithdrawHandedIn(int client, int port, int forwardPort, int shadow) implements Call {}

    final List<Call> calls = new ArrayList<>();
    /** What the kernel takes: false stands for a full table. */
    boolean accept = true;
    /** What {@link #seen} reports for every flow, if set. */
    Seen report;
    /** Called when a flow is handed down, so a test can look at the engine's state right then. */
    Runnable onHandDown = () -> { };

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
    public boolean local(int client, int clientPort, Consumed consumed) {
        calls.add(new Local(client, clientPort, consumed));
        onHandDown.run();
        return accept;
    }

    @Override
    public boolean toChosen(int client, int clientPort, int chosen, int forwardPort, Translation t, Consumed consumed) {
        calls.add(new ToChosen(client, clientPort, chosen, forwardPort, t, consumed));
        onHandDown.run();
        return accept;
    }

    @Override
    public boolean handedIn(int client, int clientPort, int forwardPort, int shadow, int entry, Translation t,
            Consumed fromClient, Consumed fromKernel) {
        calls.add(new HandedIn(client, clientPort, forwardPort, shadow, entry, t, fromClient, fromKernel));
        onHandDown.run();
        return accept;
    }

    @Override
    public void consumed(int client, int clientPort, int localAddress, int localPort, Consumed consumed) {
        calls.add(new Read(client, clientPort, localAddress, localPort, consumed));
    }

    @Override
    public void withdraw(int client, int clientPort) {
        calls.add(new Withdraw(client, clientPort));
    }

    @Override
    public void withdrawHandedIn(int client, int clientPort, int forwardPort, int shadow) {
        calls.add(new WithdrawHandedIn(client, clientPort, forwardPort, shadow));
    }

    @Override
    public boolean seen(int client, int clientPort, int localAddress, int localPort, Seen into) {
        if (report == null) return false;
        into.lastNanos = report.lastNanos;
        into.ack = report.ack;
        into.next = report.next;
        return true;
    }
}
