package dev.baton.sys;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The FFM TCP socket against the JDK's own sockets on loopback. */
@Timeout(30)
class TcpSocketTest {
    private static final InetAddress LOOPBACK = InetAddress.getLoopbackAddress();

    @Test
    @SuppressWarnings("try") // the peer closes inside its try, on purpose
    void connectsWritesReadsAndSeesTheEnd() throws Exception {
        try (ServerSocket server = new ServerSocket(0, 1, LOOPBACK);
                TcpSocket s = TcpSocket.connect(LOOPBACK, LOOPBACK, server.getLocalPort(), 0x10, 5_000);
                Socket peer = server.accept()) {
            byte[] buf = new byte[64];
            assertThat(s.read(buf, 0, buf.length)).as("nothing waiting yet").isZero();
            assertThat(s.awaitReadable(50)).isFalse();

            byte[] hello = "hello".getBytes(StandardCharsets.US_ASCII);
            assertThat(s.write(hello, 0, hello.length)).isEqualTo(hello.length);
            assertThat(peer.getInputStream().readNBytes(5)).isEqualTo(hello);

            peer.getOutputStream().write("world!".getBytes(StandardCharsets.US_ASCII));
            assertThat(s.awaitReadable(5_000)).isTrue();
            int n = s.read(buf, 3, buf.length - 3);
            assertThat(new String(buf, 3, n, StandardCharsets.US_ASCII)).isEqualTo("world!");

            peer.close(); // the peer ends first: the read below sees its FIN
            assertThat(s.awaitReadable(5_000)).isTrue();
            assertThat(s.read(buf, 0, buf.length)).isEqualTo(TcpSocket.EOF);
            assertThat(s.remoteAddress()).isEqualTo(LOOPBACK);
            assertThat(s.remotePort()).isEqualTo(server.getLocalPort());
        }
    }

    @Test
    void listensAndAcceptsWithThePeersAddress() throws Exception {
        try (TcpSocket listener = TcpSocket.listen(LOOPBACK, 0, 4)) {
            int port = listener.localPort();
            assertThat(port).isPositive();
            assertThat(listener.accept()).as("nobody has connected").isNull();
            try (Socket client = new Socket(LOOPBACK, port)) {
                assertThat(listener.awaitReadable(5_000)).isTrue();
                try (TcpSocket accepted = listener.accept()) {
                    assertThat(accepted).isNotNull();
                    assertThat(accepted.remoteAddress()).isEqualTo(LOOPBACK);
                    assertThat(accepted.remotePort()).isEqualTo(client.getLocalPort());
                    accepted.setNoDelay(true);
                    accepted.setTos(0x10);
                    client.getOutputStream().write(7);
                    assertThat(accepted.awaitReadable(5_000)).isTrue();
                    byte[] one = new byte[1];
                    assertThat(accepted.read(one, 0, 1)).isEqualTo(1);
                    assertThat(one[0]).isEqualTo((byte) 7);
                }
            }
        }
    }

    @Test
    void aRefusedConnectionIsAnErrorNamingTheCall() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0, 1, LOOPBACK)) {
            port = s.getLocalPort();
        }
        assertThatThrownBy(() -> TcpSocket.connect(null, LOOPBACK, port, 0, 5_000))
                .isInstanceOf(SysException.class)
                .hasMessageContaining("connect")
                .satisfies(e -> assertThat(((SysException) e).errno()).isEqualTo(111)); // ECONNREFUSED
    }

    @Test
    @SuppressWarnings("try") // the peer resets inside its try, on purpose
    void aFullSendBufferTakesNothingMoreAndThePeerGoingAwayIsAnErrorNotASignal() throws Exception {
        try (ServerSocket server = new ServerSocket(0, 1, LOOPBACK);
                TcpSocket s = TcpSocket.connect(LOOPBACK, LOOPBACK, server.getLocalPort(), 0, 5_000);
                Socket peer = server.accept()) {
            byte[] chunk = new byte[65536];
            long written = 0;
            int w;
            while ((w = s.write(chunk, 0, chunk.length)) > 0) {
                written += w; // the peer reads nothing: the buffers fill
            }
            assertThat(w).as("a full buffer takes nothing, without blocking").isZero();
            assertThat(written).isPositive();
            peer.setSoLinger(true, 0);
            peer.close(); // a reset
            assertThatThrownBy(() -> {
                        for (int i = 0; i < 1000; i++) {
                            s.awaitWritable(100);
                            s.write(chunk, 0, chunk.length);
                        }
                    })
                    .isInstanceOf(SysException.class);
        }
    }

    @Test
    void shutdownWakesAThreadWaitingToRead() throws Exception {
        try (ServerSocket server = new ServerSocket(0, 1, LOOPBACK);
                TcpSocket s = TcpSocket.connect(LOOPBACK, LOOPBACK, server.getLocalPort(), 0, 5_000);
                Socket peer = server.accept()) {
            CompletableFuture<Boolean> woke = CompletableFuture.supplyAsync(() -> {
                try {
                    return s.awaitReadable(20_000);
                } catch (SysException e) {
                    throw new IllegalStateException(e);
                }
            });
            Thread.sleep(100);
            assertThat(woke).isNotDone();
            s.shutdown();
            assertThat(woke.get(5, TimeUnit.SECONDS)).isTrue();
            InputStream in = peer.getInputStream();
            assertThat(in.read()).as("the peer sees the end").isEqualTo(-1);
        }
    }

    @Test
    void readsAndWritesAtOffsetsLeaveTheRestOfTheArrayAlone() throws Exception {
        try (ServerSocket server = new ServerSocket(0, 1, LOOPBACK);
                TcpSocket s = TcpSocket.connect(null, LOOPBACK, server.getLocalPort(), 0, 5_000);
                Socket peer = server.accept()) {
            byte[] src = "..abc..".getBytes(StandardCharsets.US_ASCII);
            assertThat(s.write(src, 2, 3)).isEqualTo(3);
            assertThat(peer.getInputStream().readNBytes(3)).isEqualTo("abc".getBytes(StandardCharsets.US_ASCII));
            OutputStream out = peer.getOutputStream();
            out.write(new byte[] {1, 2, 3});
            byte[] dst = new byte[8];
            Arrays.fill(dst, (byte) 9);
            assertThat(s.awaitReadable(5_000)).isTrue();
            assertThat(s.read(dst, 4, 2)).isEqualTo(2);
            assertThat(dst).containsExactly(9, 9, 9, 9, 1, 2, 9, 9);
        }
    }
}
