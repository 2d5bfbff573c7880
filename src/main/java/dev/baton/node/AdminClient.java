package dev.baton.node;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;

/**
 * Asks a node process a question over its admin socket (a Unix domain socket: its path is
 * reachable from every namespace). Protocol: write one command line, read one line back.
 * The whole exchange is bounded in time and size.
 */
public final class AdminClient {
    /** Longest answer accepted. */
    public static final int MAX_ANSWER = 1 << 20;

    private AdminClient() {}

    /**
     * Sends {@code command} followed by a newline and returns the first line of the answer,
     * without its newline.
     *
     * @throws IOException if the socket cannot be reached, closes early, answers too much, or does
     *     not answer within {@code timeout} (the message says which)
     */
    public static String query(Path socket, String command, Duration timeout) throws IOException {
        long deadline = System.nanoTime() + timeout.toNanos();
        try (SocketChannel channel = SocketChannel.open(StandardProtocolFamily.UNIX);
                Selector selector = Selector.open()) {
            channel.configureBlocking(false);
            if (!channel.connect(UnixDomainSocketAddress.of(socket))) {
                channel.register(selector, SelectionKey.OP_CONNECT);
                while (!channel.finishConnect()) {
                    await(selector, deadline, socket);
                }
            }
            ByteBuffer out = ByteBuffer.wrap((command + "\n").getBytes(StandardCharsets.UTF_8));
            channel.register(selector, SelectionKey.OP_WRITE);
            while (out.hasRemaining()) {
                if (channel.write(out) == 0) {
                    await(selector, deadline, socket);
                }
            }
            channel.register(selector, SelectionKey.OP_READ);
            ByteBuffer in = ByteBuffer.allocate(8192);
            ByteArrayOutputStream answer = new ByteArrayOutputStream();
            while (true) {
                in.clear();
                int n = channel.read(in);
                if (n < 0) {
                    if (answer.size() > 0) {
                        return answer.toString(StandardCharsets.UTF_8);
                    }
                    throw new IOException("admin socket " + socket + " closed without answering");
                }
                if (n == 0) {
                    await(selector, deadline, socket);
                    continue;
                }
                for (int i = 0; i < n; i++) {
                    byte b = in.get(i);
                    if (b == '\n') {
                        return answer.toString(StandardCharsets.UTF_8);
                    }
                    answer.write(b);
                }
                if (answer.size() > MAX_ANSWER) {
                    throw new IOException("admin socket " + socket + " answered more than " + MAX_ANSWER + " bytes");
                }
            }
        }
    }

    private static void await(Selector selector, long deadline, Path socket) throws IOException {
        long leftMs = (deadline - System.nanoTime()) / 1_000_000;
        if (leftMs <= 0) {
            throw new IOException("admin socket " + socket + " did not answer in time");
        }
        selector.select(leftMs);
        selector.selectedKeys().clear();
    }
}
