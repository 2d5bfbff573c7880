package dev.baton.btcp;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;

/**
 * What a restarted process needs to take over a connection shared with another node: its state,
 * its peer and connection id, the translation and how far each side got ({@link FastPath#remember};
 * src/main/bpf/datapath.h, a copy in {@code struct takeover_slot}, 136 bytes, little-endian). Written at
 * each change of such a connection's state, a few times per handoff, never per packet.
 *
 * <pre>
 *   0 key (8)          8 state  9 flags  10 chosen wscale  11 entry wscale  12 forward port (2)
 *  16 peer address    20 seq delta       24 ts delta       28 (reserved)
 *  32 connection id (8)                  40 peer incarnation (8)
 *  48 client ISN      52 client next     56 client ack     60 server next
 *  64 our ISN         68 our TSval       72 our MSS (2)  74 our wscale  75 our options
 *  76 (reserved)      80 peer name: UTF-8, NUL-padded, at most 56 bytes
 * </pre>
 */
final class ConnRecord {
    static final int SIZE = FastPath.RECORD_SIZE;
    static final int MAX_PEER_NAME = SIZE - 80;
    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT_UNALIGNED;
    private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED;
    private static final ValueLayout.OfShort SHORT = ValueLayout.JAVA_SHORT_UNALIGNED;
    private static final int TIMESTAMPS = 0x01,
            FIN_FROM_CLIENT = 0x02,
            FIN_FROM_SERVER = 0x04,
            COMMITTED = 0x08,
            COMMITTED_EARLY = 0x10;
    private static final int LOCAL_TIMESTAMPS = 0x01, LOCAL_SACK = 0x02;

    private ConnRecord() {}

    /** Whether {@code c} can be written: its peer's name fits. */
    static boolean fits(Conn c) {
        return c.peer != null && c.local != null && c.peer.getBytes(StandardCharsets.UTF_8).length <= MAX_PEER_NAME;
    }

    private static int flags(Conn c) {
        return (c.translation.timestamps ? TIMESTAMPS : 0)
                | (c.finFromClient ? FIN_FROM_CLIENT : 0)
                | (c.finFromServer ? FIN_FROM_SERVER : 0)
                | (c.committed ? COMMITTED : 0)
                | (c.committedEarly ? COMMITTED_EARLY : 0);
    }

    /** What a record of {@code c} would say that changes over its life: its state and flags. */
    static int version(Conn c) {
        return (c.state.code & 0xff) << 8 | flags(c);
    }

    /** The same of a record. */
    static int version(MemorySegment s) {
        return (s.get(ValueLayout.JAVA_BYTE, 8) & 0xff) << 8 | (s.get(ValueLayout.JAVA_BYTE, 9) & 0xff);
    }

    static void write(Conn c, MemorySegment s) {
        s.fill((byte) 0);
        s.set(LONG, 0, c.key);
        s.set(ValueLayout.JAVA_BYTE, 8, c.state.code);
        s.set(ValueLayout.JAVA_BYTE, 9, (byte) flags(c));
        s.set(ValueLayout.JAVA_BYTE, 10, (byte) c.translation.chosenWindowScale);
        s.set(ValueLayout.JAVA_BYTE, 11, (byte) c.translation.entryWindowScale);
        s.set(SHORT, 12, (short) c.forwardPort);
        s.set(INT, 16, c.peerAddress);
        s.set(INT, 20, c.translation.seqDelta);
        s.set(INT, 24, c.translation.tsDelta);
        s.set(LONG, 32, c.connId);
        s.set(LONG, 40, c.peerIncarnation);
        s.set(INT, 48, c.clientIsn);
        s.set(INT, 52, c.clientNext);
        s.set(INT, 56, c.clientAck);
        s.set(INT, 60, c.serverNext);
        HandshakeInit l = c.local;
        s.set(INT, 64, l.isn());
        s.set(INT, 68, l.tsVal());
        s.set(SHORT, 72, (short) l.mss());
        s.set(ValueLayout.JAVA_BYTE, 74, (byte) l.windowScale());
        s.set(ValueLayout.JAVA_BYTE, 75, (byte)
                ((l.timestamps() ? LOCAL_TIMESTAMPS : 0) | (l.sackPermitted() ? LOCAL_SACK : 0)));
        byte[] name = c.peer.getBytes(StandardCharsets.UTF_8);
        MemorySegment.copy(name, 0, s, ValueLayout.JAVA_BYTE, 80, name.length);
    }

    static long key(MemorySegment s) {
        return s.get(LONG, 0);
    }

    /** The record's state, or null if its number names none. */
    static State state(MemorySegment s) {
        return State.ofCode(s.get(ValueLayout.JAVA_BYTE, 8));
    }

    /** Fills {@code c} (freshly allocated under the record's key) from the record; not its state. */
    static void read(MemorySegment s, Conn c) {
        int flags = s.get(ValueLayout.JAVA_BYTE, 9);
        c.translation.timestamps = (flags & TIMESTAMPS) != 0;
        c.finFromClient = (flags & FIN_FROM_CLIENT) != 0;
        c.finFromServer = (flags & FIN_FROM_SERVER) != 0;
        c.committed = (flags & COMMITTED) != 0;
        c.committedEarly = (flags & COMMITTED_EARLY) != 0;
        c.translation.chosenWindowScale = s.get(ValueLayout.JAVA_BYTE, 10);
        c.translation.entryWindowScale = s.get(ValueLayout.JAVA_BYTE, 11);
        c.forwardPort = Short.toUnsignedInt(s.get(SHORT, 12));
        c.peerAddress = s.get(INT, 16);
        c.translation.seqDelta = s.get(INT, 20);
        c.translation.tsDelta = s.get(INT, 24);
        c.connId = s.get(LONG, 32);
        c.peerIncarnation = s.get(LONG, 40);
        c.clientIsn = s.get(INT, 48);
        c.clientNext = s.get(INT, 52);
        c.clientAck = s.get(INT, 56);
        c.serverNext = s.get(INT, 60);
        int options = s.get(ValueLayout.JAVA_BYTE, 75);
        short mss = s.get(SHORT, 72);
        c.local = new HandshakeInit(
                s.get(INT, 64),
                s.get(INT, 68),
                s.get(ValueLayout.JAVA_BYTE, 74),
                mss == -1 ? -1 : Short.toUnsignedInt(mss),
                (options & LOCAL_TIMESTAMPS) != 0,
                (options & LOCAL_SACK) != 0);
        int n = 0;
        while (n < MAX_PEER_NAME && s.get(ValueLayout.JAVA_BYTE, 80 + n) != 0) n++;
        c.peer = new String(s.asSlice(80, n).toArray(ValueLayout.JAVA_BYTE), StandardCharsets.UTF_8);
    }
}
