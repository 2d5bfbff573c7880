package dev.baton.control;

import dev.baton.control.ControlMessage.Abort;
import dev.baton.control.ControlMessage.Auth;
import dev.baton.control.ControlMessage.Content;
import dev.baton.control.ControlMessage.HandoffAck;
import dev.baton.control.ControlMessage.HandoffRefuse;
import dev.baton.control.ControlMessage.HandoffRequest;
import dev.baton.control.ControlMessage.Heartbeat;
import dev.baton.control.ControlMessage.Hello;
import dev.baton.control.ControlMessage.Terminate;
import dev.baton.control.FrameException.Reason;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

/**
 * The control channel's wire format: a length-prefixed frame with a fixed header, all big-endian.
 *
 * <pre>
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                 length (bytes after this field)               |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |  version (2)  |     type      |          flags (0)            |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                  correlation id (64 bits)                     |
 * |                                                               |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                    payload (type's layout) ...                |
 * </pre>
 *
 * Payload layouts ({@code str8}/{@code str16}: UTF-8 bytes after a u8/u16 length; {@code bytes16}
 * likewise; {@code opts}: bit 0 timestamps, bit 1 SACK permitted):
 * <ul>
 *   <li>HELLO: name str8, ipv4 u32, servicePort u16, incarnation u64, nonce 16 bytes</li>
 *   <li>AUTH: mac 32 bytes (HMAC-SHA256 over both Hellos and the sender's role, {@link LinkAuth})</li>
 *   <li>HEARTBEAT: activeConnections i32, handoffsInFlight i64</li>
 *   <li>HANDOFF_REQUEST: isn u32, tsVal u32, windowScale i8, mss u16, opts u8, syn bytes16, ack bytes16</li>
 *   <li>HANDOFF_ACK: isn u32, tsVal u32, windowScale i8, mss u16, opts u8, forwardPort u16</li>
 *   <li>HANDOFF_REFUSE: reason i32</li>
 *   <li>TERMINATE, ABORT: empty (the connection id is the correlation id)</li>
 *   <li>COMMIT: request bytes16</li>
 *   <li>CONTENT: flags u8 (bit 0 first, bit 1 last), count u16, count &times; path str16</li>
 * </ul>
 *
 * On a link, each side sends HELLO, then AUTH; every frame after its sender's AUTH is followed by a
 * 16-byte tag that the length field does not count ({@link LinkAuth}), and is decoded only once
 * its tag verifies. This class knows frames only, not tags.
 *
 * <p>The frame is checked once, completely, before any record is built: a reader never allocates more
 * than {@link #MAX_FRAME_LENGTH} for a frame whatever its length field says, and every bad frame is a
 * {@link FrameException} with a reason, never another exception.
 */
public final class ControlFrame {
    /** 2: Hello carries a nonce, Auth frames, a tag after every later frame (1 had neither). */
    public static final byte VERSION = 2;

    public static final int LENGTH_OFFSET = 0;
    public static final int VERSION_OFFSET = 4;
    public static final int TYPE_OFFSET = 5;
    public static final int FLAGS_OFFSET = 6;
    public static final int CORRELATION_ID_OFFSET = 8;
    public static final int HEADER_LENGTH = 16;
    /** Size of the length field, which counts every byte after itself. */
    public static final int LENGTH_FIELD_SIZE = 4;

    /** Largest frame, header and length field included. */
    public static final int MAX_FRAME_LENGTH = 65536;

    public static final int MAX_PAYLOAD_LENGTH = MAX_FRAME_LENGTH - HEADER_LENGTH;

    static final int OPT_TIMESTAMPS = 1;
    static final int OPT_SACK_PERMITTED = 2;
    static final int CONTENT_FIRST = 1;
    static final int CONTENT_LAST = 2;

    private ControlFrame() {}

    public static int length(ByteBuffer b, int frameOffset) {
        return b.getInt(frameOffset + LENGTH_OFFSET);
    }

    public static int version(ByteBuffer b, int frameOffset) {
        return b.get(frameOffset + VERSION_OFFSET) & 0xff;
    }

    public static int type(ByteBuffer b, int frameOffset) {
        return b.get(frameOffset + TYPE_OFFSET) & 0xff;
    }

    public static int flags(ByteBuffer b, int frameOffset) {
        return b.getShort(frameOffset + FLAGS_OFFSET) & 0xffff;
    }

    public static long correlationId(ByteBuffer b, int frameOffset) {
        return b.getLong(frameOffset + CORRELATION_ID_OFFSET);
    }

    /**
     * Checks a length field before anything is read after it, so a stream reader never waits for or
     * stores more than one maximum frame.
     *
     * @return the whole frame's size in bytes, length field included
     */
    public static int checkLengthField(int length) throws FrameException {
        if (length < HEADER_LENGTH - LENGTH_FIELD_SIZE) {
            throw new FrameException(Reason.TOO_SHORT, "length " + Integer.toUnsignedString(length));
        }
        if (length > MAX_FRAME_LENGTH - LENGTH_FIELD_SIZE) {
            throw new FrameException(Reason.TOO_LONG, "length " + length);
        }
        return length + LENGTH_FIELD_SIZE;
    }

    /**
     * Writes {@code m} as one frame at {@code dst}'s position and advances it.
     *
     * @return the frame's size in bytes
     * @throws java.nio.BufferOverflowException if {@code dst} has less room than the frame needs;
     *         a buffer of {@link #MAX_FRAME_LENGTH} bytes always has enough
     */
    public static int encode(ControlMessage m, ByteBuffer dst) {
        if (dst.order() != ByteOrder.BIG_ENDIAN) {
            throw new IllegalArgumentException("control frames are big-endian");
        }
        int start = dst.position();
        dst.putInt(0)
                .put(VERSION)
                .put((byte) MessageType.of(m))
                .putShort((short) 0)
                .putLong(m.correlationId());
        switch (m) {
            case Hello h -> {
                byte[] name = Utf8.encode(h.nodeName());
                dst.put((byte) name.length)
                        .put(name)
                        .putInt(h.ipv4())
                        .putShort((short) h.servicePort())
                        .putLong(h.incarnation())
                        .put(h.nonce());
            }
            case Auth a -> dst.put(a.mac());
            case Heartbeat h -> dst.putInt(h.activeConnections()).putLong(h.flags());
            case HandoffRequest r -> {
                putInitialState(
                        dst,
                        r.entryIsn(),
                        r.entryTsVal(),
                        r.entryWindowScale(),
                        r.entryMss(),
                        r.timestamps(),
                        r.sackPermitted());
                dst.putShort((short) r.syn().length).put(r.syn());
                dst.putShort((short) r.ack().length).put(r.ack());
            }
            case HandoffAck a -> {
                putInitialState(
                        dst,
                        a.chosenIsn(),
                        a.chosenTsVal(),
                        a.chosenWindowScale(),
                        a.chosenMss(),
                        a.timestamps(),
                        a.sackPermitted());
                dst.putShort((short) a.forwardPort());
            }
            case HandoffRefuse r -> dst.putInt(r.reason());
            case Terminate t -> {}
            case Abort a -> {}
            case ControlMessage.Commit c ->
                dst.putShort((short) c.request().length).put(c.request());
            case Content c -> {
                dst.put((byte) ((c.first() ? CONTENT_FIRST : 0) | (c.last() ? CONTENT_LAST : 0)));
                dst.putShort((short) c.paths().size());
                for (String p : c.paths()) {
                    byte[] b = Utf8.encode(p);
                    dst.putShort((short) b.length).put(b);
                }
            }
        }
        int size = dst.position() - start;
        dst.putInt(start + LENGTH_OFFSET, size - LENGTH_FIELD_SIZE);
        return size;
    }

    private static void putInitialState(
            ByteBuffer dst, int isn, int tsVal, int windowScale, int mss, boolean timestamps, boolean sack) {
        dst.putInt(isn)
                .putInt(tsVal)
                .put((byte) windowScale)
                .putShort((short) mss)
                .put((byte) ((timestamps ? OPT_TIMESTAMPS : 0) | (sack ? OPT_SACK_PERMITTED : 0)));
    }

    /**
     * Reads the one frame that fills {@code src} from its position to its limit. On success the
     * position is at the limit; on failure it is unspecified.
     */
    public static ControlMessage decode(ByteBuffer src) throws FrameException {
        if (src.order() != ByteOrder.BIG_ENDIAN) {
            throw new IllegalArgumentException("control frames are big-endian");
        }
        int start = src.position();
        need(src, LENGTH_FIELD_SIZE);
        int size = checkLengthField(length(src, start));
        need(src, size);
        if (src.remaining() > size) {
            throw new FrameException(Reason.TRAILING_BYTES, (src.remaining() - size) + " bytes after the frame");
        }
        if (version(src, start) != VERSION) {
            throw new FrameException(Reason.BAD_VERSION, "version " + version(src, start));
        }
        if (flags(src, start) != 0) {
            throw new FrameException(Reason.BAD_FLAGS, "flags " + flags(src, start));
        }
        int type = type(src, start);
        long corr = correlationId(src, start);
        if (corr != 0
                && (type == MessageType.HELLO
                        || type == MessageType.AUTH
                        || type == MessageType.HEARTBEAT
                        || type == MessageType.CONTENT)) {
            // These name no connection; a non-zero id would be ignored, so the frame would decode to a
            // message that encodes differently (found by fuzzing): refuse it as any field out of range.
            throw new FrameException(Reason.BAD_FIELD, "correlation id " + corr + " on type " + type);
        }
        src.position(start + HEADER_LENGTH);
        try {
            ControlMessage m = switch (type) {
                case MessageType.HELLO -> {
                    need(src, 1);
                    String name = string(src, src.get() & 0xff);
                    need(src, 4 + 2 + 8 + Hello.NONCE_LENGTH);
                    int ipv4 = src.getInt();
                    int servicePort = src.getShort() & 0xffff;
                    long incarnation = src.getLong();
                    byte[] nonce = new byte[Hello.NONCE_LENGTH];
                    src.get(nonce);
                    yield new Hello(name, ipv4, servicePort, incarnation, nonce);
                }
                case MessageType.AUTH -> {
                    need(src, Auth.MAC_LENGTH);
                    byte[] mac = new byte[Auth.MAC_LENGTH];
                    src.get(mac);
                    yield new Auth(mac);
                }
                case MessageType.HEARTBEAT -> {
                    need(src, 4 + 8);
                    yield new Heartbeat(src.getInt(), src.getLong());
                }
                case MessageType.HANDOFF_REQUEST -> {
                    need(src, 12);
                    int isn = src.getInt();
                    int tsVal = src.getInt();
                    int ws = src.get();
                    int mss = src.getShort() & 0xffff;
                    int opts = options(src.get());
                    byte[] syn = bytes16(src);
                    byte[] ack = bytes16(src);
                    yield new HandoffRequest(
                            corr,
                            isn,
                            tsVal,
                            ws,
                            mss,
                            (opts & OPT_TIMESTAMPS) != 0,
                            (opts & OPT_SACK_PERMITTED) != 0,
                            syn,
                            ack);
                }
                case MessageType.HANDOFF_ACK -> {
                    need(src, 14);
                    int isn = src.getInt();
                    int tsVal = src.getInt();
                    int ws = src.get();
                    int mss = src.getShort() & 0xffff;
                    int opts = options(src.get());
                    int forwardPort = src.getShort() & 0xffff;
                    yield new HandoffAck(
                            corr,
                            isn,
                            tsVal,
                            ws,
                            mss,
                            (opts & OPT_TIMESTAMPS) != 0,
                            (opts & OPT_SACK_PERMITTED) != 0,
                            forwardPort);
                }
                case MessageType.HANDOFF_REFUSE -> {
                    need(src, 4);
                    yield new HandoffRefuse(corr, src.getInt());
                }
                case MessageType.TERMINATE -> new Terminate(corr);
                case MessageType.ABORT -> new Abort(corr);
                case MessageType.COMMIT -> new ControlMessage.Commit(corr, bytes16(src));
                case MessageType.CONTENT -> {
                    need(src, Content.FIXED_LENGTH);
                    int flags = src.get() & 0xff;
                    if ((flags & ~(CONTENT_FIRST | CONTENT_LAST)) != 0) {
                        throw new FrameException(Reason.BAD_FIELD, "content flags " + flags);
                    }
                    int count = src.getShort() & 0xffff;
                    // Each path takes at least 2 bytes: refuse an impossible count before sizing a list.
                    if (count > src.remaining() / 2) {
                        throw new FrameException(Reason.TRUNCATED, count + " paths in " + src.remaining() + " bytes");
                    }
                    List<String> paths = new ArrayList<>(count);
                    for (int i = 0; i < count; i++) {
                        need(src, 2);
                        paths.add(string(src, src.getShort() & 0xffff));
                    }
                    yield new Content((flags & CONTENT_FIRST) != 0, (flags & CONTENT_LAST) != 0, paths);
                }
                default -> throw new FrameException(Reason.UNKNOWN_TYPE, "type " + type);
            };
            if (src.hasRemaining()) {
                throw new FrameException(Reason.TRAILING_BYTES, src.remaining() + " bytes after the payload");
            }
            return m;
        } catch (IllegalArgumentException e) {
            throw new FrameException(Reason.BAD_FIELD, e.getMessage());
        }
    }

    private static void need(ByteBuffer src, int n) throws FrameException {
        if (src.remaining() < n) {
            throw new FrameException(Reason.TRUNCATED, "need " + n + " bytes, have " + src.remaining());
        }
    }

    private static String string(ByteBuffer src, int length) throws FrameException {
        need(src, length);
        return Utf8.decode(src, length);
    }

    private static byte[] bytes16(ByteBuffer src) throws FrameException {
        need(src, 2);
        int n = src.getShort() & 0xffff;
        need(src, n);
        byte[] b = new byte[n];
        src.get(b);
        return b;
    }

    private static int options(byte b) throws FrameException {
        int opts = b & 0xff;
        if ((opts & ~(OPT_TIMESTAMPS | OPT_SACK_PERMITTED)) != 0) {
            throw new FrameException(Reason.BAD_FIELD, "option bits " + opts);
        }
        return opts;
    }
}
