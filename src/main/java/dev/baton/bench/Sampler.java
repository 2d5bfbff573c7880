package dev.baton.bench;

import dev.baton.btcp.Counter;
import dev.baton.node.NodeStats;
import dev.baton.testbed.Commands;
import dev.baton.testbed.Names;
import dev.baton.testbed.NodeInfo;
import dev.baton.testbed.ProcessResult;
import dev.baton.testbed.Testbed;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Snapshots taken before and after each measurement: CPU time per node, byte counters of the
 * devices on the entry side, and the BTCPs' handoff counters.
 *
 * <p>CPU time is utime + stime from {@code /proc/PID/stat} of every process in the node's
 * namespace ({@code ip netns pids}): the baton node, nginx master and worker, the proxies on n1.
 * Softirq work (packet forwarding, much of TCP) runs in whatever context the kernel is in, often
 * another process or ksoftirqd, so it is not fully attributed.
 */
final class Sampler {
    private final Testbed bed;
    private final double ticksPerSecond;

    /** One snapshot. */
    record Sample(
            Map<String, Long> cpuTicks,
            long machineTicks,
            Map<String, Long> deviceBytes,
            long handedOff,
            long connectionsSeen,
            long bytesForwarded,
            long bytesSentForOthers) {}

    Sampler(Testbed bed) {
        this.bed = bed;
        String hz = Commands.check(List.of("getconf", "CLK_TCK"), Names.COMMAND_TIMEOUT)
                .stdout()
                .strip();
        this.ticksPerSecond = Double.parseDouble(hz);
    }

    Sample take() {
        Map<String, Long> cpu = new TreeMap<>();
        for (NodeInfo n : bed.nodes()) {
            cpu.put(n.name(), cpuTicks(n.netns()));
        }
        Map<String, Long> bytes = new TreeMap<>();
        List<String> routerFiles = new ArrayList<>();
        List<String> routerKeys = new ArrayList<>();
        for (NodeInfo n : bed.nodes()) {
            // What node N's baton path sent arrives at the router: rx of its wire TUN (baton-wN) or,
            // on the in-kernel data path, of its uplink's router end (baton-vN) there.
            String device = bed.routerDeviceOf(n.number());
            routerFiles.add(stat(device, "rx_bytes"));
            routerKeys.add(device);
            // What node N sent on its direct veth arrives at the router's end, baton-dN.
            routerFiles.add(stat(Names.directRouterDevice(n.number()), "rx_bytes"));
            routerKeys.add(Names.directRouterDevice(n.number()));
        }
        readInto(bytes, Names.ROUTER_NETNS, routerFiles, routerKeys);
        readInto(bytes, bed.client().netns(), List.of(stat(Names.CLIENT_VETH, "rx_bytes")), List.of("client"));
        long handedOff = 0;
        long seen = 0;
        long forwarded = 0;
        long forOthers = 0;
        for (NodeStats n : bed.stats().nodes()) {
            handedOff += n.counter(Counter.HANDOFFS_COMPLETED);
            seen += n.counter(Counter.CONNECTIONS_SEEN);
            forwarded += n.counter(Counter.BYTES_FORWARDED);
            forOthers += n.counter(Counter.BYTES_SENT_FOR_OTHERS);
        }
        return new Sample(cpu, machineTicks(), bytes, handedOff, seen, forwarded, forOthers);
    }

    /** How long each node's JIT compilers have worked, in ms, by node name. */
    Map<String, Long> jitMillis() {
        Map<String, Long> jit = new TreeMap<>();
        for (NodeStats n : bed.stats().nodes()) jit.put(n.node(), n.jitMillis());
        return jit;
    }

    /** The whole machine's busy CPU seconds between two snapshots. */
    double machineSeconds(Sample before, Sample after) {
        return (after.machineTicks() - before.machineTicks()) / ticksPerSecond;
    }

    /** Busy ticks of every CPU since boot: the first line of {@code /proc/stat}, all but idle and iowait. */
    private static long machineTicks() {
        try {
            return busyTicksOfProcStat(Files.readAllLines(Path.of("/proc/stat")).getFirst());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** {@code cpu user nice system idle iowait irq softirq steal ...}: user + nice + system + irq + softirq + steal. */
    static long busyTicksOfProcStat(String cpuLine) {
        String[] f = cpuLine.strip().split("\\s+");
        if (f.length < 9 || !f[0].equals("cpu"))
            throw new IllegalArgumentException("not /proc/stat's cpu line: " + cpuLine);
        long busy = 0;
        for (int i : new int[] {1, 2, 3, 6, 7, 8}) busy += Long.parseLong(f[i]);
        return busy;
    }

    /** CPU seconds between two snapshots, per node. */
    Map<String, Double> cpuSeconds(Sample before, Sample after) {
        Map<String, Double> s = new TreeMap<>();
        after.cpuTicks()
                .forEach((node, t) -> s.put(node, (t - before.cpuTicks().getOrDefault(node, 0L)) / ticksPerSecond));
        return s;
    }

    private static String stat(String device, String counter) {
        return "/sys/class/net/" + device + "/statistics/" + counter;
    }

    private static void readInto(Map<String, Long> into, String netns, List<String> files, List<String> keys) {
        List<String> argv = new ArrayList<>(List.of("cat"));
        argv.addAll(files);
        ProcessResult r = Commands.check(Commands.inNetns(netns, argv), Names.COMMAND_TIMEOUT);
        String[] values = r.stdout().strip().split("\\s+");
        if (values.length != keys.size()) {
            throw new IllegalStateException(
                    "expected " + keys.size() + " counters from " + files + ", got: " + r.stdout());
        }
        for (int i = 0; i < values.length; i++) {
            into.put(keys.get(i), Long.parseLong(values[i]));
        }
    }

    /** Sum of utime + stime, in clock ticks, of every process in namespace {@code netns}. */
    private static long cpuTicks(String netns) {
        ProcessResult r = Commands.check(List.of("ip", "netns", "pids", netns), Names.COMMAND_TIMEOUT);
        long ticks = 0;
        for (String word : r.stdout().split("\\s+")) {
            if (!word.matches("\\d+")) continue;
            try {
                ticks += cpuTicksOfStat(Files.readString(Path.of("/proc", word, "stat")));
            } catch (IOException e) {
                // the process ended between the listing and the read: its time is lost either way
            }
        }
        return ticks;
    }

    /**
     * utime + stime (fields 14 and 15) of one {@code /proc/PID/stat} line. The command name (field 2)
     * is in parentheses and may hold spaces and parentheses itself, so fields are counted from the
     * last ')'.
     */
    static long cpuTicksOfStat(String stat) {
        int close = stat.lastIndexOf(')');
        if (close < 0) {
            throw new IllegalArgumentException("not a /proc/PID/stat line: " + stat);
        }
        // After ")": field 3 (state) is the first.
        String[] f = stat.substring(close + 1).strip().split("\\s+");
        if (f.length < 13) {
            throw new IllegalArgumentException("short /proc/PID/stat line: " + stat);
        }
        return Long.parseLong(f[14 - 3]) + Long.parseLong(f[15 - 3]);
    }
}
