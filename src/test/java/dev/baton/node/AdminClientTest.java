package dev.baton.node;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AdminClientTest {
    @TempDir
    Path dir;

    @Test
    void sendsTheCommandAndReturnsTheFirstLine() throws Exception {
        Path socket = dir.resolve("admin.sock");
        AtomicReference<String> received = new AtomicReference<>();
        try (ServerSocketChannel server = listen(socket)) {
            Thread t = Thread.ofVirtual().start(() -> {
                try (SocketChannel c = server.accept()) {
                    ByteBuffer in = ByteBuffer.allocate(64);
                    while (in.position() == 0 || in.get(in.position() - 1) != '\n') {
                        c.read(in);
                    }
                    received.set(new String(in.array(), 0, in.position(), StandardCharsets.UTF_8));
                    c.write(ByteBuffer.wrap("{\"node\":\"n1\"}\nmore\n".getBytes(StandardCharsets.UTF_8)));
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
            String answer = AdminClient.query(socket, "stats", Duration.ofSeconds(2));
            t.join(Duration.ofSeconds(2));
            assertThat(answer).isEqualTo("{\"node\":\"n1\"}");
            assertThat(received.get()).isEqualTo("stats\n");
        }
    }

    @Test
    void givesUpWhenTheNodeDoesNotAnswer() throws Exception {
        Path socket = dir.resolve("silent.sock");
        try (ServerSocketChannel _ = listen(socket)) { // listens, never answers
            long start = System.nanoTime();
            assertThatThrownBy(() -> AdminClient.query(socket, "stats", Duration.ofMillis(300)))
                    .isInstanceOf(IOException.class)
                    .hasMessageContaining("did not answer in time");
            assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(2));
        }
    }

    @Test
    void failsWhenNoNodeListens() {
        assertThatThrownBy(() -> AdminClient.query(dir.resolve("none.sock"), "stats", Duration.ofSeconds(1)))
                .isInstanceOf(IOException.class);
    }

    private static ServerSocketChannel listen(Path socket) throws IOException {
        ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        server.bind(UnixDomainSocketAddress.of(socket));
        return server;
    }
}
