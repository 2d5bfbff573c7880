package dev.baton.e2e;

import static dev.baton.e2e.EndToEnd.assertExact;
import static dev.baton.e2e.EndToEnd.drop;
import static org.assertj.core.api.Assertions.assertThat;

import dev.baton.btcp.Counter;
import dev.baton.btcp.Drop;
import dev.baton.control.ControlCounter;
import dev.baton.datapath.DatapathCounter;
import dev.baton.node.NodeStats;
import dev.baton.testbed.Client;
import dev.baton.testbed.Spec;
import dev.baton.testbed.Testbed;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Hostile input from the client's namespace (raw packets built by hand, garbage on the control port,
 * unparseable and oversized requests) is dropped and counted, or served locally, and never takes a
 * node down or disturbs other connections.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class BadInputIT {
    static final Path STATE = Path.of("/run/baton-testbed-bad");
    Testbed bed;
    Client client;
    Path script;

    @BeforeAll
    void up() throws Exception {
        EndToEnd.requireRoot();
        bed = Testbed.up(Spec.defaults().withNodes(2).withStateDir(STATE));
        client = EndToEnd.client(bed);
        script = EndToEnd.scratch(bed, "hostile.py");
        Files.writeString(script, HOSTILE);
    }

    @AfterAll
    void down() {
        if (bed != null) bed.down();
    }

    private String hostile(String what) {
        var r = bed.exec(
                bed.client().netns(),
                List.of("python3", script.toString(), what, bed.node(1).ip()),
                Duration.ofSeconds(30));
        assertThat(r.exitCode()).as(what + ": " + r.stderr()).isZero();
        return r.stdout().strip();
    }

    @Test
    void dropsAndCountsMalformedSegmentsAndKeepsServing() throws Exception {
        long truncated = drop(bed, "n1", Drop.BAD_TCP_HEADER);
        long options = drop(bed, "n1", Drop.BAD_TCP_OPTIONS);
        long checksum = drop(bed, "n1", Drop.BAD_CHECKSUM);
        hostile("truncated"); // 10 bytes of TCP header
        hostile("offset"); // data offset 60 bytes in a 20-byte segment
        hostile("options"); // timestamps option with length 3
        hostile("checksum"); // a SYN with a wrong checksum
        // Raw packets travel asynchronously: wait (bounded) until the node has counted them.
        long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
        while (drop(bed, "n1", Drop.BAD_CHECKSUM) == checksum && System.nanoTime() < deadline) Thread.sleep(50);
        assertThat(drop(bed, "n1", Drop.BAD_TCP_HEADER) - truncated).isEqualTo(2);
        assertThat(drop(bed, "n1", Drop.BAD_TCP_OPTIONS) - options).isEqualTo(1);
        assertThat(drop(bed, "n1", Drop.BAD_CHECKSUM) - checksum).isEqualTo(1);
        stillServes();
    }

    @Test
    void closesGarbageOnTheControlPortAndKeepsTheLinks() throws Exception {
        assertThat(hostile("control")).isEqualTo("closed");
        NodeStats n1 = bed.stats().node("n1");
        assertThat(n1.control().get(ControlCounter.UNKNOWN_ADDRESS)).isPositive();
        assertThat(n1.peersUp()).contains("n2");
        stillServes();
    }

    @Test
    void servesUnparseableAndOversizedRequestsLocally() throws Exception {
        long invalid = EndToEnd.counter(bed, "n1", Counter.REQUEST_INVALID);
        long inKernel = EndToEnd.datapathCounter(bed, "n1", DatapathCounter.DECIDED_LOCAL);
        assertThat(hostile("garbage-request")).startsWith("HTTP/1.1 400");
        assertThat(hostile("huge-header")).matches("HTTP/1.1 4(31|00).*");
        // The huge head asks for n1's /index.html in its first segment: on the in-kernel path the
        // programs pass it to the server from its request line, which refuses the rest itself.
        boolean kernel = bed.dataPath() == Spec.DataPath.KERNEL;
        assertThat(EndToEnd.counter(bed, "n1", Counter.REQUEST_INVALID) - invalid)
                .isEqualTo(kernel ? 1 : 2);
        assertThat(EndToEnd.datapathCounter(bed, "n1", DatapathCounter.DECIDED_LOCAL) - inKernel)
                .isEqualTo(kernel ? 1 : 0);
        stillServes();
    }

    private void stillServes() {
        assertExact(bed, client.get(bed.node(1), "/index.html"), "/index.html");
        Client.Response r = client.get(bed.node(1), "/data/1k.bin");
        assertExact(bed, r, "/data/1k.bin");
        assertThat(r.servedBy()).isEqualTo("n2");
    }

    static final String HOSTILE = """
            import random, socket, struct, sys
            what, dst = sys.argv[1], sys.argv[2]
            src = "10.200.0.2"

            def csum(b):
                if len(b) % 2: b += b"\\0"
                s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
                while s >> 16: s = (s & 0xffff) + (s >> 16)
                return ~s & 0xffff

            def tcp(sport, flags, options=b"", offset=None, payload=b"", good=True):
                off = offset if offset is not None else (20 + len(options)) // 4
                h = struct.pack("!HHIIBBHHH", sport, 80, 1000, 0, off << 4, flags, 65535, 0, 0) + options + payload
                pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!BBH", 0, 6, len(h))
                c = csum(pseudo + h)
                if not good: c ^= 0x5a5a
                return h[:16] + struct.pack("!H", c) + h[18:]

            def ip(payload):
                h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 1, 0x4000, 64, 6, 0,
                                socket.inet_aton(src), socket.inet_aton(dst))
                return h[:10] + struct.pack("!H", csum(h)) + h[12:] + payload

            def raw(packet):
                s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
                s.sendto(packet, (dst, 0))

            def http(data):
                s = socket.create_connection((dst, 80), timeout=10)
                s.sendall(data)
                print(s.recv(200).decode("latin-1").split("\\r\\n")[0])

            port = random.randint(20000, 30000)
            if what == "truncated":
                raw(ip(tcp(port, 0x02)[:10]))
            elif what == "offset":
                raw(ip(tcp(port, 0x02, offset=15)))
            elif what == "options":
                raw(ip(tcp(port, 0x02, options=b"\\x08\\x03\\x00\\x01")))
            elif what == "checksum":
                raw(ip(tcp(port, 0x02, good=False)))
            elif what == "control":
                s = socket.create_connection((dst, 7070), timeout=10)
                s.sendall(bytes(random.getrandbits(8) for _ in range(4096)))
                try:
                    print("closed" if s.recv(100) == b"" else "answered")
                except ConnectionResetError:
                    print("closed")
            elif what == "garbage-request":
                http(b"\\x00\\x01 not http at all\\r\\n\\r\\n")
            elif what == "huge-header":
                http(b"GET /index.html HTTP/1.1\\r\\nHost: x\\r\\nX-Big: " + b"a" * 20000 + b"\\r\\n\\r\\n")
            """;
}
