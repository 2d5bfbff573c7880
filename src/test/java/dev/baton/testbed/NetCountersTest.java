package dev.baton.testbed;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

class NetCountersTest {
    /** Shortened /proc/net/netstat and /proc/net/snmp of Linux 6.18, concatenated as `cat` prints them. */
    private static final String SAMPLE = """
            TcpExt: SyncookiesSent SyncookiesRecv PAWSEstab TSEcrRejected TCPSACKDiscard
            TcpExt: 0 0 7 2 3
            IpExt: InNoRoutes InTruncatedPkts
            IpExt: 0 0
            Ip: Forwarding DefaultTTL InReceives
            Ip: 1 64 1234
            Tcp: RtoAlgorithm RtoMin RtoMax MaxConn ActiveOpens InErrs OutRsts InCsumErrors
            Tcp: 1 200 120000 -1 5 0 1 4
            Udp: InDatagrams NoPorts
            Udp: 0 0
            """;

    @Test
    void readsTcpAndTcpExtCounters() {
        NetCounters c = NetCounters.parse(SAMPLE);
        assertThat(c.pawsEstab()).isEqualTo(7);
        assertThat(c.tsEcrRejected()).isEqualTo(2);
        assertThat(c.tcpSackDiscard()).isEqualTo(3);
        assertThat(c.tcpInCsumErrors()).isEqualTo(4);
        assertThat(c.get("Tcp.MaxConn")).isEqualTo(-1);
        assertThat(c.get("Ip.InReceives")).isEqualTo(1234);
        assertThat(c.get("TcpExt.NoSuchCounter")).isZero();
    }

    @Test
    void diffShowsWhatHappenedInBetween() {
        NetCounters before = NetCounters.parse(SAMPLE);
        NetCounters after = NetCounters.parse(SAMPLE.replace("TcpExt: 0 0 7 2 3", "TcpExt: 0 0 9 2 13"));
        NetCounters diff = after.minus(before);
        assertThat(diff.pawsEstab()).isEqualTo(2);
        assertThat(diff.tcpSackDiscard()).isEqualTo(10);
        assertThat(diff.tsEcrRejected()).isZero();
        assertThat(diff.summary()).isEqualTo("InCsumErrors=0 PAWSEstab=2 TCPSACKDiscard=10 TSEcrRejected=0");
    }

    @Test
    void skipsLinesThatDoNotPairUp() {
        NetCounters c = NetCounters.parse("garbage\nTcpExt: PAWSEstab\nTcpExt: 5\nTcp: A B\nUdp: 1 2\n");
        assertThat(c.pawsEstab()).isEqualTo(5);
        assertThat(c.values()).containsOnlyKeys("TcpExt.PAWSEstab");
    }

    @Test
    void readsThisMachinesCounters() {
        // Outside any namespace: the parser must find the counters this kernel really has.
        String text = Commands.check(List.of("cat", "/proc/net/netstat", "/proc/net/snmp"), Duration.ofSeconds(5))
                .stdout();
        assertThat(NetCounters.parse(text).values())
                .containsKeys("Tcp.InCsumErrors", "TcpExt.PAWSEstab", "TcpExt.TCPSACKDiscard");
    }
}
