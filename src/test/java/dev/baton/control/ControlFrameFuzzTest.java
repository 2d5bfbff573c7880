package dev.baton.control;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import java.io.ByteArrayInputStream;
import java.io.EOFException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * Fuzz targets for the control channel's frame codec (Jazzer; seeds in
 * {@code ControlFrameFuzzTestInputs/}, replayed by every test run; {@code JAZZER_FUZZ=1} explores).
 */
class ControlFrameFuzzTest {

    /**
     * Any bytes from a peer: a message or a {@link FrameException}, nothing else; the stream reader
     * agrees with the buffer decoder; and the codec is canonical: a decoded frame encodes back to
     * exactly the bytes it came from (so no field is silently changed on the way).
     */
    @FuzzTest(maxDuration = "5m")
    void anyFrame(byte[] frame) throws Exception {
        ControlMessage read;
        try {
            read = new FrameReader(new ByteArrayInputStream(frame)).read();
        } catch (FrameException | EOFException e) {
            read = null;
        }
        ControlMessage m;
        try {
            m = ControlFrame.decode(ByteBuffer.wrap(frame));
        } catch (FrameException e) {
            assertThat(e.reason()).isNotNull();
            if (read != null) {
                // The reader takes one frame off a stream and leaves what follows for the next one.
                assertThat(e.reason()).isEqualTo(FrameException.Reason.TRAILING_BYTES);
                int size = ControlFrame.checkLengthField(ByteBuffer.wrap(frame).getInt(0));
                assertThat(ControlFrame.decode(ByteBuffer.wrap(frame, 0, size))).isEqualTo(read);
            }
            return;
        }
        assertThat(read).isEqualTo(m);
        ByteBuffer out = ByteBuffer.allocate(ControlFrame.MAX_FRAME_LENGTH);
        int size = ControlFrame.encode(m, out);
        assertThat(out.flip()).as("re-encoded %s", m).isEqualTo(ByteBuffer.wrap(frame));
        assertThat(size).isEqualTo(frame.length);

        // Two frames back to back on a stream: both read, then a clean end.
        byte[] twice = new byte[frame.length * 2];
        System.arraycopy(frame, 0, twice, 0, frame.length);
        System.arraycopy(frame, 0, twice, frame.length, frame.length);
        FrameReader reader = new FrameReader(new ByteArrayInputStream(twice));
        assertThat(reader.read()).isEqualTo(m);
        assertThat(reader.read()).isEqualTo(m);
        assertThatThrownBy(reader::read).isInstanceOf(EOFException.class);
    }

    /**
     * Messages built from fuzz data: a constructor refuses what cannot be encoded
     * (IllegalArgumentException), and whatever it accepts fits one frame and decodes to an equal
     * message.
     */
    @FuzzTest(maxDuration = "5m")
    void roundTrip(FuzzedDataProvider data) throws Exception {
        ControlMessage m;
        try {
            m = build(data);
        } catch (IllegalArgumentException refused) {
            return;
        }
        ByteBuffer out = ByteBuffer.allocate(ControlFrame.MAX_FRAME_LENGTH);
        int size = ControlFrame.encode(m, out);
        assertThat(size).isBetween(ControlFrame.HEADER_LENGTH, ControlFrame.MAX_FRAME_LENGTH);
        assertThat(ControlFrame.decode(out.flip())).isEqualTo(m);
    }

    private static ControlMessage build(FuzzedDataProvider d) {
        long id = d.consumeLong();
        return switch (d.consumeInt(MessageType.HELLO, MessageType.AUTH)) {
            case MessageType.HELLO ->
                new ControlMessage.Hello(
                        d.consumeString(300),
                        d.consumeInt(),
                        d.consumeInt(-1, 0x10000),
                        d.consumeLong(),
                        d.consumeBytes(d.consumeInt(15, 17)));
            case MessageType.AUTH -> new ControlMessage.Auth(d.consumeBytes(d.consumeInt(31, 33)));
            case MessageType.HEARTBEAT -> new ControlMessage.Heartbeat(d.consumeInt(), d.consumeLong());
            case MessageType.HANDOFF_REQUEST ->
                new ControlMessage.HandoffRequest(
                        id,
                        d.consumeInt(),
                        d.consumeInt(),
                        d.consumeInt(-2, 15),
                        d.consumeInt(-1, 0x10000),
                        d.consumeBoolean(),
                        d.consumeBoolean(),
                        d.consumeBytes(d.consumeInt(0, 1600)),
                        d.consumeBytes(d.consumeInt(0, 1600)));
            case MessageType.HANDOFF_ACK ->
                new ControlMessage.HandoffAck(
                        id,
                        d.consumeInt(),
                        d.consumeInt(),
                        d.consumeInt(-2, 15),
                        d.consumeInt(-1, 0x10000),
                        d.consumeBoolean(),
                        d.consumeBoolean(),
                        d.consumeInt(-1, 0x10000));
            case MessageType.HANDOFF_REFUSE -> new ControlMessage.HandoffRefuse(id, d.consumeInt(-1, 9));
            case MessageType.TERMINATE -> new ControlMessage.Terminate(id);
            case MessageType.ABORT -> new ControlMessage.Abort(id);
            case MessageType.CONTENT -> {
                boolean first = d.consumeBoolean();
                boolean last = d.consumeBoolean();
                List<String> paths = new ArrayList<>();
                int n = d.consumeInt(0, 64);
                for (int i = 0; i < n && d.remainingBytes() > 0; i++) {
                    paths.add((d.consumeBoolean() ? "/" : "") + d.consumeString(5000));
                }
                yield new ControlMessage.Content(first, last, paths);
            }
            default -> new ControlMessage.Commit(id, d.consumeBytes(d.consumeInt(0, 40_000)));
        };
    }
}
