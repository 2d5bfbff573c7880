package dev.baton.wire;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;
import java.util.Random;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/**
 * The {@code ...WithChecksumUpdate} setters (RFC 1624) must leave exactly the checksum a full
 * recomputation gives, on random IPv4/TCP packets (odd payload lengths, timestamps, SACK blocks,
 * options at odd offsets) and random rewrites in random order, as the BTCP applies them when it
 * translates a connection.
 */
class IncrementalChecksumProperties {

    /** What to build: every field random; the options area is laid out by {@link #build}. */
    record Spec(
            int base,
            int src,
            int dst,
            int ports,
            int seq,
            int ack,
            int window,
            int flags,
            Opts opts,
            int payloadLength,
            long payloadSeed) {}

    record Opts(
            int leadingNops,
            boolean mss,
            boolean timestamps,
            int tsVal,
            int tsEcr,
            int sackBlocks,
            List<Integer> sackEdges) {}

    sealed interface Rewrite {}

    record Src(int address) implements Rewrite {}

    record Dst(int address) implements Rewrite {}

    record SeqTo(int value) implements Rewrite {}

    record AckTo(int value) implements Rewrite {}

    record Window(int value) implements Rewrite {}

    record TsVal(int value) implements Rewrite {}

    record TsEcr(int value) implements Rewrite {}

    record SackShift(int delta) implements Rewrite {}

    @Provide
    Arbitrary<Opts> options() {
        return Combinators.combine(
                        Arbitraries.integers().between(0, 3),
                        Arbitraries.of(true, false),
                        Arbitraries.of(true, false),
                        Arbitraries.integers(),
                        Arbitraries.integers(),
                        Arbitraries.integers().between(0, 4),
                        Arbitraries.integers().list().ofSize(8))
                .as(Opts::new);
    }

    @Provide
    Arbitrary<Spec> packets() {
        Arbitrary<Integer> any = Arbitraries.integers();
        Arbitrary<Integer> payload =
                Arbitraries.oneOf(Arbitraries.integers().between(0, 1460), Arbitraries.of(0, 1, 2, 3, 1459, 1460));
        return Combinators.combine(
                        Combinators.combine(Arbitraries.integers().between(0, 3), any, any, any)
                                .as(List::of),
                        Combinators.combine(
                                        any,
                                        any,
                                        Arbitraries.integers().between(0, 0xffff),
                                        Arbitraries.integers().between(0, 0xff))
                                .as(List::of),
                        options(),
                        payload,
                        Arbitraries.longs())
                .as((a, b, o, len, seed) -> new Spec(
                        a.get(0), a.get(1), a.get(2), a.get(3), b.get(0), b.get(1), b.get(2), b.get(3), o, len, seed));
    }

    @Provide
    Arbitrary<List<Rewrite>> rewrites() {
        Arbitrary<Integer> any = Arbitraries.integers();
        Arbitrary<Rewrite> one = Arbitraries.oneOf(
                any.map(Src::new),
                any.map(Dst::new),
                any.map(SeqTo::new),
                any.map(AckTo::new),
                Arbitraries.integers().between(0, 0xffff).map(Window::new),
                any.map(TsVal::new),
                any.map(TsEcr::new),
                any.map(SackShift::new));
        return one.list().ofMinSize(1).ofMaxSize(12);
    }

    @Property(tries = 3000)
    void incrementalUpdatesEqualAFullRecompute(
            @ForAll("packets") Spec spec, @ForAll("rewrites") List<Rewrite> rewrites) {
        Built p = build(spec);
        Ipv4Header ip = new Ipv4Header().wrap(p.segment, spec.base(), p.length);
        assertThat(ip.isValid()).isTrue();
        TcpHeader tcp = new TcpHeader().wrap(p.segment, ip.payloadOffset(), ip.payloadLength());
        assertThat(tcp.validate()).isEqualTo(TcpHeader.OK);
        assertThat(tcp.hasTimestamps()).isEqualTo(spec.opts().timestamps());
        assertThat(tcp.sackBlockCount()).isEqualTo(p.sackBlocks);
        assertChecksumsRight(p, ip, tcp);

        for (Rewrite r : rewrites) {
            apply(r, ip, tcp);
            assertChecksumsRight(p, ip, tcp);
        }
        // The rewrites touched nothing they do not own: a revalidation sees the same layout.
        assertThat(tcp.validate()).isEqualTo(TcpHeader.OK);
        assertThat(tcp.sackBlockCount()).isEqualTo(p.sackBlocks);
        assertThat(ip.isValid()).isTrue();
    }

    /** Applies one rewrite as the BTCP does (an address change reaches both checksums). */
    private static void apply(Rewrite r, Ipv4Header ip, TcpHeader tcp) {
        switch (r) {
            case Src(int a) -> {
                int old = ip.sourceAddress();
                ip.sourceAddressWithChecksumUpdate(a);
                tcp.pseudoHeaderAddressChanged(old, a);
                assertThat(ip.sourceAddress()).isEqualTo(a);
            }
            case Dst(int a) -> {
                int old = ip.destinationAddress();
                ip.destinationAddressWithChecksumUpdate(a);
                tcp.pseudoHeaderAddressChanged(old, a);
                assertThat(ip.destinationAddress()).isEqualTo(a);
            }
            case SeqTo(int v) -> {
                tcp.sequenceNumberWithChecksumUpdate(v);
                assertThat(tcp.sequenceNumber()).isEqualTo(v);
            }
            case AckTo(int v) -> {
                tcp.acknowledgmentNumberWithChecksumUpdate(v);
                assertThat(tcp.acknowledgmentNumber()).isEqualTo(v);
            }
            case Window(int v) -> {
                tcp.windowWithChecksumUpdate(v);
                assertThat(tcp.window()).isEqualTo(v);
            }
            case TsVal(int v) -> {
                if (!tcp.hasTimestamps()) return;
                tcp.tsValWithChecksumUpdate(v);
                assertThat(tcp.tsVal()).isEqualTo(v);
            }
            case TsEcr(int v) -> {
                if (!tcp.hasTimestamps()) return;
                tcp.tsEcrWithChecksumUpdate(v);
                assertThat(tcp.tsEcr()).isEqualTo(v);
            }
            case SackShift(int d) -> {
                int[] before = new int[2 * tcp.sackBlockCount()];
                for (int i = 0; i < tcp.sackBlockCount(); i++) {
                    before[2 * i] = tcp.sackLeft(i);
                    before[2 * i + 1] = tcp.sackRight(i);
                }
                tcp.shiftSackBlocksWithChecksumUpdate(d);
                for (int i = 0; i < tcp.sackBlockCount(); i++) {
                    assertThat(tcp.sackLeft(i)).isEqualTo(before[2 * i] + d);
                    assertThat(tcp.sackRight(i)).isEqualTo(before[2 * i + 1] + d);
                }
            }
        }
    }

    /**
     * A partial checksum (a TUN's NEEDS_CSUM: the non-complemented pseudo-header sum) stays exactly
     * the pseudo-header sum of the rewritten addresses whatever else changes, as Linux's
     * {@code inet_proto_csum_replace4} keeps it for CHECKSUM_PARTIAL; finished in software it is the
     * full checksum of the rewritten packet.
     */
    @Property(tries = 2000)
    void partialChecksumsFollowThePseudoHeaderOnly(
            @ForAll("packets") Spec spec, @ForAll("rewrites") List<Rewrite> rewrites) {
        Built p = build(spec);
        Ipv4Header ip = new Ipv4Header().wrap(p.segment, spec.base(), p.length);
        assertThat(ip.isValid()).isTrue();
        TcpHeader tcp = new TcpHeader().wrap(p.segment, ip.payloadOffset(), ip.payloadLength());
        assertThat(tcp.validate()).isEqualTo(TcpHeader.OK);
        tcp.checksum(partialSum(ip, tcp));
        tcp.partialChecksum(true);

        for (Rewrite r : rewrites) {
            apply(r, ip, tcp);
            assertThat(tcp.checksum()).isEqualTo(partialSum(ip, tcp));
            assertThat(ip.headerChecksumValid()).isTrue();
        }
        MemorySegment vnet = Arena.ofAuto().allocate(VirtioNetHeader.LENGTH);
        VirtioNetHeader h = new VirtioNetHeader().wrap(vnet, 0);
        h.flags(VirtioNetHeader.F_NEEDS_CSUM);
        h.u16le(VirtioNetHeader.CSUM_START, (int) (tcp.base() - ip.base()));
        h.u16le(VirtioNetHeader.CSUM_OFFSET, 16);
        assertThat(h.completeChecksum(p.segment, ip.base(), p.length)).isTrue();
        assertThat(h.needsChecksum()).isFalse();
        byte[] now = TestPackets.toBytes(p.segment);
        assertThat(tcp.checksum())
                .isEqualTo(TestPackets.referenceTcpChecksum(
                        now, (int) tcp.base(), tcp.segmentLength(), ip.sourceAddress(), ip.destinationAddress()));
    }

    /** The pseudo-header sum, folded, not complemented: what a partial checksum field holds. */
    private static int partialSum(Ipv4Header ip, TcpHeader tcp) {
        long pseudo =
                (ip.sourceAddress() & 0xffffffffL) + (ip.destinationAddress() & 0xffffffffL) + 6 + tcp.segmentLength();
        return Checksum.fold(pseudo);
    }

    private static void assertChecksumsRight(Built p, Ipv4Header ip, TcpHeader tcp) {
        byte[] now = TestPackets.toBytes(p.segment);
        int base = (int) ip.base();
        int tcpAt = (int) tcp.base();
        int src = ip.sourceAddress();
        int dst = ip.destinationAddress();

        int wantIp = TestPackets.referenceIpv4Checksum(now, base);
        assertThat(ip.computeHeaderChecksum()).isEqualTo(wantIp);
        assertThat(ip.headerChecksum()).isEqualTo(wantIp);
        assertThat(ip.headerChecksumValid()).isTrue();

        int wantTcp = TestPackets.referenceTcpChecksum(now, tcpAt, tcp.segmentLength(), src, dst);
        assertThat(tcp.computeChecksum(src, dst)).isEqualTo(wantTcp);
        assertThat(tcp.checksum()).isEqualTo(wantTcp);
        assertThat(tcp.checksumValid(src, dst)).isTrue();
    }

    record Built(MemorySegment segment, int length, int sackBlocks) {}

    /** Lays the packet out byte by byte and fills both checksums with the reference sum. */
    static Built build(Spec spec) {
        Opts o = spec.opts();
        int nops = o.leadingNops();
        boolean mss = o.mss();
        int blocks = o.sackBlocks();
        // Fit the options into 40 bytes: drop padding NOPs, then MSS, then SACK blocks.
        while (optionBytes(nops, mss, o.timestamps(), blocks) > 40) {
            if (nops > 0) nops--;
            else if (mss) mss = false;
            else blocks--;
        }
        ByteArrayOutputStream opt = new ByteArrayOutputStream();
        for (int i = 0; i < nops; i++) opt.write(1);
        if (mss) writeAll(opt, 2, 4, 0x05, 0xb4);
        if (o.timestamps()) {
            writeAll(opt, 1, 1, 8, 10);
            write32(opt, o.tsVal());
            write32(opt, o.tsEcr());
        }
        if (blocks > 0) {
            writeAll(opt, 1, 1, 5, 2 + 8 * blocks);
            for (int i = 0; i < 2 * blocks; i++) write32(opt, o.sackEdges().get(i));
        }
        while (opt.size() % 4 != 0) opt.write(0); // EOL padding
        byte[] options = opt.toByteArray();

        int tcpHeader = 20 + options.length;
        int tcpLength = tcpHeader + spec.payloadLength();
        int total = 20 + tcpLength;
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        writeAll(b, 0x45, 0, total >>> 8, total & 0xff, 0x12, 0x34, 0x40, 0, 64, 6, 0, 0);
        write32(b, spec.src());
        write32(b, spec.dst());
        write32(b, spec.ports());
        write32(b, spec.seq());
        write32(b, spec.ack());
        writeAll(b, (tcpHeader / 4) << 4, spec.flags(), spec.window() >>> 8, spec.window() & 0xff, 0, 0, 0, 0);
        b.writeBytes(options);
        byte[] payload = new byte[spec.payloadLength()];
        new Random(spec.payloadSeed()).nextBytes(payload);
        b.writeBytes(payload);
        byte[] packet = b.toByteArray();

        int ipSum = TestPackets.referenceIpv4Checksum(packet, 0);
        packet[10] = (byte) (ipSum >>> 8);
        packet[11] = (byte) ipSum;
        int tcpSum = TestPackets.referenceTcpChecksum(packet, 20, tcpLength, spec.src(), spec.dst());
        packet[36] = (byte) (tcpSum >>> 8);
        packet[37] = (byte) tcpSum;

        MemorySegment s = Arena.ofAuto().allocate(spec.base() + packet.length + 3);
        s.fill((byte) 0xa5);
        MemorySegment.copy(packet, 0, s, ValueLayout.JAVA_BYTE, spec.base(), packet.length);
        return new Built(s, packet.length, blocks);
    }

    private static int optionBytes(int nops, boolean mss, boolean ts, int blocks) {
        return nops + (mss ? 4 : 0) + (ts ? 12 : 0) + (blocks > 0 ? 4 + 8 * blocks : 0);
    }

    private static void writeAll(ByteArrayOutputStream out, int... bytes) {
        for (int v : bytes) out.write(v);
    }

    private static void write32(ByteArrayOutputStream out, int v) {
        writeAll(out, v >>> 24, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff);
    }
}
