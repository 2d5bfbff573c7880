package dev.baton.testbed;

import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * TCP counters of one namespace's kernel, from {@code /proc/net/netstat} (TcpExt) and
 * {@code /proc/net/snmp} (Tcp), keyed {@code "TcpExt.PAWSEstab"}, {@code "Tcp.InCsumErrors"} ...
 *
 * <p>The ones that reveal a broken handoff (docs/KERNEL-FACTS.md): {@code Tcp.InCsumErrors} (a
 * rewritten checksum is wrong), {@code TcpExt.PAWSEstab} (timestamps not translated),
 * {@code TcpExt.TCPSACKDiscard} (SACK edges not translated), {@code TcpExt.TSEcrRejected} (a
 * SYN-RECV socket refused an ACK's timestamp echo, Linux 6.15+).
 *
 * @param values counter values by {@code Section.Name}
 */
public record NetCounters(Map<String, Long> values) {
    public NetCounters {
        values = Map.copyOf(values);
    }

    /** Reads the counters of namespace {@code netns}. */
    public static NetCounters read(String netns) {
        ProcessResult r = Commands.check(
                Commands.inNetns(netns, List.of("cat", "/proc/net/netstat", "/proc/net/snmp")), Duration.ofSeconds(5));
        return parse(r.stdout());
    }

    /**
     * Parses the text of {@code /proc/net/netstat} and/or {@code /proc/net/snmp}: pairs of lines, a
     * header line {@code "Section: Name1 Name2 ..."} then a value line {@code "Section: v1 v2 ..."}.
     * Lines that do not pair up are skipped.
     */
    public static NetCounters parse(String text) {
        Map<String, Long> values = new TreeMap<>();
        String[] lines = text.split("\n");
        for (int i = 0; i + 1 < lines.length; ) { // a names line, then its numbers line
            String[] names = lines[i].strip().split("\\s+");
            String[] numbers = lines[i + 1].strip().split("\\s+");
            if (names.length < 2
                    || !names[0].endsWith(":")
                    || !names[0].equals(numbers[0])
                    || names.length != numbers.length
                    || !numbers[1].matches("-?\\d+")) {
                i++;
                continue;
            }
            String section = names[0].substring(0, names[0].length() - 1);
            for (int k = 1; k < names.length; k++) {
                values.put(section + "." + names[k], Long.parseLong(numbers[k]));
            }
            i += 2;
        }
        return new NetCounters(values);
    }

    /** A counter's value, 0 if this kernel does not have it. */
    public long get(String key) {
        return values.getOrDefault(key, 0L);
    }

    /** This snapshot minus an earlier one: what happened in between. */
    public NetCounters minus(NetCounters before) {
        Map<String, Long> diff = new HashMap<>();
        values.forEach((k, v) -> diff.put(k, v - before.get(k)));
        return new NetCounters(diff);
    }

    /** {@code Tcp InCsumErrors}: segments received with a bad checksum. */
    public long tcpInCsumErrors() {
        return get("Tcp.InCsumErrors");
    }

    /** {@code TcpExt PAWSEstab}: segments dropped by PAWS on established connections (RFC 7323). */
    public long pawsEstab() {
        return get("TcpExt.PAWSEstab");
    }

    /** {@code TcpExt TCPSACKDiscard}: SACK blocks discarded as invalid. */
    public long tcpSackDiscard() {
        return get("TcpExt.TCPSACKDiscard");
    }

    /** {@code TcpExt TSEcrRejected}: ACKs whose timestamp echo the socket had not sent. */
    public long tsEcrRejected() {
        return get("TcpExt.TSEcrRejected");
    }

    /** The four counters above, for a log line. */
    public String summary() {
        return "InCsumErrors=" + tcpInCsumErrors() + " PAWSEstab=" + pawsEstab() + " TCPSACKDiscard=" + tcpSackDiscard()
                + " TSEcrRejected=" + tsEcrRejected();
    }
}
