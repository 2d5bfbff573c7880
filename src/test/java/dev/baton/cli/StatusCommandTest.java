package dev.baton.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code baton status} against a stand-in admin socket, and the completion script. */
@Timeout(30)
class StatusCommandTest {
    @TempDir
    Path dir;

    private final StringWriter out = new StringWriter();
    private final StringWriter err = new StringWriter();

    private int run(String... args) {
        CommandLine cmd = new CommandLine(new Main());
        cmd.setOut(new PrintWriter(out, true));
        cmd.setErr(new PrintWriter(err, true));
        return cmd.execute(args);
    }

    /** Answers one connection's command with {@code answer}, as a node's admin socket does. */
    private CompletableFuture<String> fakeNode(Path socket, String answer) throws Exception {
        ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        server.bind(UnixDomainSocketAddress.of(socket));
        return CompletableFuture.supplyAsync(() -> {
            try (server;
                    SocketChannel c = server.accept()) {
                ByteBuffer in = ByteBuffer.allocate(256);
                while (in.position() == 0 || in.get(in.position() - 1) != '\n') c.read(in);
                c.write(ByteBuffer.wrap((answer + "\n").getBytes(StandardCharsets.UTF_8)));
                return new String(in.array(), 0, in.position(), StandardCharsets.UTF_8).strip();
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
    }

    @Test
    void showsTheLinksConnectionsHandoffsAndOnlyTheDropsThatHappened() throws Exception {
        Path socket = dir.resolve("n1.sock");
        CompletableFuture<String> asked = fakeNode(socket, """
                {"node":"n1","address":"10.200.1.1","peers":["n2","n3"],"peersUp":["n2"],
                 "counters":{"connectionsSeen":1200,"servedLocally":300,"handoffsSent":900,"handoffsCompleted":897,
                  "fallbacks":3,"handoffsAccepted":880,"handoffsRefused":1,"bytesSentForOthers":1048576},
                 "drops":{"badChecksum":0,"tableFull":2,"unknownConnection":0},"refusals":{"TABLE_FULL":1},
                 "activeConnections":12,"trackedConnections":40,"halfOpenConnections":1,"freeHoldBuffers":1020,
                 "control":{"framesIn":5000,"framesOut":5100,"badMac":0,"peerDead":1,"malformed":0,"malformed.TOO_LONG":0}}
                """.replace("\n", ""));
        assertThat(run("status", "--admin-socket", socket.toString()))
                .as(err.toString())
                .isZero();
        assertThat(asked.get()).isEqualTo("stats");
        String s = out.toString();
        assertThat(s)
                .contains("node n1 (10.200.1.1)")
                .contains("up: n2; DOWN: n3")
                .contains("12 active, 40 tracked, 1 half-open; hold buffers free 1,020")
                .contains("1,200 connections: 300 served here, 900 handed off (897 completed, 3 fell back)")
                .contains("880 handoffs accepted, 1 refused")
                .contains("drops          tableFull 2\n")
                .contains("refusals       TABLE_FULL 1")
                .contains("5,000 frames in, 5,100 out; problems: peerDead 1");
        assertThat(s).doesNotContain("badChecksum");
    }

    @Test
    void saysWhenNoNodeAnswers() {
        assertThat(run("status", "--admin-socket", dir.resolve("absent.sock").toString()))
                .isEqualTo(1);
        assertThat(err.toString()).contains("no answer on").contains("is the node running?");
        assertThat(run("status")).isEqualTo(2);
        assertThat(err.toString()).contains("give --config FILE or --admin-socket PATH");
    }

    @Test
    void adminSendsOneCommandLineAndFailsOnAnErrorAnswer() throws Exception {
        Path socket = dir.resolve("a.sock");
        CompletableFuture<String> asked = fakeNode(socket, "{\"paths\":15,\"before\":14}");
        assertThat(run("admin", "--admin-socket", socket.toString(), "content", "rescan"))
                .isZero();
        assertThat(asked.get()).isEqualTo("content rescan");
        assertThat(out.toString()).contains("{\"paths\":15,\"before\":14}");
        Path other = dir.resolve("b.sock");
        CompletableFuture<String> refused = fakeNode(other, "{\"error\":\"no routing policy named 'x'\"}");
        assertThat(run("admin", "--admin-socket", other.toString(), "policy", "x"))
                .isEqualTo(1);
        assertThat(refused.get()).isEqualTo("policy x");
    }

    @Test
    void theProductsCompletionScriptKnowsItsCommandsAndTheirOptions() {
        assertThat(run("completion")).isZero();
        assertThat(out.toString())
                .contains("complete -F")
                .contains("node")
                .contains("status")
                .doesNotContain("bench") // the testbed's jar adds it (CompletionTest)
                .contains("admin")
                .contains("--config")
                .contains("--metrics-port")
                .contains("--admin-socket");
    }
}
