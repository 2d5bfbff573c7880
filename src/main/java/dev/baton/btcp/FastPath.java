package dev.baton.btcp;

/**
 * The in-kernel data path as the engine sees it: flows the engine hands down while a connection is
 * steady, so that their plain segments (no SYN, FIN or RST) are translated below the kernel's TCP
 * without a trip through user space (claims 7, 9, 17, 18), and what the kernel saw of them since.
 * The engine stays correct without it: every segment the kernel does not carry still reaches
 * {@link Btcp#fromWire} or {@link Btcp#fromKernel}, which handle it as they always did. Implemented by
 * {@code dev.baton.datapath.KernelFastPath}; {@link #NONE} carries nothing.
 *
 * <p>Addresses are IPv4 addresses as ints, ports 0-65535. The calls return false when the kernel
 * could not take the flow (its table is full): the engine then keeps the connection's segments.
 */
public interface FastPath {
    /** How a handed-off connection's numbers differ between the entry and the chosen node. */
    record Translation(int seqDelta, int tsDelta, boolean timestamps, int chosenWindowScale, int entryWindowScale) {}

    /** What the kernel saw of a flow: filled by {@link #seen}. */
    final class Seen {
        /** {@code CLOCK_MONOTONIC} (as {@link System#nanoTime}) at its last segment. */
        public long lastNanos;
        /** The highest acknowledgment number, as the segment carried it. */
        public int ack;
        /** The highest sequence number + payload length, as the segment carried it. */
        public int next;
    }

    /** A connection this node serves (claim 8): its segments pass to and from the kernel. */
    boolean local(int client, int clientPort);

    /** A connection this node handed to {@code chosen}, reached at {@code forwardPort} (claims 7, 17). */
    boolean toChosen(int client, int clientPort, int chosen, int forwardPort, Translation t, int clientAck);

    /**
     * A connection handed to this node by {@code entry}: the client's segments arrive on
     * {@code forwardPort} and go to {@code shadow}; the kernel's leave with the entry's address
     * (claims 9, 18).
     */
    boolean handedIn(int client, int clientPort, int forwardPort, int shadow, int entry, Translation t, int clientAck,
            int clientNext, int serverNext);

    /** A local or handed-off connection's segments come to the engine again. */
    void withdraw(int client, int clientPort);

    /** A handed-in connection's segments come to the engine again. */
    void withdrawHandedIn(int client, int clientPort, int forwardPort, int shadow);

    /**
     * What the kernel saw of the flow of {@code client:clientPort} to {@code localAddress:localPort}
     * (this node's address and the service or forward port, or a shadow address and the service port
     * for what the kernel sends); false if it carries no such flow.
     */
    boolean seen(int client, int clientPort, int localAddress, int localPort, Seen into);

    /** Carries nothing: every segment goes through the engine. */
    FastPath NONE = new FastPath() {
        @Override
        public boolean local(int client, int clientPort) {
            return false;
        }

        @Override
        public boolean toChosen(int client, int clientPort, int chosen, int forwardPort, Translation t, int clientAck) {
            return false;
        }

        @Override
        public boolean handedIn(int client, int clientPort, int forwardPort, int shadow, int entry, Translation t,
                int clientAck, int clientNext, int serverNext) {
            return false;
        }

        @Override
        public void withdraw(int client, int clientPort) { }

        @Override
        public void withdrawHandedIn(int client, int clientPort, int forwardPort, int shadow) { }

        @Override
        public boolean seen(int client, int clientPort, int localAddress, int localPort, Seen into) {
            return false;
        }
    };
}
