package dev.baton.e2e;

import static dev.baton.e2e.EndToEnd.assertExact;
import static org.assertj.core.api.Assertions.assertThat;

import dev.baton.btcp.Counter;
import dev.baton.control.ControlCounter;
import dev.baton.node.NodeStats;
import dev.baton.testbed.Client;
import dev.baton.testbed.Names;
import dev.baton.testbed.Spec;
import dev.baton.testbed.Testbed;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * A rogue process inside n1's namespace (so its packets carry n1's address, the one n2 accepts
 * control connections from) connects to n2's control port, says Hello as n1, and sends a handoff
 * request with a forged Auth, with no Auth, and with n2's own Auth reflected. n2 must count each
 * failure, accept no handoff, keep its real link to n1, and the testbed must keep serving curl
 * byte-exact, handoffs included.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ControlAuthIT {
    static final Path STATE = Path.of("/run/baton-testbed-auth");
    Testbed bed;
    Client client;
    Path script;

    @BeforeAll
    void up() throws Exception {
        EndToEnd.requireRoot();
        bed = Testbed.up(Spec.defaults().withNodes(2).withStateDir(STATE));
        client = EndToEnd.client(bed);
        script = EndToEnd.scratch(bed, "rogue.py");
        Files.writeString(script, ROGUE);
    }

    @AfterAll
    void down() {
        if (bed != null) bed.down();
    }

    @Test
    void theTestbedKeyIsPrivate() throws Exception {
        Path key = bed.clusterKey();
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(key)))
                .isEqualTo("rw-------");
        assertThat(Files.size(key)).isEqualTo(32);
    }

    @Test
    void aRogueOnAMembersAddressCannotHandOffOrCutTheLink() throws Exception {
        stillServes(); // a handoff works before: the counters below would move if one were accepted
        NodeStats n1Before = bed.stats().node("n1");
        NodeStats n2Before = bed.stats().node("n2");
        assertThat(n2Before.peersUp()).contains("n1");

        for (String how : List.of("forged-auth", "no-auth", "reflected-auth")) {
            var r = bed.exec(
                    bed.node(1).netns(),
                    List.of(
                            "python3",
                            script.toString(),
                            how,
                            bed.node(1).ip(),
                            bed.node(2).ip(),
                            Integer.toString(Names.CONTROL_PORT)),
                    Duration.ofSeconds(30));
            assertThat(r.exitCode()).as(how + ": " + r.stderr()).isZero();
            // n2 answered Hello (so the rogue passed the address check) and then closed the connection.
            assertThat(r.stdout().strip()).as(how).isEqualTo("hello-answered closed");
        }

        NodeStats n1 = bed.stats().node("n1");
        NodeStats n2 = bed.stats().node("n2");
        assertThat(n2.control().get(ControlCounter.AUTH_FAILED)
                        - n2Before.control().get(ControlCounter.AUTH_FAILED))
                .isEqualTo(3);
        assertThat(n2.control().get(ControlCounter.UNKNOWN_ADDRESS)
                        - n2Before.control().get(ControlCounter.UNKNOWN_ADDRESS))
                .as("the rogue came from n1's address")
                .isZero();
        for (Counter c : List.of(Counter.HANDOFFS_ACCEPTED, Counter.HANDOFFS_REFUSED)) {
            assertThat(n2.counter(c)).as(c + " at n2").isEqualTo(n2Before.counter(c));
        }
        assertThat(n2.peersUp()).contains("n1");
        assertThat(n1.peersUp()).contains("n2");
        assertThat(n2.control().get(ControlCounter.RECONNECTS))
                .as("the real link was never replaced")
                .isEqualTo(n2Before.control().get(ControlCounter.RECONNECTS));
        assertThat(n1.control().get(ControlCounter.RECONNECTS))
                .isEqualTo(n1Before.control().get(ControlCounter.RECONNECTS));
        assertThat(n2.control().get(ControlCounter.BAD_MAC)).isZero();
        stillServes();
    }

    private void stillServes() {
        assertExact(bed, client.get(bed.node(1), "/index.html"), "/index.html");
        Client.Response r = client.get(bed.node(1), "/data/1k.bin");
        assertExact(bed, r, "/data/1k.bin");
        assertThat(r.servedBy()).isEqualTo("n2");
    }

    /**
     * The rogue: speaks control protocol version 2 by hand, without the key. Frame: u32 length, u8
     * version, u8 type, u16 flags, u64 correlation id, payload (ControlFrame's layout).
     */
    static final String ROGUE = """
            import os, random, socket, struct, sys
            how, me, n2, port = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])

            def frame(ftype, corr, payload):
                return struct.pack("!IBBHQ", 12 + len(payload), 2, ftype, 0, corr) + payload

            def read_frame(s):
                head = b""
                while len(head) < 4:
                    b = s.recv(4 - len(head))
                    if not b: raise EOFError
                    head += b
                n = struct.unpack("!I", head)[0]
                body = b""
                while len(body) < n:
                    b = s.recv(n - len(body))
                    if not b: raise EOFError
                    body += b
                return head + body

            def csum(b):
                if len(b) % 2: b += b"\\0"
                s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
                while s >> 16: s = (s & 0xffff) + (s >> 16)
                return ~s & 0xffff

            def packet(src, dst, sport, seq, ack, flags):
                tcp = struct.pack("!HHIIBBHHH", sport, 80, seq, ack, 5 << 4, flags, 65535, 0, 0)
                pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!BBH", 0, 6, len(tcp))
                tcp = tcp[:16] + struct.pack("!H", csum(pseudo + tcp)) + tcp[18:]
                ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 1, 0x4000, 64, 6, 0,
                                 socket.inet_aton(src), socket.inet_aton(dst))
                return ip[:10] + struct.pack("!H", csum(ip)) + ip[12:] + tcp

            name = b"n1"
            hello = frame(1, 0, struct.pack("!B", len(name)) + name + socket.inet_aton(me)
                          + struct.pack("!HQ", 80, random.getrandbits(64)) + os.urandom(16))
            # A handoff of a made-up client connection to n1 (the client's SYN and ACK), as n1 would send it.
            sport = random.randint(20000, 30000)
            syn = packet("10.200.0.2", me, sport, 1000, 0, 0x02)
            ack = packet("10.200.0.2", me, sport, 1001, 5001, 0x10)
            request = frame(3, random.getrandbits(63),
                            struct.pack("!IIbHB", 5000, 1, 7, 1460, 3)
                            + struct.pack("!H", len(syn)) + syn + struct.pack("!H", len(ack)) + ack)
            tag = os.urandom(16)

            s = socket.create_connection((n2, port), timeout=10)
            s.sendall(hello)
            out = []
            try:
                read_frame(s)          # n2's Hello
                their_auth = read_frame(s)
                out.append("hello-answered")
                if how == "forged-auth":
                    s.sendall(frame(10, 0, os.urandom(32)) + request + tag)
                elif how == "no-auth":
                    s.sendall(request + tag)
                elif how == "reflected-auth":
                    s.sendall(their_auth + request + tag)
                while s.recv(4096):
                    pass
                out.append("closed")
            except EOFError:
                out.append("closed-early")
            except ConnectionResetError:
                out.append("closed")
            except socket.timeout:
                out.append("still-open")
            print(" ".join(out))
            """;
}
