package dev.baton.testbed;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class ClientTest {
    @Test
    void percentEncodesEverythingButUnreservedAndSlash() {
        assertThat(Client.encodePath("/docs/a b%.txt")).isEqualTo("/docs/a%20b%25.txt");
        assertThat(Client.encodePath("/a-b_c.d~e/F9")).isEqualTo("/a-b_c.d~e/F9");
        assertThat(Client.encodePath("/é?#")).isEqualTo("/%C3%A9%3F%23");
    }

    @Test
    void parsesCurlsReportLine() {
        Client.Report r = Client.parseReport("2\t0\t200\t1024\t0.001500\t1\tn3\t\t");
        assertThat(r.urlNumber()).isEqualTo(2);
        assertThat(r.exitCode()).isZero();
        assertThat(r.status()).isEqualTo(200);
        assertThat(r.bytes()).isEqualTo(1024);
        assertThat(r.time()).isEqualTo(Duration.ofNanos(1_500_000));
        assertThat(r.newConnections()).isEqualTo(1);
        assertThat(r.servedBy()).isEqualTo("n3");
        assertThat(r.via()).isEmpty();
        assertThat(r.error()).isEmpty();
    }

    @Test
    void parsesAFailedTransfer() {
        Client.Report r = Client.parseReport("0\t28\t000\t0\t30.000000\t0\t\t\tOperation timed out after 30000 ms");
        assertThat(r.exitCode()).isEqualTo(28);
        assertThat(r.status()).isZero();
        assertThat(r.error()).isEqualTo("Operation timed out after 30000 ms");
    }

    @Test
    void refusesAReportOfAnotherShape() {
        assertThatThrownBy(() -> Client.parseReport("200 1024")).isInstanceOf(IllegalArgumentException.class);
    }
}
