package dev.baton.control;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.management.ThreadMXBean;
import java.io.ByteArrayInputStream;
import java.io.EOFException;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/**
 * Whatever a peer sends, the decoder answers with a message or a {@link FrameException}: never
 * another exception, and never an allocation sized by what the frame claims rather than what it holds.
 */
class ControlFrameProperties {
    private static final ThreadMXBean THREADS = (ThreadMXBean) ManagementFactory.getThreadMXBean();

    /**
     * Decodes twice and measures the second time: the first run of a code path also pays for class
     * loading and string-concatenation bootstraps, which say nothing about the frame.
     */
    @Property(tries = 3000)
    void decoderThrowsOnlyFrameExceptionAndAllocatesLittle(@ForAll("frames") byte[] frame) {
        decodeQuietly(frame);
        long before = THREADS.getCurrentThreadAllocatedBytes();
        decodeQuietly(frame);
        long allocated = THREADS.getCurrentThreadAllocatedBytes() - before;
        assertThat(allocated).isLessThanOrEqualTo(ControlFrame.MAX_FRAME_LENGTH);
    }

    @Property(tries = 1000)
    void streamReaderThrowsOnlyFrameExceptionOrEndOfStream(@ForAll("frames") byte[] frame) throws Exception {
        FrameReader reader = new FrameReader(new ByteArrayInputStream(frame));
        readQuietly(reader);
        reader = new FrameReader(new ByteArrayInputStream(frame));
        long before = THREADS.getCurrentThreadAllocatedBytes();
        readQuietly(reader);
        long allocated = THREADS.getCurrentThreadAllocatedBytes() - before;
        assertThat(allocated).isLessThanOrEqualTo(ControlFrame.MAX_FRAME_LENGTH);
    }

    /** Any exception other than FrameException escapes and fails the property. */
    private static void decodeQuietly(byte[] frame) {
        try {
            ControlFrame.decode(ByteBuffer.wrap(frame));
        } catch (FrameException e) {
            assertThat(e.reason()).isNotNull();
        }
    }

    private static void readQuietly(FrameReader reader) throws Exception {
        try {
            reader.read();
        } catch (FrameException | EOFException e) {
            assertThat(e).isNotNull();
        }
    }

    @Property(tries = 500)
    void everyEncodedMessageDecodesToItself(@ForAll("messages") ControlMessage m) throws FrameException {
        assertThat(ControlFrameTest.decode(ControlFrameTest.encode(m))).isEqualTo(m);
    }

    @Provide
    Arbitrary<byte[]> frames() {
        return Arbitraries.oneOf(randomBytes(), plausibleHeaders(), mutatedFrames());
    }

    /** Anything at all. */
    private Arbitrary<byte[]> randomBytes() {
        return Arbitraries.bytes().array(byte[].class).ofMaxSize(300);
    }

    /** A header that passes the first checks, then a random payload: reaches every type's layout. */
    private Arbitrary<byte[]> plausibleHeaders() {
        return Combinators.combine(
                        Arbitraries.integers().between(0, 10),
                        Arbitraries.longs(),
                        Arbitraries.bytes().array(byte[].class).ofMaxSize(200),
                        Arbitraries.of(true, true, true, false))
                .as((type, corr, payload, honestLength) -> {
                    ByteBuffer b = ByteBuffer.allocate(ControlFrame.HEADER_LENGTH + payload.length);
                    b.putInt(honestLength ? b.capacity() - 4 : payload.length * 977)
                            .put(ControlFrame.VERSION)
                            .put(type.byteValue())
                            .putShort((short) 0)
                            .putLong(corr)
                            .put(payload);
                    return b.array();
                });
    }

    /** A valid frame of every type with a few bytes changed or the end cut: near misses. */
    private Arbitrary<byte[]> mutatedFrames() {
        List<byte[]> valid =
                ControlFrameTest.everyMessage().map(ControlFrameTest::encode).toList();
        return Combinators.combine(
                        Arbitraries.of(valid),
                        Arbitraries.integers().between(0, 1 << 20).list().ofMaxSize(4),
                        Arbitraries.bytes().list().ofSize(4),
                        Arbitraries.integers().between(0, 8))
                .as((frame, positions, values, cut) -> {
                    byte[] f = frame.clone();
                    for (int i = 0; i < positions.size(); i++) {
                        f[positions.get(i) % f.length] = values.get(i);
                    }
                    return cut == 0 ? f : Arrays.copyOf(f, Math.max(0, f.length - cut));
                });
    }

    @Provide
    Arbitrary<ControlMessage> messages() {
        Arbitrary<byte[]> packets = Arbitraries.bytes().array(byte[].class).ofMaxSize(ControlMessage.MAX_PACKET_LENGTH);
        Arbitrary<ControlMessage> requests = Combinators.combine(
                        Arbitraries.longs(),
                        Arbitraries.integers(),
                        Arbitraries.integers(),
                        Arbitraries.integers().between(-1, 14),
                        Arbitraries.integers().between(0, 65535),
                        Arbitraries.of(true, false),
                        Arbitraries.of(true, false),
                        packets)
                .as((id, isn, ts, ws, mss, t, s, syn) ->
                        new ControlMessage.HandoffRequest(id, isn, ts, ws, mss, t, s, syn, syn.clone()));
        Arbitrary<ControlMessage> acks = Combinators.combine(
                        Arbitraries.longs(),
                        Arbitraries.integers(),
                        Arbitraries.integers(),
                        Arbitraries.integers().between(-1, 14),
                        Arbitraries.integers().between(0, 65535),
                        Arbitraries.of(true, false),
                        Arbitraries.of(true, false))
                .as((id, isn, ts, ws, mss, t, s) ->
                        new ControlMessage.HandoffAck(id, isn, ts, ws, mss, t, s, (int) (id & 0xffff)));
        Arbitrary<ControlMessage> hellos = Combinators.combine(
                        Arbitraries.strings().ofMinLength(1).ofMaxLength(60).filter(n -> isEncodable(n)),
                        Arbitraries.integers(),
                        Arbitraries.integers().between(0, 65535),
                        Arbitraries.longs(),
                        Arbitraries.bytes().array(byte[].class).ofSize(ControlMessage.Hello.NONCE_LENGTH))
                .as(ControlMessage.Hello::new);
        Arbitrary<ControlMessage> auths = Arbitraries.bytes()
                .array(byte[].class)
                .ofSize(ControlMessage.Auth.MAC_LENGTH)
                .map(ControlMessage.Auth::new);
        Arbitrary<ControlMessage> contents = Combinators.combine(
                        Arbitraries.of(true, false),
                        Arbitraries.of(true, false),
                        Arbitraries.strings()
                                .ofMaxLength(40)
                                .filter(ControlFrameProperties::isEncodable)
                                .map(p -> "/" + p)
                                .list()
                                .ofMaxSize(50))
                .as(ControlMessage.Content::new);
        Arbitrary<ControlMessage> commits = Combinators.combine(
                        Arbitraries.longs(),
                        Arbitraries.bytes().array(byte[].class).ofMaxSize(2 * ControlMessage.MAX_PACKET_LENGTH))
                .as(ControlMessage.Commit::new);
        return Arbitraries.oneOf(requests, acks, hellos, auths, contents, commits);
    }

    private static boolean isEncodable(String s) {
        try {
            return Utf8.encode(s).length <= ControlMessage.MAX_NAME_LENGTH;
        } catch (IllegalArgumentException e) {
            return false;
        }
    }
}
