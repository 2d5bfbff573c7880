package dev.baton.control;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.fail;

import dev.baton.control.ControlMessage.Abort;
import dev.baton.control.ControlMessage.Content;
import dev.baton.control.ControlMessage.HandoffAck;
import dev.baton.control.ControlMessage.HandoffRefuse;
import dev.baton.control.ControlMessage.HandoffRequest;
import dev.baton.control.ControlMessage.Heartbeat;
import dev.baton.control.ControlMessage.Hello;
import dev.baton.control.ControlMessage.Terminate;
import dev.baton.control.ControlPlane.Config;
import dev.baton.control.ControlPlane.PeerSpec;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Control planes on 127.0.0.1, each on its own port, with short timers. */
@Timeout(60)
class ControlPlaneTest {
    private static final InetAddress LOOPBACK = InetAddress.getLoopbackAddress();
    private static final Duration WAIT = Duration.ofSeconds(10);

    private final ClusterKey key = ClusterKey.random();
    private final Map<String, Integer> ports = new LinkedHashMap<>();
    private final List<ControlPlane> planes = new ArrayList<>();
    private final List<Socket> rawSockets = new ArrayList<>();

    @AfterEach
    void closeAll() throws IOException {
        for (Socket s : rawSockets) {
            s.close();
        }
        for (ControlPlane p : planes) {
            p.close();
        }
    }

    // ---- links

    @Test
    void twoPlanesFormOneLinkAndDeliverEveryMessageType() throws Exception {
        cluster("a", "b");
        Recorder ra = new Recorder();
        Recorder rb = new Recorder();
        ControlPlane a = start("a", ra);
        ControlPlane b = start("b", rb);
        await("link up", () -> ra.isUp("b") && rb.isUp("a"));

        List<ControlMessage> all = List.of(
                new Heartbeat(3, 1),
                new HandoffRequest(7, 1, 2, 7, 1460, true, true, new byte[] {0x45, 0, 0, 60}, new byte[] {0x45}),
                new ControlMessage.Commit(7, new byte[] {'G', 'E', 'T'}),
                new HandoffAck(7, 3, 4, 7, 1460, true, true, 61001),
                new HandoffRefuse(8, RefuseReason.TABLE_FULL),
                new Terminate(7),
                new Abort(9),
                new Content(true, true, List.of("/index.html", "/img/a.png")));
        for (ControlMessage m : all) {
            assertThat(a.send("b", m)).isTrue();
            assertThat(b.send("a", m)).isTrue();
        }
        // Each side also gets the other's own first load report: count what was sent, not frames.
        await(
                "all delivered both ways",
                () -> rb.received("a").containsAll(all) && ra.received("b").containsAll(all));
        assertThat(rb.received("a")).containsAll(all);
        assertThat(ra.received("b")).containsAll(all);
        assertThat(rb.nonHeartbeats("a")).containsExactlyElementsOf(all.subList(1, all.size()));

        assertThat(ra.hello("b").incarnation()).isEqualTo(b.incarnation());
        assertThat(rb.hello("a").nodeName()).isEqualTo("a");
        assertThat(rb.hello("a").address()).isEqualTo(LOOPBACK);
        assertThat(a.peer("b").up()).isTrue();
        assertThat(a.peer("b").connectedSince()).isNotNull();
        assertThat(a.peer("b").framesOut()).isGreaterThanOrEqualTo(all.size() + 1);
        assertThat(a.get(ControlCounter.RECONNECTS)).isEqualTo(0L);
        assertThat(a.get(ControlCounter.MALFORMED)).isEqualTo(0L);
        assertThat(ra.events).containsExactly("up:b");
    }

    @Test
    void threePlanesLinkEveryPair() throws Exception {
        cluster("a", "b", "c");
        Recorder ra = new Recorder();
        Recorder rb = new Recorder();
        Recorder rc = new Recorder();
        ControlPlane a = start("a", ra);
        ControlPlane b = start("b", rb);
        ControlPlane c = start("c", rc);
        await(
                "all links up",
                () -> a.upPeers().size() == 2
                        && b.upPeers().size() == 2
                        && c.upPeers().size() == 2);

        assertThat(a.send("c", new Terminate(1))).isTrue();
        assertThat(c.send("b", new Terminate(2))).isTrue();
        assertThat(b.send("a", new Terminate(3))).isTrue();
        await(
                "delivered",
                () -> rc.nonHeartbeats("a").contains(new Terminate(1))
                        && rb.nonHeartbeats("c").contains(new Terminate(2))
                        && ra.nonHeartbeats("b").contains(new Terminate(3)));
        assertThat(rb.nonHeartbeats("a")).isEmpty();
    }

    @Test
    void heartbeatsCarryTheNodesLoad() throws Exception {
        cluster("a", "b");
        ControlPlane a = start(config("a").withLoad(() -> new Heartbeat(17, 4)), new Recorder());
        ControlPlane b = start("b", new Recorder());
        await("heartbeat seen", () -> new Heartbeat(17, 4).equals(b.peer("a").lastHeartbeat()));
        await("default load seen", () -> new Heartbeat(0, 0).equals(a.peer("b").lastHeartbeat()));
    }

    @Test
    void firstLoadReportComesWithoutWaitingForTheInterval() throws Exception {
        cluster("a", "b");
        Duration slow = Duration.ofSeconds(30);
        Config quiet = config("a")
                .withLoad(() -> new Heartbeat(5, 0))
                .withTimers(
                        slow,
                        slow.multipliedBy(2),
                        Duration.ofMillis(20),
                        Duration.ofMillis(300),
                        Duration.ofSeconds(1));
        start(quiet, new Recorder());
        ControlPlane b = start(
                config("b")
                        .withTimers(
                                Duration.ofMillis(50),
                                slow,
                                Duration.ofMillis(20),
                                Duration.ofMillis(300),
                                Duration.ofSeconds(1)),
                new Recorder());
        await("first heartbeat", () -> new Heartbeat(5, 0).equals(b.peer("a").lastHeartbeat()));
    }

    @Test
    void dialerReconnectsWhenTheAcceptorRestarts() throws Exception {
        cluster("a", "b");
        Recorder ra = new Recorder();
        ControlPlane a = start("a", ra);
        ControlPlane b1 = start("b", new Recorder());
        await("first link", () -> ra.isUp("b"));
        long firstBoot = ra.hello("b").incarnation();

        b1.close();
        await("a sees b down", () -> !ra.isUp("b") && !a.peer("b").up());
        Recorder rb2 = new Recorder();
        ControlPlane b2 = start("b", rb2);
        await("link again", () -> ra.isUp("b") && rb2.isUp("a"));

        assertThat(ra.events).containsExactly("up:b", "down:b", "up:b");
        assertThat(ra.hello("b").incarnation()).isEqualTo(b2.incarnation()).isNotEqualTo(firstBoot);
        assertThat(a.peer("b").reconnects()).isEqualTo(1);
        assertThat(a.send("b", new Abort(5))).isTrue();
        await("delivered after reconnect", () -> rb2.nonHeartbeats("a").contains(new Abort(5)));
    }

    @Test
    void acceptorSeesTheDialerComeBackAfterARestart() throws Exception {
        cluster("a", "b");
        Recorder rb = new Recorder();
        ControlPlane b = start("b", rb);
        ControlPlane a1 = start("a", new Recorder());
        await("first link", () -> rb.isUp("a"));
        a1.close();
        await("b sees a down", () -> !rb.isUp("a"));
        start("a", new Recorder());
        await("link again", () -> rb.isUp("a"));
        assertThat(rb.events).containsExactly("up:a", "down:a", "up:a");
        assertThat(b.get(ControlCounter.RECONNECTS)).isEqualTo(1);
    }

    @Test
    void sendToADownPeerReturnsFalseAndIsCounted() throws Exception {
        cluster("a", "b");
        ControlPlane a = start("a", new Recorder());
        assertThat(a.send("b", new Terminate(1))).isFalse();
        assertThat(a.get(ControlCounter.SEND_DROPPED)).isEqualTo(1L);
        assertThat(a.peer("b").up()).isFalse();
        assertThatThrownBy(() -> a.send("zed", new Terminate(1))).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> a.send("b", FakePeer.newHello("a", 0))).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> a.send("b", new ControlMessage.Auth(new byte[ControlMessage.Auth.MAC_LENGTH])))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void fullQueueRefusesSends() throws Exception {
        cluster("a", "b");
        Recorder ra = new Recorder();
        ControlPlane a = start(config("a").withQueueCapacity(1), ra);
        start("b", new Recorder());
        await("link up", () -> ra.isUp("b"));
        // A queue of one cannot take a burst this size before its writer drains it.
        int accepted = 0;
        for (int i = 0; i < 10_000; i++) {
            accepted += a.send("b", new Content(true, true, List.of("/" + "x".repeat(4000)))) ? 1 : 0;
        }
        assertThat(accepted).isLessThan(10_000);
        // Heartbeats that found the queue full are counted too.
        assertThat(a.get(ControlCounter.SEND_DROPPED)).isGreaterThanOrEqualTo(10_000L - accepted);
    }

    // ---- what a bad peer can do

    @Test
    void garbageClosesOnlyThatConnectionAndIsCounted() throws Exception {
        cluster("a", "b", "c");
        Recorder rc = new Recorder();
        ControlPlane a = start("a", new Recorder());
        start("b", new Recorder());
        ControlPlane c = start("c", rc);
        await("links up", () -> c.upPeers().size() == 2 && a.upPeers().size() == 2);

        // Length 16, then version 0x99: not a frame of ours.
        Socket raw = raw("c");
        raw.getOutputStream().write(HexFormat.of().parseHex("00000010" + "99".repeat(16)));
        assertClosedByPeer(raw);
        await("counted", () -> c.malformed(FrameException.Reason.BAD_VERSION) == 1);

        assertThat(c.upPeers()).containsExactlyInAnyOrder("a", "b");
        assertThat(a.send("c", new Abort(11))).isTrue();
        await("others still work", () -> rc.nonHeartbeats("a").contains(new Abort(11)));
        assertThat(rc.events).containsExactlyInAnyOrder("up:a", "up:b");
    }

    @Test
    void frameLargerThanTheMaximumIsRefused() throws Exception {
        cluster("a", "b");
        ControlPlane b = start("b", new Recorder());
        Socket raw = raw("b");
        raw.getOutputStream().write(HexFormat.of().parseHex("00010000")); // 65536 + 4 bytes in all
        assertClosedByPeer(raw);
        await("counted", () -> b.malformed(FrameException.Reason.TOO_LONG) == 1);
    }

    @Test
    void helloFromAnUnknownNameIsRefused() throws Exception {
        cluster("a", "b");
        Recorder rb = new Recorder();
        ControlPlane b = start("b", rb);
        Socket raw = raw("b");
        raw.getOutputStream().write(FakePeer.encode(FakePeer.newHello("mallory", 1)));
        assertClosedByPeer(raw);
        assertThat(b.get(ControlCounter.HELLO_REJECTED)).isEqualTo(1L);
        assertThat(rb.events).isEmpty();
    }

    @Test
    void helloWithOwnNameOrFromAPeerThatShouldAcceptIsRefused() throws Exception {
        cluster("a", "b", "c");
        Recorder rb = new Recorder();
        ControlPlane b = start("b", rb); // accepts from "a", dials "c" (not running)
        Socket own = raw("b");
        own.getOutputStream().write(FakePeer.encode(FakePeer.newHello("b", 1)));
        assertClosedByPeer(own);
        // "b" sorts lower than "c", so "b" dials "c": a connection claiming to come from "c" is refused.
        Socket fromC = raw("b");
        fromC.getOutputStream().write(FakePeer.encode(FakePeer.newHello("c", 1)));
        assertClosedByPeer(fromC);
        await("counted", () -> b.get(ControlCounter.HELLO_REJECTED) == 2);
        assertThat(rb.events).isEmpty();
    }

    @Test
    void connectionFromAnAddressThatNeverDialsIsClosed() throws Exception {
        cluster("a", "b");
        // "a" dials every peer, so it accepts from no address at all.
        ControlPlane a = start("a", new Recorder());
        assertClosedByPeer(raw("a"));
        await("counted", () -> a.get(ControlCounter.UNKNOWN_ADDRESS) == 1);
    }

    @Test
    void firstFrameThatIsNotAHelloIsRefused() throws Exception {
        cluster("a", "b");
        ControlPlane b = start("b", new Recorder());
        Socket raw = raw("b");
        raw.getOutputStream().write(ControlFrameTest.encode(new Heartbeat(1, 1)));
        assertClosedByPeer(raw);
        assertThat(b.get(ControlCounter.HELLO_REJECTED)).isEqualTo(1L);
    }

    /** A raw link to "b" that authenticates as "a" (it holds the key), once b's recorder sees it up. */
    private FakePeer authenticatedAsA(Recorder rb) throws Exception {
        FakePeer peer = FakePeer.connect(LOOPBACK, ports.get("b"), (int) WAIT.toMillis());
        rawSockets.add(peer.socket);
        peer.authenticate(key, "a", 1);
        await("up", () -> rb.isUp("a"));
        return peer;
    }

    @Test
    void silentPeerIsDeclaredDeadAfterTheDeadInterval() throws Exception {
        cluster("a", "b");
        Recorder rb = new Recorder();
        ControlPlane b = start("b", rb);
        // Pretend to be "a" (with the key): authenticate, then never another word.
        FakePeer silent = authenticatedAsA(rb);
        long upAt = System.nanoTime();
        await("declared dead", () -> !rb.isUp("a"));
        assertThat(Duration.ofNanos(System.nanoTime() - upAt))
                .isGreaterThan(config("b").deadInterval().dividedBy(2));
        assertThat(b.get(ControlCounter.PEER_DEAD)).isEqualTo(1L);
        assertClosedByPeer(silent.socket);
    }

    @Test
    void framesArriveWholeAndInOrderHoweverTheStreamIsCut() throws Exception {
        cluster("a", "b");
        Recorder rb = new Recorder();
        ControlPlane b = start("b", rb);
        FakePeer peer = authenticatedAsA(rb);
        List<ControlMessage> sent = new ArrayList<>();
        ByteArrayOutputStream stream = new ByteArrayOutputStream();
        for (int i = 0; i < 300; i++) {
            ControlMessage m = switch (i % 4) {
                case 0 -> new Content(true, true, List.of("/" + "p".repeat(i * 37 % 3000)));
                // near the largest frame: more than one read, and a partial frame kept between reads
                case 1 -> new Content(false, false, Collections.nCopies(20, "/" + "q".repeat(3000 - i % 7)));
                default -> new Terminate(i);
            };
            sent.add(m);
            stream.write(peer.tagged(m));
        }
        byte[] all = stream.toByteArray();
        Random cuts = new Random(7);
        for (int off = 0; off < all.length; ) {
            int n = Math.min(off < 300 ? 1 : 1 + cuts.nextInt(9000), all.length - off); // byte by byte first
            peer.write(Arrays.copyOfRange(all, off, off + n));
            off += n;
            if (cuts.nextInt(8) == 0) Thread.sleep(1);
        }
        await("all delivered", () -> rb.nonHeartbeats("a").size() >= sent.size());
        assertThat(rb.nonHeartbeats("a")).containsExactlyElementsOf(sent);
        assertThat(b.get(ControlCounter.BAD_MAC)).isEqualTo(0L);
        assertThat(b.get(ControlCounter.MALFORMED)).isEqualTo(0L);
        assertThat(rb.isUp("a")).isTrue();
    }

    // ---- helpers

    private void cluster(String... names) throws IOException {
        for (String n : names) {
            try (ServerSocket s = new ServerSocket(0, 1, LOOPBACK)) {
                ports.put(n, s.getLocalPort());
            }
        }
    }

    private Config config(String name) {
        List<PeerSpec> peers = new ArrayList<>();
        ports.forEach((n, port) -> {
            if (!n.equals(name)) {
                peers.add(new PeerSpec(n, LOOPBACK, port));
            }
        });
        return Config.of(name, LOOPBACK, peers)
                .withListen(LOOPBACK, ports.get(name))
                .withTimers(
                        Duration.ofMillis(50),
                        Duration.ofMillis(1500),
                        Duration.ofMillis(20),
                        Duration.ofMillis(300),
                        Duration.ofSeconds(1));
    }

    private ControlPlane start(String name, ControlListener l) throws IOException {
        return start(config(name), l);
    }

    private ControlPlane start(Config cfg, ControlListener l) throws IOException {
        ControlPlane p = new ControlPlane(cfg, key, l);
        planes.add(p);
        p.start();
        return p;
    }

    private Socket raw(String node) throws IOException {
        Socket s = new Socket(LOOPBACK, ports.get(node));
        s.setSoTimeout((int) WAIT.toMillis());
        rawSockets.add(s);
        return s;
    }

    /** Reads (and drops) until the other side closes; fails if it does not within the wait. */
    private static void assertClosedByPeer(Socket s) throws IOException {
        InputStream in = s.getInputStream();
        byte[] buf = new byte[4096];
        try {
            while (in.read(buf) >= 0) {
                // a Hello or heartbeats may come first
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

    /** Records what a plane tells its node. */
    static final class Recorder implements ControlListener {
        final List<String> events = new CopyOnWriteArrayList<>();
        final Map<String, Hello> hellos = new ConcurrentHashMap<>();
        final Map<String, List<ControlMessage>> messages = new ConcurrentHashMap<>();
        private final Map<String, Boolean> up = new ConcurrentHashMap<>();

        @Override
        public void onPeerUp(String peer, Hello hello) {
            hellos.put(peer, hello);
            up.put(peer, true);
            events.add("up:" + peer);
        }

        @Override
        public void onPeerDown(String peer) {
            up.put(peer, false);
            events.add("down:" + peer);
        }

        @Override
        public void onMessage(String peer, ControlMessage m) {
            messages.computeIfAbsent(peer, p -> new CopyOnWriteArrayList<>()).add(m);
        }

        boolean isUp(String peer) {
            return up.getOrDefault(peer, false);
        }

        Hello hello(String peer) {
            return hellos.get(peer);
        }

        List<ControlMessage> received(String peer) {
            return messages.getOrDefault(peer, List.of());
        }

        List<ControlMessage> nonHeartbeats(String peer) {
            return received(peer).stream()
                    .filter(m -> !(m instanceof Heartbeat))
                    .toList();
        }
    }
}
