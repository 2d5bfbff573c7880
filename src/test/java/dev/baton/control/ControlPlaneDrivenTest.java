package dev.baton.control;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import dev.baton.control.ControlMessage.Heartbeat;
import dev.baton.control.ControlMessage.Hello;
import dev.baton.control.ControlMessage.Terminate;
import dev.baton.control.ControlPlane.Config;
import dev.baton.control.ControlPlane.PeerSpec;
import dev.baton.sys.EventFd;
import dev.baton.sys.Poller;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A plane whose links an event loop of the caller's drives ({@link ControlPlane#startDriven}), as the
 * node's packet loop does: messages arrive on the loop's thread, sends from other threads wake it,
 * and a lazy message waits for company, but not for long.
 */
@Timeout(60)
class ControlPlaneDrivenTest {
    private static final InetAddress LOOPBACK = InetAddress.getLoopbackAddress();
    private static final Duration WAIT = Duration.ofSeconds(10);

    private final ClusterKey key = ClusterKey.random();
    private ControlPlane driven;
    private ControlPlane plain;
    private Loop loop;

    @AfterEach
    void closeAll() throws Exception {
        if (driven != null) driven.close();
        if (loop != null) loop.stop();
        if (plain != null) plain.close();
    }

    /** A stand-in for the packet loop: an eventfd and the links in one poll, and work queued for it. */
    static final class Loop implements Runnable {
        final ControlPlane plane;
        final int pollMillis;
        final EventFd wakeup;
        final ConcurrentLinkedQueue<Runnable> work = new ConcurrentLinkedQueue<>();
        final Thread thread;
        volatile boolean running = true;

        Loop(ControlPlane plane, int pollMillis) throws Exception {
            this.plane = plane;
            this.pollMillis = pollMillis;
            this.wakeup = new EventFd();
            this.thread = Thread.ofPlatform().name("test-loop").unstarted(this);
        }

        void submit(Runnable r) {
            work.add(r);
            wakeup.signal();
        }

        @Override
        public void run() {
            Poller poller = new Poller(1 + plane.maxLinks());
            try {
                while (running) {
                    poller.watch(0, wakeup.fd(), false);
                    int n = plane.watchLinks(poller, 1);
                    poller.await(1 + n, pollMillis);
                    if (poller.ready(0)) wakeup.drain();
                    for (Runnable r; (r = work.poll()) != null; ) r.run();
                    plane.serviceLinks(poller, 1, System.nanoTime());
                }
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }

        void stop() throws InterruptedException {
            running = false;
            wakeup.signal();
            thread.join(5_000);
            wakeup.close();
        }
    }

    /** Records messages with the thread and time they arrived on. */
    static final class Recorder implements ControlListener {
        record Arrival(ControlMessage message, String thread, long nanos) {}

        final Map<String, Boolean> up = new ConcurrentHashMap<>();
        final List<Arrival> arrivals = new CopyOnWriteArrayList<>();

        @Override
        public void onPeerUp(String peer, Hello hello) {
            up.put(peer, true);
        }

        @Override
        public void onPeerDown(String peer) {
            up.put(peer, false);
        }

        @Override
        public void onMessage(String peer, ControlMessage m) {
            if (!(m instanceof Heartbeat)) {
                arrivals.add(new Arrival(m, Thread.currentThread().getName(), System.nanoTime()));
            }
        }

        Arrival of(ControlMessage m) {
            return arrivals.stream()
                    .filter(a -> a.message().equals(m))
                    .findFirst()
                    .orElse(null);
        }
    }

    private void startPair(Recorder drivenRecorder, Recorder plainRecorder, int pollMillis, Duration heartbeat)
            throws Exception {
        int portA = freePort();
        int portB = freePort();
        Duration dead = heartbeat.multipliedBy(30);
        driven = new ControlPlane(
                Config.of("a", LOOPBACK, List.of(new PeerSpec("b", LOOPBACK, portB)))
                        .withListen(LOOPBACK, portA)
                        .withTimers(
                                heartbeat, dead, Duration.ofMillis(20), Duration.ofMillis(300), Duration.ofSeconds(1)),
                key,
                drivenRecorder);
        plain = new ControlPlane(
                Config.of("b", LOOPBACK, List.of(new PeerSpec("a", LOOPBACK, portA)))
                        .withListen(LOOPBACK, portB)
                        .withTimers(
                                heartbeat, dead, Duration.ofMillis(20), Duration.ofMillis(300), Duration.ofSeconds(1)),
                key,
                plainRecorder);
        loop = new Loop(driven, pollMillis);
        driven.startDriven(loop.wakeup::signal);
        loop.thread.start();
        plain.start();
        await("link up", () -> drivenRecorder.up.getOrDefault("b", false) && plainRecorder.up.getOrDefault("a", false));
    }

    @Test
    void messagesArriveOnTheDriversThreadAndSendsFromOtherThreadsWakeIt() throws Exception {
        Recorder ra = new Recorder();
        Recorder rb = new Recorder();
        // Long waits in poll and between heartbeats: only a wake-up can make these messages quick.
        startPair(ra, rb, 10_000, Duration.ofSeconds(20));
        assertThat(plain.send("a", new Terminate(1))).isTrue();
        await("delivered to the driven plane", () -> ra.of(new Terminate(1)) != null);
        assertThat(ra.of(new Terminate(1)).thread()).isEqualTo("test-loop");

        long sentAt = System.nanoTime();
        assertThat(driven.send("b", new Terminate(2)))
                .as("from the test's thread")
                .isTrue();
        await("sent by the driven plane", () -> rb.of(new Terminate(2)) != null);
        assertThat(Duration.ofNanos(rb.of(new Terminate(2)).nanos() - sentAt)).isLessThan(Duration.ofSeconds(2));
        assertThat(driven.get(ControlCounter.SEND_DROPPED)).isEqualTo(0L);
        assertThat(driven.get(ControlCounter.MALFORMED)).isEqualTo(0L);
    }

    @Test
    void aLazyMessageWaitsForCompanyButNotLong() throws Exception {
        Recorder ra = new Recorder();
        Recorder rb = new Recorder();
        startPair(ra, rb, 1, Duration.ofSeconds(20));
        long[] queuedAt = new long[1];
        loop.submit(() -> {
            queuedAt[0] = System.nanoTime();
            driven.sendLazily("b", new Terminate(3));
        });
        await("the lazy message arrives alone", () -> rb.of(new Terminate(3)) != null);
        Duration waited = Duration.ofNanos(rb.of(new Terminate(3)).nanos() - queuedAt[0]);
        assertThat(waited).isGreaterThanOrEqualTo(ControlPlane.LAZY_WAIT).isLessThan(Duration.ofSeconds(2));

        // With company it leaves with the next message, in order, without waiting out its time.
        loop.submit(() -> {
            queuedAt[0] = System.nanoTime();
            driven.sendLazily("b", new Terminate(4));
            driven.send("b", new Terminate(5));
        });
        await("both arrive", () -> rb.of(new Terminate(5)) != null);
        assertThat(rb.arrivals.stream().map(Recorder.Arrival::message).toList())
                .containsSubsequence(new Terminate(4), new Terminate(5));
        assertThat(rb.of(new Terminate(4)).nanos())
                .isLessThanOrEqualTo(rb.of(new Terminate(5)).nanos());
    }

    private static int freePort() throws Exception {
        try (ServerSocket s = new ServerSocket(0, 1, LOOPBACK)) {
            return s.getLocalPort();
        }
    }

    private static void await(String what, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                fail("timed out waiting for: " + what);
            }
            Thread.sleep(2);
        }
    }
}
