package dev.baton.testbed;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * What a running testbed is made of, as printed by {@code baton testbed up --json}:
 *
 * <pre>
 * {"client":{"netns":"baton-client","ip":"10.200.0.2"},
 *  "router":{"netns":"baton-router"},
 *  "nodes":[{"name":"n1","netns":"baton-n1","ip":"10.200.1.1","port":80,"wireDevice":"baton-w1",
 *            "docroot":"/run/baton-testbed/content/n1"}],
 *  "content":[{"path":"/a/b.bin","bytes":123,"sha256":"..","holders":["n1","n3"]}]}
 * </pre>
 *
 * Fields are written in exactly this order.
 */
public record Description(ClientInfo client, String routerNetns, List<NodeInfo> nodes, ContentMap content) {
    static final ObjectMapper JSON = new ObjectMapper();

    public Description {
        nodes = List.copyOf(nodes);
    }

    /** The description as a JSON tree. */
    public ObjectNode toJson() {
        ObjectNode root = JSON.createObjectNode();
        ObjectNode c = root.putObject("client");
        c.put("netns", client.netns());
        c.put("ip", client.ip());
        root.putObject("router").put("netns", routerNetns);
        ArrayNode ns = root.putArray("nodes");
        for (NodeInfo n : nodes) {
            ObjectNode o = ns.addObject();
            o.put("name", n.name());
            o.put("netns", n.netns());
            o.put("ip", n.ip());
            o.put("port", n.port());
            o.put("wireDevice", n.wireDevice());
            o.put("docroot", n.docroot().toString());
        }
        ArrayNode cs = root.putArray("content");
        for (ContentEntry e : content.entries()) {
            ObjectNode o = cs.addObject();
            o.put("path", e.path());
            o.put("bytes", e.bytes());
            o.put("sha256", e.sha256());
            ArrayNode holders = o.putArray("holders");
            e.holders().forEach(holders::add);
        }
        return root;
    }

    /** The description as one line of JSON. */
    public String toJsonString() {
        return toJson().toString();
    }

    /**
     * Reads a description written by {@link #toJson()} (also the first fields of the state file).
     * Admin sockets and logs are placed in {@code stateDir}, where the testbed keeps them.
     */
    public static Description fromJson(JsonNode root, Path stateDir) {
        ClientInfo client = new ClientInfo(
                root.path("client").path("netns").asText(),
                root.path("client").path("ip").asText());
        List<NodeInfo> nodes = new ArrayList<>();
        for (JsonNode n : root.path("nodes")) {
            int number = Names.nodeNumber(n.path("name").asText());
            if (number < 1) {
                throw new IllegalArgumentException("bad node name in description: " + n.path("name"));
            }
            nodes.add(NodeInfo.of(number, Path.of(n.path("docroot").asText()), stateDir));
        }
        List<ContentEntry> entries = new ArrayList<>();
        for (JsonNode e : root.path("content")) {
            List<String> holders = new ArrayList<>();
            e.path("holders").forEach(h -> holders.add(h.asText()));
            entries.add(new ContentEntry(
                    e.path("path").asText(),
                    e.path("bytes").asLong(),
                    e.path("sha256").asText(),
                    holders));
        }
        return new Description(client, root.path("router").path("netns").asText(), nodes, ContentMap.of(entries));
    }

    /** A readable summary for people (what {@code baton testbed up} prints without --json). */
    public String summary() {
        StringBuilder s = new StringBuilder();
        s.append("client  ")
                .append(client.ip())
                .append(" in ")
                .append(client.netns())
                .append('\n');
        s.append("router  ").append(routerNetns).append('\n');
        for (NodeInfo n : nodes) {
            List<ContentEntry> held = content.heldBy(n.name());
            s.append(String.format(
                    "%-7s %-12s %-11s port %d  wire %-10s %3d files  docroot %s%n",
                    n.name(), n.ip(), n.netns(), n.port(), n.wireDevice(), held.size(), n.docroot()));
        }
        long replicated =
                content.entries().stream().filter(ContentEntry::replicated).count();
        s.append(content.entries().size()).append(" files, ").append(replicated).append(" replicated\n");
        s.append("try: ip netns exec ")
                .append(client.netns())
                .append(" curl -si ")
                .append(nodes.isEmpty() ? "" : nodes.getFirst().baseUrl())
                .append(
                        content.entries().isEmpty()
                                ? "/"
                                : Client.encodePath(content.entries().getFirst().path()))
                .append('\n');
        return s.toString();
    }
}
