package dev.baton.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** The wrk parser on real wrk 4.1 output captured on the testbed (files next to this class). */
class WrkOutputTest {
    static String sample(String name) {
        try (InputStream in = WrkOutputTest.class.getResourceAsStream("wrk-" + name + ".txt")) {
            assertThat(in).as("sample " + name).isNotNull();
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    @Test
    void readsTotalsLatencyAndNonSuccessResponses() {
        WrkResult r = WrkOutput.parse(sample("close-404"));
        assertThat(r.requests()).isEqualTo(21524);
        assertThat(r.seconds()).isCloseTo(2.10, within(1e-9));
        assertThat(r.bytes()).isEqualTo(Math.round(6.28 * 1024 * 1024));
        assertThat(r.p50Micros()).isCloseTo(1450, within(1e-6));
        assertThat(r.p99Micros()).isCloseTo(4950, within(1e-6));
        assertThat(r.non2xx()).isEqualTo(21524);
        assertThat(r.errors()).isEqualTo(21524);
        assertThat(r.errorText()).isEqualTo("non-2xx 21524");
        assertThat(r.quantilesMicros()).isEmpty();
    }

    @Test
    void readsMillisecondLatenciesAndMegabytes() {
        WrkResult r = WrkOutput.parse(sample("close-direct-2m"));
        assertThat(r.requests()).isEqualTo(328);
        assertThat(r.bytes()).isEqualTo(Math.round(660.03 * 1024 * 1024));
        assertThat(r.p50Micros()).isCloseTo(30_830, within(1e-6));
        assertThat(r.p99Micros()).isCloseTo(101_720, within(1e-6));
        assertThat(r.errors()).isZero();
        assertThat(r.errorText()).isEmpty();
        assertThat(r.requestsPerSecond()).isCloseTo(328 / 2.10, within(1e-9));
    }

    @Test
    void readsMicrosecondLatenciesAndExactlyWhatTheDoneScriptPrinted() {
        WrkResult r = WrkOutput.parse(sample("ka-lua"));
        // The script's exact numbers replace the rounded text (50310 requests, 11.80MB read).
        assertThat(r.requests()).isEqualTo(50310);
        assertThat(r.bytes()).isEqualTo(12_376_260);
        assertThat(r.seconds()).isCloseTo(2.099706, within(1e-9));
        assertThat(r.quantilesMicros()).hasSizeGreaterThanOrEqualTo(198);
        assertThat(r.p50Micros()).isEqualTo(252);
        assertThat(r.p99Micros()).isEqualTo(7688);
    }

    @Test
    void textLatencyInMicrosecondsIsReadWithoutTheScript() {
        String text = sample("ka-lua")
                .lines()
                .filter(l -> !l.startsWith(WrkOutput.DONE_MARK))
                .reduce("", (a, b) -> a + b + "\n");
        WrkResult r = WrkOutput.parse(text);
        assertThat(r.p50Micros()).isCloseTo(252, within(1e-6));
        assertThat(r.p99Micros()).isCloseTo(7690, within(1e-6));
        assertThat(r.bytes()).isEqualTo(Math.round(11.80 * 1024 * 1024));
    }

    @Test
    void readsSocketErrors() {
        WrkResult r = WrkOutput.parse(sample("sockerr"));
        assertThat(r.timeouts()).isEqualTo(30);
        assertThat(r.connectErrors() + r.readErrors() + r.writeErrors()).isZero();
        assertThat(r.errorText()).isEqualTo("timeout 30");
        assertThat(r.p50Micros()).isCloseTo(425_430, within(1e-6));
        assertThat(r.bytes()).isEqualTo(Math.round(261.49 * 1024 * 1024));
    }

    @Test
    void outputWithoutAResultIsRefusedWithItsText() {
        assertThatThrownBy(() -> WrkOutput.parse(sample("refused")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("Connection refused");
        assertThatThrownBy(() -> WrkOutput.parse("")).hasMessageContaining("(no output)");
    }

    @Test
    void unitsAndSuffixes() {
        assertThat(WrkOutput.micros("652.00", "us")).isEqualTo(652);
        assertThat(WrkOutput.micros("1.45", "ms")).isCloseTo(1450, within(1e-9));
        assertThat(WrkOutput.micros("2.10", "s")).isCloseTo(2_100_000, within(1e-6));
        assertThat(WrkOutput.micros("1.5", "m")).isCloseTo(90e6, within(1e-3));
        assertThatThrownBy(() -> WrkOutput.micros("1", "ns")).isInstanceOf(IllegalArgumentException.class);
        assertThat(WrkOutput.bytes("512", "B")).isEqualTo(512);
        assertThat(WrkOutput.bytes("2", "KB")).isEqualTo(2048);
        assertThat(WrkOutput.bytes("1.5", "GB")).isEqualTo(1.5 * (1L << 30));
        assertThat(WrkOutput.count("5.27k")).isCloseTo(5270, within(1e-9));
        assertThat(WrkOutput.count("1.20M")).isCloseTo(1_200_000, within(1e-6));
        assertThat(WrkOutput.count("157.80")).isCloseTo(157.8, within(1e-9));
        assertThat(WrkOutput.threadRequestsPerSecond(sample("close-404"))).isCloseTo(5270, within(1e-9));
        assertThat(WrkOutput.threadRequestsPerSecond(sample("close-direct-2m"))).isCloseTo(157.8, within(1e-9));
    }

    @Test
    void theDoneScriptPrintsTheMarkAndEveryCounter() {
        assertThat(WrkOutput.DONE_SCRIPT)
                .contains("done = function(summary, latency, requests)")
                .contains(WrkOutput.DONE_MARK.strip())
                .contains("latency:percentile(i / 2)")
                .contains("for i = 1, 199");
        for (String key : new String[] {
            "durationUs", "requests", "bytes", "connect", "read", "write", "status", "timeout", "latencyUs"
        }) {
            assertThat(WrkOutput.DONE_SCRIPT).contains("\"" + key + "\"");
        }
    }
}
