package dev.baton.btcp;

import java.lang.foreign.MemorySegment;

/**
 * The in-kernel data path as the engine sees it: flows the engine hands down while a connection is
 * steady, so that their plain segments (no SYN, FIN or RST) are translated below the kernel's TCP
 * without a trip through user space (claims 7, 9, 17, 18), and what the kernel saw of them since.
 * The engine stays correct without it: every segment the kernel does not carry still reaches
 * {@link Btcp#fromWire} or {@link Btcp#fromKernel}, which handle it as they always did. Implemented by
 * {@code dev.baton.datapath.KernelFastPath}; {@link #NONE} carries nothing.
 *
 * <p>A connection's flows are known to the kernel from its first packet ({@link #hold},
 * {@link #holdHandedIn}): it sends their packets up and counts them, and each hand-down says how many
 * of those the engine has read ({@link Consumed}), so that the kernel keeps sending them up until the
 * engine has read every one: a packet still waiting in a TUN is never overtaken by a later one on the
 * kernel's path (the receiver's PAWS check would drop it, RFC 7323 section 5).
 *
 * <p>A local connection's FIN and RST pass in the kernel too: the engine only needs to know of them,
 * and hears of them from {@link #drainCloses}, not from the packets.
 *
 * <p>A connection at the entry has one flow, {@code client:port → this node:service port}, both
 * ways; a handed-in one two: {@code client:port → this node:forward port} (its client's packets)
 * and {@code client:port ← shadow:service port} (its kernel's). Addresses are IPv4 addresses as
 * ints, ports 0-65535. The calls that hand a flow down return false when the kernel could not take
 * it (its table is full): the engine then keeps the connection's segments.
 */
public interface FastPath {
    /** Bytes of a connection's record ({@link #remember}; src/main/bpf/datapath.h). */
    int RECORD_SIZE = 136;

    /** How a handed-off connection's numbers differ between the entry and the chosen node. */
    record Translation(int seqDelta, int tsDelta, boolean timestamps, int chosenWindowScale, int entryWindowScale) {}

    /** How many of a flow's packets the engine has read since the kernel began to count them. */
    record Consumed(int fromNetwork, int fromKernel) {}

    /** What the kernel saw of a flow: filled by {@link #seen}. */
    final class Seen {
        /** {@code CLOCK_MONOTONIC} (as {@link System#nanoTime}) at its last segment; 0: none carried. */
        public long lastNanos;
        /** The highest acknowledgment number, as the segment carried it. */
        public int ack;
        /** The highest sequence number + payload length, as the segment carried it. */
        public int next;
    }

    /**
     * A connection whose handshake the kernel passed itself (the engine never saw its SYN), and
     * whose request it sent up to be decided: filled by {@link #handshake}.
     */
    final class Handshake {
        /** The client's SYN and the kernel's SYN/ACK, IPv4 headers on (an IPv4 header without
         * options and the longest TCP header fit). */
        public final byte[] syn = new byte[80];

        public int synLength;
        public final byte[] synAck = new byte[80];
        public int synAckLength;
    }

    /**
     * The handshake the kernel passed for {@code client:clientPort}, whose request it sent up; false if
     * it has none: the connection is not the engine's to hold.
     */
    boolean handshake(int client, int clientPort, Handshake into);

    /** The engine is done with a connection {@link #handshake} gave it: the kernel forgets the handshake. */
    void forgetHandshake(int client, int clientPort);

    /**
     * A new connection at the entry, at its SYN: its packets come up, counted from that SYN on, until
     * it is handed down.
     */
    boolean hold(int client, int clientPort);

    /** A connection being handed in: both its flows come up, counted, until it is handed down. */
    boolean holdHandedIn(int client, int clientPort, int forwardPort, int shadow);

    /**
     * A connection this node serves (claim 8): its segments pass to and from the kernel, its FIN and
     * RST too, which the kernel then tells of ({@link #drainCloses}) with {@code cookie} (16 bits).
     */
    boolean local(int client, int clientPort, int cookie, Consumed consumed);

    /**
     * A connection this node handed to {@code chosen}, reached at {@code forwardPort} (claims 7, 17).
     * The client's FIN and RST pass too, which the kernel tells of ({@link #drainCloses}) with
     * {@code cookie} (16 bits). {@code lingering}: it is over, its late packets still go on; a SYN
     * with another initial sequence number on its ports is a new connection, whose handshake the
     * kernel takes as if it had no flow (and drops this one): the engine hears of it from the
     * request ({@link #handshake}).
     */
    boolean toChosen(
            int client,
            int clientPort,
            int chosen,
            int forwardPort,
            Translation t,
            Consumed consumed,
            int cookie,
            boolean lingering);

    /**
     * A connection handed to this node by {@code entry}: the client's segments arrive on
     * {@code forwardPort} and go to {@code shadow}; the kernel's leave with the entry's address
     * (claims 9, 18). {@code fromClient} counts what the engine read of the first flow,
     * {@code fromKernel} of the second. Their FINs and RSTs pass too, which the kernel tells of
     * ({@link #drainCloses}) with {@code cookie} (16 bits).
     */
    boolean handedIn(
            int client,
            int clientPort,
            int forwardPort,
            int shadow,
            int entry,
            Translation t,
            Consumed fromClient,
            Consumed fromKernel,
            int cookie);

    /**
     * The kernel's half of {@link #handedIn}, for a connection whose request waits to be injected:
     * our kernel's segments leave as the entry's, the client's still come up, counted. The client's
     * half follows with {@link #handedInFromEntry}.
     */
    boolean handedInToClient(
            int client, int clientPort, int shadow, int entry, Translation t, Consumed fromKernel, int cookie);

    /** The client's half of {@link #handedIn}, after {@link #handedInToClient}. */
    boolean handedInFromEntry(
            int client, int clientPort, int forwardPort, int shadow, Translation t, Consumed fromClient, int cookie);

    /**
     * A handed-down connection's packet came up all the same (a FIN, a RST, one the kernel had sent
     * up before): the engine has read these many now. {@code localAddress:localPort} names the flow.
     */
    void consumed(int client, int clientPort, int localAddress, int localPort, Consumed consumed);

    /** A connection at the entry is over for the kernel: its packets come up uncounted. */
    void withdraw(int client, int clientPort);

    /** A handed-in connection is over for the kernel. */
    void withdrawHandedIn(int client, int clientPort, int forwardPort, int shadow);

    /**
     * What the kernel saw of the flow of {@code client:clientPort} to {@code localAddress:localPort};
     * false if it has none.
     */
    boolean seen(int client, int clientPort, int localAddress, int localPort, Seen into);

    /**
     * Keeps {@code record} ({@link #RECORD_SIZE} bytes) of the connection in table slot
     * {@code slot} where a restarted process finds it (replacing an earlier one); false if it could
     * not (no such slot). Called a few times per handoff: no system call.
     */
    boolean remember(int slot, MemorySegment record);

    /** Drops the record of table slot {@code slot}, if any. */
    void forget(int slot);

    /** What an earlier process of this node left in the kernel: {@link #recall}. */
    interface Recalled {
        /**
         * A connection's record, as {@link #remember} kept it for table slot {@code slot} (valid
         * during the call only).
         */
        void record(int slot, MemorySegment record);

        /** A connection served here, handed down as {@link #local} with {@code cookie}. */
        void local(int client, int clientPort, int cookie);
    }

    /**
     * At start, before the first packet: tells {@code into} what an earlier process left, every
     * record and every local flow. Nothing, if there was no earlier process.
     */
    void recall(Recalled into);

    /**
     * At a takeover: the flow {@code client:clientPort → localAddress:localPort} goes on as it was
     * handed down. The packets the kernel sent up that no one read (they went to the process that is
     * gone, and TCP sends them again) count as read from now, so that the kernel carries the flow
     * again. Returns what the engine has read of it now, or null if the kernel has no such flow.
     */
    Consumed resume(int client, int clientPort, int localAddress, int localPort);

    /**
     * The cookie the flow {@code client:clientPort → localAddress:localPort} was handed down with
     * (16 bits; {@link #local}, {@link #toChosen}, {@link #handedIn}), or -1 if the kernel has no such
     * flow.
     */
    int cookie(int client, int clientPort, int localAddress, int localPort);

    /** The takeover is over: every flow not resumed since {@link #recall} is removed. */
    void endTakeOver();

    /** A FIN or RST that the kernel passed on a local, handed-off or handed-in flow ({@link #local}, ...). */
    interface Closes {
        /**
         * {@code tcpFlags}: the segment's; {@code fromKernel}: our server sent it (else the client).
         * {@code entry}: 0 for a flow at the service port (local, handed off), else the index of a
         * handed-in connection's entry.
         * {@code cookie} names the connection as {@link #local}, {@link #toChosen} or {@link #handedIn}
         * was told.
         */
        void closed(int client, int clientPort, int entry, int cookie, int tcpFlags, boolean fromKernel);
    }

    /**
     * Tells {@code into} of every close the kernel passed since the last call, oldest first (the
     * packet loop calls this each turn, before it reads packets). Returns how many.
     */
    int drainCloses(Closes into);

    /**
     * A descriptor that polls readable while closes wait to be drained, for the loop to watch; -1 if
     * there is none (nothing is passed in the kernel).
     */
    default int closesFd() {
        return -1;
    }

    /**
     * The packet loop is about to wait longer than a turn ({@code true}), or is awake again: while
     * it sleeps, a close the kernel tells also wakes {@link #closesFd}. While it turns, no wake-up
     * is asked for: {@link #drainCloses} runs every turn.
     */
    default void asleep(boolean asleep) {}

    /** Carries nothing: every segment goes through the engine. */
    FastPath NONE = new FastPath() {
        @Override
        public boolean handshake(int client, int clientPort, Handshake into) {
            return false;
        }

        @Override
        public void forgetHandshake(int client, int clientPort) {}

        @Override
        public boolean hold(int client, int clientPort) {
            return false;
        }

        @Override
        public boolean holdHandedIn(int client, int clientPort, int forwardPort, int shadow) {
            return false;
        }

        @Override
        public boolean local(int client, int clientPort, int cookie, Consumed consumed) {
            return false;
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
            return false;
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
            return false;
        }

        @Override
        public boolean handedInToClient(
                int client, int clientPort, int shadow, int entry, Translation t, Consumed fromKernel, int cookie) {
            return false;
        }

        @Override
        public boolean handedInFromEntry(
                int client,
                int clientPort,
                int forwardPort,
                int shadow,
                Translation t,
                Consumed fromClient,
                int cookie) {
            return false;
        }

        @Override
        public void consumed(int client, int clientPort, int localAddress, int localPort, Consumed consumed) {}

        @Override
        public void withdraw(int client, int clientPort) {}

        @Override
        public void withdrawHandedIn(int client, int clientPort, int forwardPort, int shadow) {}

        @Override
        public boolean seen(int client, int clientPort, int localAddress, int localPort, Seen into) {
            return false;
        }

        @Override
        public boolean remember(int slot, MemorySegment record) {
            return false;
        }

        @Override
        public void forget(int slot) {}

        @Override
        public void recall(Recalled into) {}

        @Override
        public Consumed resume(int client, int clientPort, int localAddress, int localPort) {
            return null;
        }

        @Override
        public int cookie(int client, int clientPort, int localAddress, int localPort) {
            return -1;
        }

        @Override
        public void endTakeOver() {}

        @Override
        public int drainCloses(Closes into) {
            return 0;
        }
    };
}
