package dev.baton.wire;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * The header views alone: wrap, validate, and the {@code ...WithChecksumUpdate} setters in the order
 * the BTCP calls them for each direction, on {@link TestPackets#ACK_WITH_SACK} (timestamps and two
 * SACK blocks) restored from a template each time; {@link #copyTemplate} times that copy alone.
 * No engine, no connection lookup: the floor under {@code BtcpRewriteBenchmark}.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@State(Scope.Thread)
public class HeaderRewriteBenchmark {
    static final int CHOSEN = Bytes.parseIpv4("10.200.1.2");
    static final int ENTRY = Bytes.parseIpv4("10.200.1.1");
    static final int FORWARD_PORT = 61001;
    static final int SEQ_DELTA = 0x8fff_fc18;
    static final int TS_DELTA = 772_777;

    final Ipv4Header ip = new Ipv4Header();
    final TcpHeader tcp = new TcpHeader();
    MemorySegment template, buf;
    int length;

    @Setup
    public void setUp() {
        byte[] b = TestPackets.bytes(TestPackets.ACK_WITH_SACK);
        length = b.length;
        template = Arena.ofAuto().allocate(length);
        buf = Arena.ofAuto().allocate(65536, 64);
        MemorySegment.copy(b, 0, template, ValueLayout.JAVA_BYTE, 0, length);
    }

    /** Restores the packet and checks it as the BTCP does; false if it is not a valid TCP segment. */
    private boolean wrapAndValidate() {
        MemorySegment.copy(template, 0, buf, 0, length);
        if (!ip.wrap(buf, 0, length).isValid()) return false;
        int hl = ip.headerLength();
        return tcp.wrap(buf, hl, ip.totalLength() - hl).validate() == TcpHeader.OK;
    }

    /** Entry node, client to chosen: destination, port, ack, both edges of each SACK block, TSecr. */
    @Benchmark
    public int clientToChosen() {
        if (!wrapAndValidate()) return -1;
        int old = ip.destinationAddress();
        ip.destinationAddressWithChecksumUpdate(CHOSEN);
        tcp.pseudoHeaderAddressChanged(old, CHOSEN);
        tcp.destinationPortWithChecksumUpdate(FORWARD_PORT);
        tcp.acknowledgmentNumberWithChecksumUpdate(tcp.acknowledgmentNumber() + SEQ_DELTA);
        tcp.shiftSackBlocksWithChecksumUpdate(SEQ_DELTA);
        tcp.tsEcrWithChecksumUpdate(tcp.tsEcr() + TS_DELTA);
        return tcp.checksum() ^ ip.headerChecksum();
    }

    /** Chosen node, server to client: source, sequence number, TSval, window (rescaled). */
    @Benchmark
    public int chosenToClient() {
        if (!wrapAndValidate()) return -1;
        int old = ip.sourceAddress();
        ip.sourceAddressWithChecksumUpdate(ENTRY);
        tcp.pseudoHeaderAddressChanged(old, ENTRY);
        tcp.sequenceNumberWithChecksumUpdate(tcp.sequenceNumber() - SEQ_DELTA);
        tcp.tsValWithChecksumUpdate(tcp.tsVal() - TS_DELTA);
        tcp.windowWithChecksumUpdate(tcp.window() << 2);
        return tcp.checksum() ^ ip.headerChecksum();
    }

    /** The restoring copy alone (72 bytes), to subtract. */
    @Benchmark
    public MemorySegment copyTemplate() {
        MemorySegment.copy(template, 0, buf, 0, length);
        return buf;
    }
}
