package dev.baton.btcp;

import static dev.baton.btcp.BtcpFuzzTest.A;
import static dev.baton.btcp.BtcpFuzzTest.N3;

import dev.baton.control.ControlFrame;
import dev.baton.control.ControlMessage;
import dev.baton.wire.Bytes;
import dev.baton.wire.TcpHeader;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * Writes the fuzz targets' seed corpora (checked in under {@code src/test/resources}, where Jazzer's
 * JUnit integration reads them as {@code <TestClass>Inputs/<method>/}). Run after changing a format:
 * {@code java -cp target/test-classes:target/classes dev.baton.btcp.FuzzSeeds src/test/resources}.
 */
public final class FuzzSeeds {
    static final int CLIENT = Bytes.parseIpv4("10.200.0.2");
    static final int CLIENT2 = Bytes.parseIpv4("10.200.0.3");
    static final int SHADOW_N3 = Btcp.Shadows.DEFAULT.address(N3.index());
    static final int ISN = 1000, CISN = 42, CHOSEN_ISN = 0x9000_0000;

    private FuzzSeeds() {}

    public static void main(String[] args) throws IOException {
        Path root = Path.of(args.length > 0 ? args[0] : "src/test/resources");
        wire(root.resolve("dev/baton/wire/WireFuzzTestInputs/anyPacket"));
        btcp(root.resolve("dev/baton/btcp/BtcpFuzzTestInputs/anySequence"));
        http(root.resolve("dev/baton/http/RequestParserFuzzTestInputs/splitsAgree"));
        control(root.resolve("dev/baton/control/ControlFrameFuzzTestInputs"));
    }

    // ---- packets

    static TestPackets client(int src, int sport, int dst) {
        return TestPackets.tcp(src, sport, dst, 80);
    }

    static byte[] syn() {
        return client(CLIENT, 40000, A)
                .flags(TcpHeader.SYN)
                .seq(CISN)
                .mss(1460)
                .sackOk()
                .ts(100, 0)
                .wscale(7)
                .build();
    }

    static byte[] synAck() {
        return TestPackets.tcp(A, 80, CLIENT, 40000)
                .flags(TcpHeader.SYN)
                .seq(ISN)
                .ack(CISN + 1)
                .mss(1460)
                .sackOk()
                .ts(5000, 100)
                .wscale(7)
                .build();
    }

    static byte[] ack() {
        return client(CLIENT, 40000, A).seq(CISN + 1).ack(ISN + 1).ts(101, 5000).build();
    }

    static byte[] request(String r) {
        return client(CLIENT, 40000, A)
                .flags(TcpHeader.PSH)
                .seq(CISN + 1)
                .ack(ISN + 1)
                .ts(102, 5000)
                .payload(r)
                .build();
    }

    static void wire(Path dir) throws IOException {
        write(dir, "syn-options", syn());
        write(dir, "synack-options", synAck());
        write(dir, "ack", ack());
        write(dir, "data-request", request("GET /index.html HTTP/1.1\r\nHost: x\r\n\r\n"));
        write(
                dir,
                "sack-3-blocks-ts",
                client(CLIENT, 40000, A)
                        .seq(CISN + 40)
                        .ack(ISN + 3000)
                        .ts(200, 6000)
                        .sack(ISN + 4000, ISN + 5000, ISN + 6000, ISN + 7000, ISN + 8000, ISN + 9000)
                        .build());
        write(
                dir,
                "sack-4-blocks",
                client(CLIENT, 40000, A)
                        .seq(CISN + 40)
                        .ack(ISN + 3000)
                        .sack(1, 2, 3, 4, 5, 6, 7, 8)
                        .build());
        write(
                dir,
                "fin",
                client(CLIENT, 40000, A)
                        .flags(TcpHeader.FIN)
                        .seq(CISN + 40)
                        .ack(ISN + 3000)
                        .build());
        write(
                dir,
                "rst",
                client(CLIENT, 40000, A).flags(TcpHeader.RST).seq(CISN + 40).build());
        byte[] withIpOptions = ipOptions(ack());
        write(dir, "ip-options", withIpOptions);
        byte[] udp = ack();
        udp[9] = 17;
        write(dir, "udp", udp);
        byte[] fragment = request("GET / HTTP/1.1\r\n\r\n");
        fragment[6] = 0x20; // more fragments
        write(dir, "fragment", fragment);
    }

    /** The packet with a 4-byte IPv4 option (NOP, NOP, NOP, EOL) after its header; checksums fixed. */
    static byte[] ipOptions(byte[] p) {
        byte[] b = new byte[p.length + 4];
        System.arraycopy(p, 0, b, 0, 20);
        b[0] = 0x46;
        b[20] = 1;
        b[21] = 1;
        b[22] = 1;
        b[23] = 0;
        System.arraycopy(p, 20, b, 24, p.length - 20);
        b[2] = (byte) (b.length >> 8);
        b[3] = (byte) b.length;
        BtcpFuzzTest.fixChecksums(MemorySegment.ofArray(b), b.length);
        return b;
    }

    // ---- BTCP scripts

    /** Builds a script of {@link BtcpFuzzTest} operations. */
    static final class Script {
        final ByteArrayOutputStream o = new ByteArrayOutputStream();

        Script wire(byte[] p) {
            return packet(BtcpFuzzTest.WIRE_FIXED, p);
        }

        Script kernel(byte[] p) {
            return packet(BtcpFuzzTest.KERNEL_FIXED, p);
        }

        Script packet(int op, byte[] p) {
            o.write(op);
            u16(p.length);
            o.writeBytes(p);
            return this;
        }

        Script tick(long millis) {
            o.write(BtcpFuzzTest.TICK);
            u16((int) (millis / 16));
            return this;
        }

        Script control(int kind, int index, int isn, int tsVal, int ws, int mssOrPort, int opts, byte[] extra) {
            o.write(BtcpFuzzTest.CONTROL);
            o.write(kind);
            o.write(index);
            u32(isn);
            u32(tsVal);
            o.write(ws);
            u16(mssOrPort);
            o.write(opts);
            u16(extra.length);
            o.writeBytes(extra);
            return this;
        }

        Script control(int kind, int index) {
            return control(kind, index, 0, 0, 0, 0, 0, new byte[0]);
        }

        void u16(int v) {
            o.write(v >>> 8);
            o.write(v);
        }

        void u32(int v) {
            u16(v >>> 16);
            u16(v);
        }

        byte[] bytes() {
            return o.toByteArray();
        }
    }

    static Script handshake() {
        return new Script().wire(syn()).kernel(synAck()).wire(ack());
    }

    static void btcp(Path dir) throws IOException {
        write(
                dir,
                "local-service",
                handshake()
                        .wire(request("GET /index.html HTTP/1.1\r\nHost: x\r\n\r\n"))
                        .kernel(TestPackets.tcp(A, 80, CLIENT, 40000)
                                .flags(TcpHeader.PSH)
                                .seq(ISN + 1)
                                .ack(CISN + 38)
                                .ts(5001, 102)
                                .payload("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi")
                                .build())
                        .wire(client(CLIENT, 40000, A)
                                .seq(CISN + 38)
                                .ack(ISN + 41)
                                .ts(103, 5001)
                                .sack(ISN + 50, ISN + 60)
                                .build())
                        .kernel(TestPackets.tcp(A, 80, CLIENT, 40000)
                                .flags(TcpHeader.FIN)
                                .seq(ISN + 41)
                                .ack(CISN + 38)
                                .ts(5002, 103)
                                .build())
                        .wire(client(CLIENT, 40000, A)
                                .flags(TcpHeader.FIN)
                                .seq(CISN + 38)
                                .ack(ISN + 42)
                                .ts(104, 5002)
                                .build())
                        .bytes());

        String video = "GET /video/big.bin HTTP/1.1\r\nHost: x\r\n\r\n";
        int end = CISN + 1 + video.length();
        write(
                dir,
                "handoff-as-entry",
                handshake()
                        .wire(request(video))
                        .control(BtcpFuzzTest.ACK, 0, CHOSEN_ISN, 777_777, 7, 61001, 3, new byte[0])
                        .wire(client(CLIENT, 40000, A)
                                .seq(end)
                                .ack(ISN + 3000)
                                .ts(110, 6000)
                                .sack(ISN + 4000, ISN + 5000, ISN + 6000, ISN + 7000)
                                .build())
                        .wire(client(CLIENT, 40000, A)
                                .flags(TcpHeader.FIN)
                                .seq(end)
                                .ack(ISN + 9000)
                                .ts(111, 6001)
                                .build())
                        .control(BtcpFuzzTest.TERMINATE, 0)
                        .tick(11_000)
                        .bytes());

        write(
                dir,
                "peer-lost-while-forwarding",
                handshake()
                        .wire(request(video))
                        .control(BtcpFuzzTest.PEER_LINK, 2, 1, 0, 0, 0, 0, new byte[0]) // n2 up, incarnation 1
                        .control(BtcpFuzzTest.ACK, 0, CHOSEN_ISN, 777_777, 7, 61001, 3, new byte[0])
                        .control(BtcpFuzzTest.PEER_LINK, 0) // n2 down before the client acknowledged anything of n2's
                        .tick(3_500)
                        .bytes());

        write(
                dir,
                "handoff-refused-then-timeout",
                handshake()
                        .wire(request(video))
                        .control(BtcpFuzzTest.REFUSE, 3)
                        .wire(syn()) // a duplicate SYN while local
                        .tick(2_000)
                        .bytes());

        write(
                dir,
                "handoff-link-down",
                new Script()
                        .control(BtcpFuzzTest.LINK, 1)
                        .wire(syn())
                        .kernel(synAck())
                        .wire(ack())
                        .wire(request(video))
                        .control(BtcpFuzzTest.LINK, 0)
                        .control(BtcpFuzzTest.ACK, 0, CHOSEN_ISN, 1, -1, 61001, 0, new byte[0])
                        .bytes());

        write(
                dir,
                "handoff-timeout",
                handshake()
                        .wire(request(video))
                        .tick(1_500)
                        .control(BtcpFuzzTest.ACK, 0, CHOSEN_ISN, 777_777, 7, 61001, 3, new byte[0])
                        .bytes());

        // n3 hands a connection to us: SYN and ACK as n3 held them (to n3's address).
        byte[] synToN3 = client(CLIENT2, 50000, N3.address())
                .flags(TcpHeader.SYN)
                .seq(CISN)
                .mss(1460)
                .sackOk()
                .ts(100, 0)
                .wscale(7)
                .build();
        byte[] ackToN3 = client(CLIENT2, 50000, N3.address())
                .seq(CISN + 1)
                .ack(ISN + 1)
                .ts(101, 5000)
                .build();
        byte[] extra = new byte[1 + synToN3.length + ackToN3.length];
        extra[0] = (byte) synToN3.length;
        System.arraycopy(synToN3, 0, extra, 1, synToN3.length);
        System.arraycopy(ackToN3, 0, extra, 1 + synToN3.length, ackToN3.length);
        byte[] req = video.getBytes(StandardCharsets.ISO_8859_1);
        write(
                dir,
                "handoff-as-chosen",
                new Script()
                        .control(BtcpFuzzTest.REQUEST_FROM_N3, 1, ISN, 5000, 7, 1460, 3, extra)
                        .kernel(TestPackets.tcp(SHADOW_N3, 80, CLIENT2, 50000)
                                .flags(TcpHeader.SYN)
                                .seq(CHOSEN_ISN)
                                .ack(CISN + 1)
                                .mss(1460)
                                .sackOk()
                                .ts(777_777, 100)
                                .wscale(6)
                                .build())
                        .control(BtcpFuzzTest.COMMIT_FROM_N3, 0, 0, 0, 0, 0, 0, req)
                        .kernel(TestPackets.tcp(SHADOW_N3, 80, CLIENT2, 50000)
                                .flags(TcpHeader.PSH)
                                .seq(CHOSEN_ISN + 1)
                                .ack(CISN + 1 + req.length)
                                .window(1000)
                                .ts(777_800, 102)
                                .payload("HTTP/1.1 200 OK\r\n\r\n")
                                .build())
                        .wire(TestPackets.tcp(CLIENT2, 50000, A, 61003)
                                .seq(CISN + 1 + req.length)
                                .ack(CHOSEN_ISN + 20)
                                .ts(103, 777_800)
                                .sack(CHOSEN_ISN + 40, CHOSEN_ISN + 50)
                                .build())
                        .kernel(TestPackets.tcp(SHADOW_N3, 80, CLIENT2, 50000)
                                .flags(TcpHeader.FIN)
                                .seq(CHOSEN_ISN + 20)
                                .ack(CISN + 1 + req.length)
                                .ts(777_801, 103)
                                .build())
                        .wire(TestPackets.tcp(CLIENT2, 50000, A, 61003)
                                .flags(TcpHeader.FIN)
                                .seq(CISN + 1 + req.length)
                                .ack(CHOSEN_ISN + 21)
                                .ts(104, 777_801)
                                .build())
                        .control(BtcpFuzzTest.ABORT_FROM_N3, 0)
                        .tick(61_000)
                        .bytes());

        Script slow = handshake();
        String get = "GET /video/a HTTP/1.1\r\nHost: x\r\n\r\n";
        for (int i = 0; i < get.length(); i++) {
            slow.wire(client(CLIENT, 40000, A)
                    .flags(TcpHeader.PSH)
                    .seq(CISN + 1 + i)
                    .ack(ISN + 1)
                    .ts(102 + i, 5000)
                    .payload(get.substring(i, i + 1))
                    .build());
            if (i == 5) slow.tick(1_000);
        }
        write(dir, "byte-by-byte-request", slow.bytes());

        write(
                dir,
                "request-timeout",
                handshake()
                        .wire(request("GET /vid"))
                        .tick(6_000)
                        .kernel(TestPackets.tcp(A, 80, CLIENT, 40000)
                                .flags(TcpHeader.RST)
                                .seq(ISN + 1)
                                .build())
                        .bytes());

        Script flood = new Script();
        for (int i = 0; i < 6; i++) {
            flood.wire(client(CLIENT, 41000 + i, A)
                    .flags(TcpHeader.SYN)
                    .seq(CISN + i)
                    .mss(1460)
                    .build());
        }
        write(dir, "syn-flood", flood.tick(31_000).bytes());

        Script full = new Script();
        for (int i = 0; i < 5; i++) { // four connections served locally fill the table; the fifth finds it full
            int port = 42000 + i;
            full.wire(client(CLIENT, port, A)
                    .flags(TcpHeader.SYN)
                    .seq(CISN)
                    .mss(1460)
                    .build());
            if (i == 4) break;
            full.kernel(TestPackets.tcp(A, 80, CLIENT, port)
                            .flags(TcpHeader.SYN)
                            .seq(ISN)
                            .ack(CISN + 1)
                            .mss(1460)
                            .build())
                    .wire(client(CLIENT, port, A).seq(CISN + 1).ack(ISN + 1).build())
                    .wire(client(CLIENT, port, A)
                            .flags(TcpHeader.PSH)
                            .seq(CISN + 1)
                            .ack(ISN + 1)
                            .payload("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
                            .build());
        }
        write(dir, "table-full", full.bytes());

        write(
                dir,
                "bad-checksum-and-garbage",
                new Script()
                        .packet(BtcpFuzzTest.WIRE_RAW, corrupt(syn()))
                        .packet(BtcpFuzzTest.WIRE_RAW, new byte[] {0x45, 0, 0, 20})
                        .packet(BtcpFuzzTest.KERNEL_RAW, new byte[] {0x60, 0, 0, 0})
                        .packet(BtcpFuzzTest.WIRE_RAW, ipOptions(syn()))
                        .bytes());
    }

    static byte[] corrupt(byte[] p) {
        byte[] b = p.clone();
        b[b.length - 1] ^= 0x5a;
        return b;
    }

    // ---- HTTP requests: byte 0 picks the limits (0: defaults), byte 1 the split seed.

    static void http(Path dir) throws IOException {
        List<String[]> requests = List.of(
                new String[] {"get", "GET /index.html HTTP/1.1\r\nHost: www.example.com\r\nAccept: */*\r\n\r\n"},
                new String[] {"keep-alive-10", "GET /a/b/c.txt?x=1 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"},
                new String[] {
                    "absolute-form", "GET http://Example.COM:8080/video/x.bin?q HTTP/1.1\r\nHost: other\r\n\r\n"
                },
                new String[] {"duplicate-host", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"},
                new String[] {"missing-host", "GET /x HTTP/1.1\r\nUser-Agent: t\r\n\r\n"},
                new String[] {"dot-segments", "GET /a/./b/../../c/%2e%2e/d HTTP/1.1\r\nHost: x\r\n\r\n"},
                new String[] {"dot-escape-root", "GET /a/../../etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n"},
                new String[] {"encoded-slash-dots", "GET /%2e%2e%2f%2e%2e%2fetc HTTP/1.1\r\nHost: x\r\n\r\n"},
                new String[] {"invalid-utf8", "GET /%c0%af%ff HTTP/1.1\r\nHost: x\r\n\r\n"},
                new String[] {"encoded-nul", "GET /a%00b HTTP/1.1\r\nHost: x\r\n\r\n"},
                new String[] {"nul", "GET /a\0b HTTP/1.1\r\nHost: x\r\n\r\n"},
                new String[] {"obs-fold", "GET / HTTP/1.1\r\nHost: x\r\nX: a\r\n b\r\n\r\n"},
                new String[] {"bare-cr", "GET / HTTP/1.1\rHost: x\r\n\r\n"},
                new String[] {"bare-lf", "\n\nGET / HTTP/1.1\nHost: x\n\n"},
                new String[] {
                    "smuggling",
                    "POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
                },
                new String[] {
                    "chunked", "POST /p HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n"
                },
                new String[] {
                    "content-length-list",
                    "POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 3, 3\r\nConnection: close\r\n\r\nabc"
                },
                new String[] {"connect", "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n"},
                new String[] {"options-star", "OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n"},
                new String[] {"pipelined", "GET /1 HTTP/1.1\r\nHost: x\r\n\r\nGET /2 HTTP/1.1\r\nHost: x\r\n\r\n"},
                new String[] {"space-before-colon", "GET / HTTP/1.1\r\nHost : x\r\n\r\n"},
                new String[] {"http2-version", "GET / HTTP/2.0\r\nHost: x\r\n\r\n"},
                new String[] {"never-ends", "GET /slow HTTP/1.1\r\nHost: x\r\nX-Slow: aaaa"},
                new String[] {"long-uri", "GET /" + "a".repeat(9000) + " HTTP/1.1\r\nHost: x\r\n\r\n"},
                new String[] {"long-header", "GET / HTTP/1.1\r\nHost: x\r\nX-Long: " + "b".repeat(9000) + "\r\n\r\n"});
        for (String[] r : requests) {
            byte[] body = r[1].getBytes(StandardCharsets.ISO_8859_1);
            byte[] seed = new byte[body.length + 2];
            seed[0] = 0;
            seed[1] = (byte) body.length;
            System.arraycopy(body, 0, seed, 2, body.length);
            write(dir, r[0], seed);
        }
        byte[] many = ("GET / HTTP/1.1\r\n" + "A: 1\r\n".repeat(9) + "\r\n").getBytes(StandardCharsets.ISO_8859_1);
        byte[] seed = new byte[many.length + 2];
        seed[0] = (byte) 0x85; // small limits: 21 bytes of head, 5 headers
        System.arraycopy(many, 0, seed, 2, many.length);
        write(dir, "small-limits-too-many-headers", seed);
    }

    // ---- control frames, one of every type

    static void control(Path dir) throws IOException {
        Path frames = dir.resolve("anyFrame");
        byte[] syn = syn();
        byte[] ack = ack();
        List<ControlMessage> messages = List.of(
                new ControlMessage.Hello(
                        "n1", A, 80, 0x0123_4567_89ab_cdefL, "sixteen nonce b.".getBytes(StandardCharsets.US_ASCII)),
                new ControlMessage.Auth("a MAC of thirty-two bytes, here.".getBytes(StandardCharsets.US_ASCII)),
                new ControlMessage.Heartbeat(12, 3),
                new ControlMessage.HandoffRequest(0x0a00_0002_9c40_0001L, ISN, 5000, 7, 1460, true, true, syn, ack),
                new ControlMessage.HandoffAck(0x0a00_0002_9c40_0001L, CHOSEN_ISN, 777_777, -1, 536, false, true, 61001),
                new ControlMessage.HandoffRefuse(7, 5),
                new ControlMessage.Terminate(8),
                new ControlMessage.Abort(9),
                new ControlMessage.Commit(
                        10, "GET /video/big.bin HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII)),
                new ControlMessage.Content(
                        true, true, List.of("/index.html", "/video/", "/caf\u00e9/\u65e5\u672c.txt")));
        for (ControlMessage m : messages) {
            ByteBuffer b = ByteBuffer.allocate(ControlFrame.MAX_FRAME_LENGTH);
            ControlFrame.encode(m, b);
            write(
                    frames,
                    m.getClass().getSimpleName().toLowerCase(Locale.ROOT),
                    Arrays.copyOf(b.array(), b.position()));
        }
        // roundTrip reads a FuzzedDataProvider, which takes numbers from the end of its input: the last
        // byte picks the type, the bytes before it the fields.
        Path built = dir.resolve("roundTrip");
        for (int type = 0; type < 10; type++) {
            byte[] fields = ("/index.html n1 GET / HTTP/1.1 " + type).getBytes(StandardCharsets.US_ASCII);
            byte[] seed = Arrays.copyOf(fields, fields.length + 24);
            for (int i = 0; i < 23; i++) seed[fields.length + i] = (byte) (i * 37 + type);
            seed[seed.length - 1] = (byte) type;
            write(built, "type-" + (type + 1), seed);
        }
    }

    static void write(Path dir, String name, byte[] b) throws IOException {
        Files.createDirectories(dir);
        Files.write(dir.resolve(name), b);
    }
}
