package dev.baton.control;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import dev.baton.control.ControlMessage.Abort;
import dev.baton.control.ControlMessage.HandoffRequest;
import dev.baton.control.ControlMessage.Terminate;
import dev.baton.control.ControlPlane.Config;
import dev.baton.control.ControlPlane.PeerSpec;
import dev.baton.control.ControlPlaneTest.Recorder;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The control channel's authentication on 127.0.0.1: "a" dials, "b" accepts. Strangers, tampering
 * relays and replays of recorded sessions must be refused, counted, and never delivered.
 */
@Timeout(60)
class ControlPlaneAuthTest {
    private static final InetAddress LOOPBACK = InetAddress.getLoopbackAddress();
    private static final Duration WAIT = Duration.ofSeconds(10);
    private static final int TAG = LinkAuth.TAG_LENGTH;

    private final ClusterKey key = ClusterKey.random();
    private final List<AutoCloseable> closeables = new ArrayList<>();
    private final Recorder ra = new Recorder();
    private final Recorder rb = new Recorder();
    private int portA;
    private int portB;

    @BeforeEach
    void ports() throws IOException {
        portA = freePort();
        portB = freePort();
    }

    @AfterEach
    void closeAll() throws Exception {
        for (AutoCloseable c : closeables.reversed()) {
            c.close();
        }
    }

    // ---- members

    @Test
    void membersWithTheSameKeyLinkUpAndDeliver() throws Exception {
        ControlPlane b = start(config("b", portB, "a", portA), key, rb);
        ControlPlane a = start(config("a", portA, "b", portB), key, ra);
        await("link up", () -> ra.isUp("b") && rb.isUp("a"));
        HandoffRequest req = request(7);
        assertThat(a.send("b", req)).isTrue();
        assertThat(b.send("a", new Terminate(7))).isTrue();
        await(
                "delivered",
                () -> rb.nonHeartbeats("a").contains(req)
                        && ra.nonHeartbeats("b").contains(new Terminate(7)));
        assertThat(rb.hello("a").incarnation()).isEqualTo(a.incarnation());
        assertThat(ra.hello("b").incarnation()).isEqualTo(b.incarnation()).isNotEqualTo(a.incarnation());
        for (ControlPlane p : List.of(a, b)) {
            assertThat(p.get(ControlCounter.AUTH_FAILED)).isZero();
            assertThat(p.get(ControlCounter.BAD_MAC)).isZero();
            assertThat(p.get(ControlCounter.MALFORMED)).isZero();
        }
    }

    @Test
    void differentKeysNeverLinkUpAndBothSidesCount() throws Exception {
        ControlPlane b = start(config("b", portB, "a", portA), ClusterKey.random(), rb);
        ControlPlane a = start(config("a", portA, "b", portB), key, ra);
        await(
                "both refused at least twice",
                () -> a.get(ControlCounter.AUTH_FAILED) >= 2 && b.get(ControlCounter.AUTH_FAILED) >= 2);
        assertThat(ra.events).isEmpty();
        assertThat(rb.events).isEmpty();
        assertThat(a.upPeers()).isEmpty();
        assertThat(b.upPeers()).isEmpty();
        assertThat(a.send("b", new Abort(1))).isFalse();
    }

    // ---- a man in the middle

    @Test
    void aFlippedBitClosesTheLinkIsCountedAndTheLinkRecovers() throws Exception {
        AtomicBoolean flipped = new AtomicBoolean();
        Relay relay = relay((i, f) -> {
            if (f[ControlFrame.TYPE_OFFSET] == MessageType.HANDOFF_REQUEST && flipped.compareAndSet(false, true)) {
                f[ControlFrame.HEADER_LENGTH] ^= 0x01; // one bit of the entry's ISN
            }
            return f;
        });
        ControlPlane b = start(config("b", portB, "a", portA), key, rb);
        ControlPlane a = start(config("a", portA, "b", relay.port()), key, ra);
        await("link up", () -> rb.isUp("a") && ra.isUp("b"));
        HandoffRequest req = request(21);
        assertThat(a.send("b", req)).isTrue();

        await(
                "refused or delivered",
                () -> b.get(ControlCounter.BAD_MAC) == 1 || !handoffRequests(rb).isEmpty());
        assertThat(flipped).isTrue();
        assertThat(handoffRequests(rb))
                .as("the altered request is never delivered")
                .isEmpty();
        assertThat(b.get(ControlCounter.BAD_MAC)).isEqualTo(1L);
        await(
                "closed and back",
                () -> rb.events.size() >= 3 && rb.isUp("a") && a.peer("b").up());
        assertThat(rb.events).startsWith("up:a", "down:a", "up:a");

        assertThat(a.send("b", req)).isTrue();
        await("delivered intact after the reconnect", () -> !handoffRequests(rb).isEmpty());
        assertThat(handoffRequests(rb)).containsExactly(req);
        assertThat(b.get(ControlCounter.AUTH_FAILED)).isEqualTo(0L);
    }

    @Test
    void aDuplicatedFrameIsDeliveredOnceThenRefused() throws Exception {
        AtomicBoolean done = new AtomicBoolean();
        Relay relay = relay((i, f) -> isTerminate(f) && done.compareAndSet(false, true) ? concat(f, f) : f);
        Duplex link = link(relay);
        sendTerminates(link.a);
        awaitRefusedOrDelivered(link.b);
        assertThat(terminates(rb)).containsExactly(new Terminate(1));
        assertThat(link.b.get(ControlCounter.BAD_MAC)).isEqualTo(1L);
    }

    @Test
    void aDroppedFrameMakesTheNextOneFail() throws Exception {
        AtomicBoolean done = new AtomicBoolean();
        Relay relay = relay((i, f) -> isTerminate(f) && done.compareAndSet(false, true) ? new byte[0] : f);
        Duplex link = link(relay);
        sendTerminates(link.a);
        awaitRefusedOrDelivered(link.b);
        assertThat(terminates(rb)).isEmpty();
        assertThat(link.b.get(ControlCounter.BAD_MAC)).isEqualTo(1L);
    }

    @Test
    void reorderedFramesAreRefused() throws Exception {
        byte[][] held = new byte[1][];
        Relay relay = relay((i, f) -> {
            if (isTerminate(f) && held[0] == null) {
                held[0] = f; // hold Terminate(1) back ...
                return new byte[0];
            }
            if (isTerminate(f) && held[0].length > 0) {
                byte[] out = concat(f, held[0]); // ... and send it after Terminate(2)
                held[0] = new byte[0];
                return out;
            }
            return f;
        });
        Duplex link = link(relay);
        sendTerminates(link.a);
        awaitRefusedOrDelivered(link.b);
        assertThat(terminates(rb)).isEmpty();
        assertThat(link.b.get(ControlCounter.BAD_MAC)).isEqualTo(1L);
    }

    @Test
    void aRecordedSessionReplayedToTheAcceptorIsRefused() throws Exception {
        Relay relay = relay((i, f) -> f);
        ControlPlane b = start(config("b", portB, "a", portA), key, rb);
        ControlPlane a = start(config("a", portA, "b", relay.port()), key, ra);
        await("link up", () -> rb.isUp("a") && ra.isUp("b"));
        HandoffRequest req = request(33);
        assertThat(a.send("b", req)).isTrue();
        await("delivered once", () -> handoffRequests(rb).size() == 1);
        a.close();
        await("a gone", () -> !rb.isUp("a"));
        ByteArrayOutputStream session = relay.recorded.getFirst();
        byte[] bytes;
        synchronized (session) {
            bytes = session.toByteArray();
        }
        // Hello, Auth, then the tagged load report and the request at least.
        assertThat(bytes.length).isGreaterThan(200);

        try (FakePeer replay = FakePeer.connect(LOOPBACK, portB, (int) WAIT.toMillis())) {
            replay.write(bytes);
            assertClosedByPeer(replay);
        }
        assertThat(handoffRequests(rb))
                .as("the replayed request is not delivered again")
                .containsExactly(req);
        assertThat(rb.events).containsExactly("up:a", "down:a");
        await("counted", () -> b.get(ControlCounter.AUTH_FAILED) == 1);
        assertThat(b.get(ControlCounter.BAD_MAC)).isEqualTo(0L);
    }

    // ---- strangers

    @Test
    void strangersFromAMembersAddressAreRefusedAndCannotCutTheRealLink() throws Exception {
        ControlPlane b = start(config("b", portB, "a", portA), key, rb);
        ControlPlane a = start(config("a", portA, "b", portB), key, ra);
        await("link up", () -> ra.isUp("b") && rb.isUp("a"));
        byte[] request = FakePeer.encode(request(66));
        byte[] fakeTag = new byte[TAG];

        // 1: Hello as "a", then a random Auth, then a handoff request (bare, then with a made-up tag).
        try (FakePeer s = stranger()) {
            s.hello("a", 1);
            byte[] mac = new byte[ControlMessage.Auth.MAC_LENGTH];
            new SecureRandom().nextBytes(mac);
            s.write(concat(FakePeer.encode(new ControlMessage.Auth(mac)), request, request, fakeTag));
            assertClosedByPeer(s);
        }
        // 2: Hello, then the handoff request where the Auth should be.
        try (FakePeer s = stranger()) {
            s.hello("a", 2);
            s.write(concat(request, fakeTag));
            assertClosedByPeer(s);
        }
        // 3: Hello, then b's own Auth reflected back: it names the acceptor's role, not the dialer's.
        try (FakePeer s = stranger()) {
            s.hello("a", 3);
            s.write(concat(s.theirAuth, request, fakeTag));
            assertClosedByPeer(s);
        }
        // 4: Hello, then silence until the handshake times out.
        try (FakePeer s = stranger()) {
            s.hello("a", 4);
            assertClosedByPeer(s);
        }
        assertThat(rb.events).as("the real link was never replaced").containsExactly("up:a");
        assertThat(handoffRequests(rb)).isEmpty();
        await("all counted", () -> b.get(ControlCounter.AUTH_FAILED) == 4);
        assertThat(rb.hello("a").incarnation()).isEqualTo(a.incarnation());
        assertThat(a.send("b", new Abort(5))).isTrue();
        await("the real link still delivers", () -> rb.nonHeartbeats("a").contains(new Abort(5)));
    }

    @Test
    void aHandshakeTrickledByteByByteEndsAtTheConnectTimeout() throws Exception {
        ControlPlane b = start(config("b", portB, "a", portA), key, rb); // connect timeout 1 s
        byte[] hello = FakePeer.encode(FakePeer.newHello("a", 1));
        try (FakePeer s = stranger()) {
            long start = System.nanoTime();
            // One byte every 200 ms: each read ends well within the per-read timeout, the Hello in ~10 s.
            Thread trickle = Thread.ofVirtual().start(() -> {
                try {
                    for (byte x : hello) {
                        s.write(new byte[] {x});
                        Thread.sleep(200);
                    }
                } catch (IOException | InterruptedException e) {
                    // closed by the plane, or the test is over
                }
            });
            assertClosedByPeer(s);
            trickle.interrupt();
            assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(3));
        }
        await("counted", () -> b.get(ControlCounter.HELLO_REJECTED) == 1);
        assertThat(rb.events).isEmpty();
    }

    @Test
    void aMemberThatAuthenticatesReplacesItsOldLink() throws Exception {
        ControlPlane b = start(config("b", portB, "a", portA), key, rb);
        FakePeer first = FakePeer.connect(LOOPBACK, portB, (int) WAIT.toMillis());
        closeables.add(first);
        first.authenticate(key, "a", 1);
        await("first up", () -> rb.isUp("a"));
        FakePeer second = FakePeer.connect(LOOPBACK, portB, (int) WAIT.toMillis());
        closeables.add(second);
        second.authenticate(key, "a", 2);
        await("replaced", () -> rb.events.size() == 3);
        assertThat(rb.events).containsExactly("up:a", "down:a", "up:a");
        assertThat(rb.hello("a").incarnation()).isEqualTo(2);
        assertClosedByPeer(first);
        second.send(new Abort(9));
        await("delivered on the new link", () -> rb.nonHeartbeats("a").contains(new Abort(9)));
        assertThat(b.get(ControlCounter.AUTH_FAILED)).isEqualTo(0L);
        assertThat(b.get(ControlCounter.BAD_MAC)).isEqualTo(0L);
    }

    // ---- helpers

    private record Duplex(ControlPlane a, ControlPlane b) {}

    /**
     * "a" dials "b" through {@code relay}; waits for the link. (Everywhere here "b", which is dialed,
     * starts first: its port, free when picked, could otherwise go to a socket "a" dials from.)
     */
    private Duplex link(Relay relay) throws Exception {
        ControlPlane b = start(config("b", portB, "a", portA), key, rb);
        ControlPlane a = start(config("a", portA, "b", relay.port()), key, ra);
        await("link up", () -> rb.isUp("a") && ra.isUp("b"));
        return new Duplex(a, b);
    }

    /** Waits until {@code b} refused a frame, or (when the tag check is broken) got every Terminate. */
    private void awaitRefusedOrDelivered(ControlPlane b) throws InterruptedException {
        await(
                "refused or delivered",
                () -> b.get(ControlCounter.BAD_MAC) == 1 || terminates(rb).size() >= 2);
        Thread.sleep(100); // let anything else that would be delivered arrive
    }

    /**
     * Sends Terminates 1 to 3. The first must be queued; the others may find the link already gone,
     * closed by b for a frame it refused: a loaded machine can let a's driver write and b answer
     * between two sends (seen for the third, and once for the second).
     */
    private static void sendTerminates(ControlPlane a) {
        assertThat(a.send("b", new Terminate(1))).isTrue();
        for (int i = 2; i <= 3; i++) {
            if (!a.send("b", new Terminate(i)))
                assertThat(a.peer("b").up())
                        .as("refused only with the link down")
                        .isFalse();
        }
    }

    private static boolean isTerminate(byte[] f) {
        return f[ControlFrame.TYPE_OFFSET] == MessageType.TERMINATE;
    }

    private static List<ControlMessage> handoffRequests(Recorder r) {
        return r.received("a").stream().filter(m -> m instanceof HandoffRequest).toList();
    }

    private static List<ControlMessage> terminates(Recorder r) {
        return r.received("a").stream().filter(m -> m instanceof Terminate).toList();
    }

    private static HandoffRequest request(long connId) {
        return new HandoffRequest(
                connId,
                0x01020304,
                5,
                7,
                1460,
                true,
                true,
                ControlFrameTest.packet(60, 1),
                ControlFrameTest.packet(52, 2));
    }

    private static byte[] concat(byte[]... parts) {
        int n = 0;
        for (byte[] p : parts) {
            n += p.length;
        }
        byte[] out = new byte[n];
        int at = 0;
        for (byte[] p : parts) {
            System.arraycopy(p, 0, out, at, p.length);
            at += p.length;
        }
        return out;
    }

    private Relay relay(Relay.Tamper tamper) throws IOException {
        Relay r = new Relay(portB, tamper);
        closeables.add(r);
        return r;
    }

    private FakePeer stranger() throws IOException {
        return FakePeer.connect(LOOPBACK, portB, (int) WAIT.toMillis());
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, LOOPBACK)) {
            return s.getLocalPort();
        }
    }

    private static Config config(String name, int port, String peer, int peerPort) {
        return Config.of(name, LOOPBACK, List.of(new PeerSpec(peer, LOOPBACK, peerPort)))
                .withListen(LOOPBACK, port)
                .withTimers(
                        Duration.ofMillis(50),
                        Duration.ofMillis(1500),
                        Duration.ofMillis(20),
                        Duration.ofMillis(300),
                        Duration.ofSeconds(1));
    }

    private ControlPlane start(Config cfg, ClusterKey k, ControlListener l) throws IOException {
        ControlPlane p = new ControlPlane(cfg, k, l);
        closeables.add(p);
        p.start();
        return p;
    }

    /** Reads (and drops) until the other side closes; fails if it does not within the wait. */
    private static void assertClosedByPeer(FakePeer p) throws IOException {
        InputStream in = p.socket.getInputStream();
        byte[] buf = new byte[4096];
        try {
            while (in.read(buf) >= 0) {
                // the acceptor's Hello and Auth may come first
            }
        } catch (SocketTimeoutException e) {
            fail("connection still open after " + WAIT);
        } catch (SocketException e) {
            // reset: closed too
        }
    }

    private static void await(String what, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                fail("timed out waiting for: " + what);
            }
            Thread.sleep(10);
        }
    }
}
