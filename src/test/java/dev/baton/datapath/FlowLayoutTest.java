package dev.baton.datapath;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.baton.btcp.Btcp;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The Java side of the maps' layouts (src/main/bpf/datapath.h), byte by byte: what the programs read
 * at each offset. Addresses and ports go in network byte order, numbers in the host's (little-endian
 * here, as the programs read them).
 */
class FlowLayoutTest {
    private static String hex(MemorySegment s, int n) {
        byte[] b = new byte[n];
        MemorySegment.copy(s, ValueLayout.JAVA_BYTE, 0, b, 0, n);
        return HexFormat.of().formatHex(b);
    }

    @Test
    void writesAKeyInNetworkOrder() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment s = a.allocate(FlowKey.SIZE).fill((byte) 0xa5);
            new FlowKey(0x0a00c80a, 0x0a000101, 40000, 80).write(s);
            assertThat(hex(s, FlowKey.SIZE)).isEqualTo("0a00c80a" + "0a000101" + "9c40" + "0050");
            assertThat(FlowKey.read(s)).isEqualTo(new FlowKey(0x0a00c80a, 0x0a000101, 40000, 80));
        }
    }

    @Test
    void writesAFlowWhereTheProgramsReadIt() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment s = a.allocate(Flow.SIZE).fill((byte) 0xa5);
            Flow f = new Flow(
                    FlowAction.TO_CLIENT,
                    true,
                    7,
                    2,
                    0x0a000102,
                    61003,
                    0x11223344,
                    0x55667788,
                    0x99aabbcc,
                    0xddeeff00);
            f.write(s);
            assertThat(hex(s, Flow.SIZE))
                    .isEqualTo("04" + "01" + "07" + "02" // action, flags, scales
                            + "0a000102" // address, network order
                            + "ee4b" + "0000" // port 61003, network order; reserved
                            + "44332211" + "88776655" // deltas, host order
                            + "ccbbaa99" + "00ffeedd"); // consumed in, out
            assertThat(Flow.read(s)).isEqualTo(f);
            // FLOW_F_LINGER beside FLOW_F_TIMESTAMPS
            Flow over = new Flow(FlowAction.TO_CHOSEN, false, 0, 0, 1, 2, 3, 4, 5, 6).lingering();
            over.write(s);
            assertThat(hex(s, 2)).isEqualTo("02" + "02");
            assertThat(Flow.read(s)).isEqualTo(over);
            over.withConsumed(7, 8).write(s);
            assertThat(Flow.read(s).lingers()).as("kept by withConsumed").isTrue();
        }
    }

    @Test
    void readsTheProgressTheProgramsWrite() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment s = a.allocate(Progress.SIZE);
            s.copyFrom(MemorySegment.ofArray(HexFormat.of()
                    .parseHex("03000000" + "02000000" + "ccbbaa99" + "00ffeedd" + "0807060504030201" + "e8030000"
                            + "00000000")));
            assertThat(Progress.read(s))
                    .isEqualTo(new Progress(3, 2, 0x99aabbcc, 0xddeeff00, 0x0102030405060708L, 1000));
        }
    }

    @Test
    void writesTheConfig() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment s = a.allocate(DatapathConfig.SIZE).fill((byte) 0xa5);
            new DatapathConfig(0x0a000101, 0xa9fe4d00, 80, 61000, 255, 5, 6, 7, 0xba70, true, true).write(s);
            assertThat(hex(s, DatapathConfig.SIZE))
                    .isEqualTo("0a000101" + "a9fe4d00" + "0050" // addresses and the service port, network order
                            + "48ee" + "ff00" + "0000" // forward base 61000 and count 255, host order
                            + "05000000" + "06000000" + "07000000" + "70ba0000" + "03000000"); // both flags
        }
    }

    @Test
    void refusesWhatTheProgramsCouldNotMeanToDo() {
        assertThatThrownBy(() -> new Flow(FlowAction.TO_CLIENT, true, 15, 0, 0, 0, 0, 0, 0, 0))
                .hasMessageContaining("window scales");
        assertThatThrownBy(() -> new FlowKey(0, 0, 70000, 80)).hasMessageContaining("16 bits");
        assertThatThrownBy(() -> new DatapathConfig(0, 0, 80, 0, 0, 0, 0, 0, 0, false, false))
                .hasMessageContaining("mark");
        assertThat(FlowAction.of(3)).isEqualTo(FlowAction.FROM_ENTRY);
        assertThatThrownBy(() -> FlowAction.of(9)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void countersFollowTheProgramsOrder() throws IOException {
        // enum datapath_counter in datapath.h, C_SLOW_FROM_WIRE = 0 ... up to C_MAX: the same names, in order
        String h = Files.readString(Path.of("src/main/bpf/datapath.h"));
        String body = h.substring(h.indexOf("enum datapath_counter {"), h.indexOf("C_MAX,"));
        List<String> names = Pattern.compile("\\bC_([A-Z_]+)\\b")
                .matcher(body)
                .results()
                .map(m -> m.group(1))
                .toList();
        assertThat(Arrays.stream(DatapathCounter.values()).map(Enum::name).toList())
                .isEqualTo(names);
        assertThat(names).hasSizeGreaterThan(15);
    }

    @Test
    void theProgramsReleaseASilentClientAfterTheEnginesRequestTimeout() throws IOException {
        String h = Files.readString(Path.of("src/main/bpf/datapath.h"));
        var m = Pattern.compile("#define HELD_ACK_TIMEOUT_MS (\\d+)").matcher(h);
        assertThat(m.find()).as("HELD_ACK_TIMEOUT_MS in datapath.h").isTrue();
        assertThat(Long.parseLong(m.group(1)))
                .isEqualTo(Btcp.Timers.DEFAULT.request().toMillis());
    }
}
