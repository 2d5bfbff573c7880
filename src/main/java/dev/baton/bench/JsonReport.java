package dev.baton.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.TreeMap;

/**
 * {@code bench.json}: the setup, every cell (raw counts and the derived rates) and the targets.
 * Numbers that could not be measured are {@code null}.
 */
public final class JsonReport {
    static final ObjectMapper JSON = new ObjectMapper();

    private JsonReport() {}

    public static ObjectNode toJson(BenchResult r) {
        ObjectNode root = JSON.createObjectNode();
        ObjectNode setup = root.putObject("setup");
        r.setup().forEach(setup::put);
        ArrayNode cells = root.putArray("measurements");
        for (Measurement m : r.measurements()) {
            ObjectNode c = cells.addObject();
            c.put("path", m.path().key());
            c.put("pathLabel", m.path().label());
            c.put("workload", m.workload().key());
            c.put("workloadLabel", m.workload().label());
            c.put("requests", m.requests());
            c.put("bytes", m.bytes());
            c.put("seconds", m.seconds());
            c.put("requestsPerSecond", m.requestsPerSecond());
            c.put("megabytesPerSecond", m.megabytesPerSecond());
            c.put("p50Micros", m.p50Micros());
            c.put("p99Micros", m.p99Micros());
            ObjectNode cpu = c.putObject("cpuMicrosPerRequest");
            new TreeMap<>(m.cpuMicrosPerRequest()).forEach(cpu::put);
            c.put("machineCpuMicrosPerRequest", m.machineCpuMicrosPerRequest());
            c.put("entryNode", m.entryNode());
            c.put("entryBytes", m.entryBytes());
            c.put("clientBytes", m.clientBytes());
            number(c, "entryShare", m.entryShare());
            c.put("handedOff", m.handedOff());
            c.put("connectionsSeen", m.connectionsSeen());
            ArrayNode errors = c.putArray("errors");
            m.errors().forEach(errors::add);
        }
        ArrayNode targets = root.putArray("targets");
        for (Targets.Target t : r.targets()) {
            ObjectNode o = targets.addObject();
            o.put("name", t.name());
            number(o, "value", t.value());
            o.put("goal", t.goal());
            o.put("unit", t.unit());
            o.put("verdict", t.verdict());
            number(o, "gap", t.measured() ? t.gap() : Double.NaN);
            o.put("note", t.note());
        }
        return root;
    }

    public static String render(BenchResult r) {
        return toJson(r).toPrettyString() + "\n";
    }

    /** A number, or null when it is not one (JSON has no NaN). */
    private static void number(ObjectNode o, String key, double v) {
        if (Double.isFinite(v)) {
            o.put(key, v);
        } else {
            o.putNull(key);
        }
    }
}
