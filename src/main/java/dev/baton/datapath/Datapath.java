package dev.baton.datapath;

import dev.baton.sys.BpfMap;
import dev.baton.sys.BpfMappedArray;
import dev.baton.sys.BpfObject;
import dev.baton.sys.BpfProgram;
import dev.baton.sys.BpfRingBuffer;
import dev.baton.sys.SysException;
import dev.baton.sys.TcHook;
import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * baton's in-kernel data path (src/main/bpf/baton.bpf.c), loaded from the jar: its three programs,
 * its maps, and where they attach. User space owns every map write; the programs translate what the
 * flows map says and count.
 *
 * <pre>
 *   uplink ingress: uplink_ingress    uplink egress: uplink_egress    wire TUN ingress: wire_ingress
 * </pre>
 *
 * <p>With a pin directory, the maps live there (on a bpffs): a process that loads the data path again
 * with the same directory takes over the flows, the config and the counters as they were, which is
 * what lets a restart lose no established connection. The programs are attached as tc filters,
 * which stay when the process ends; {@link #attach} replaces them in one step.
 */
public final class Datapath implements AutoCloseable {
    /** The object in the jar, compiled by src/main/bpf/build.sh. */
    public static final String RESOURCE = "baton.bpf.o";

    public static final String UPLINK_INGRESS = "uplink_ingress";
    public static final String UPLINK_EGRESS = "uplink_egress";
    public static final String WIRE_INGRESS = "wire_ingress";
    static final String FLOWS = "flows";
    static final String PROGRESS = "progress";
    static final String CONFIG = "config";
    static final String COUNTERS = "counters";
    static final String TAKEOVER = "takeover";
    static final String NODE = "node";
    static final String CLOSES = "closes";
    static final String HANDSHAKES = "handshakes";
    static final String LOCAL_PATHS = "local_paths";
    static final String ENGINE = "engine";
    /** Bytes of a handshake the programs took ({@code struct handshake}) and of a path's key. */
    static final int HANDSHAKE_SIZE = 176;
    /** {@code HANDSHAKE_PACKET_MAX}: an IPv4 header without options and the longest TCP header. */
    public static final int HANDSHAKE_PACKET_MAX = 80;
    /** {@code HS_UP}: the request went to user space, which has the connection now. */
    private static final byte HS_UP = 4;

    public static final int PATH_KEY_SIZE = 128;
    /** Paths the programs may decide themselves (local_paths): the rest goes to user space. */
    public static final int MAX_LOCAL_PATHS = 16384;

    private static final int EEXIST = 17;
    private static final VarHandle ENGINE_ASLEEP = ValueLayout.JAVA_INT.varHandle();
    /** Bytes of a record in the closes ring ({@code struct close_event}). */
    static final int CLOSE_EVENT_SIZE = 12;
    /** Bytes of a takeover record (src/main/bpf/datapath.h, dev.baton.btcp.ConnRecord). */
    public static final int RECORD_SIZE = 136;
    /** Our tc filters' handle and priority: how a later process finds them. */
    public static final int TC_HANDLE = 0xba70;

    public static final int TC_PRIORITY = 1;
    private static final String[] MAPS = {
        FLOWS, PROGRESS, CONFIG, COUNTERS, TAKEOVER, NODE, CLOSES, HANDSHAKES, LOCAL_PATHS, ENGINE
    };

    private final BpfObject object;
    private final BpfMap flows;
    private final BpfMap progress;
    private final BpfMap config;
    private final BpfMap counters;
    private final BpfMap takeover;
    private final BpfMap node;
    private final BpfMap closesMap;
    private final BpfMap handshakes;
    private final BpfMap localPaths;
    private final BpfMap engine;
    private BpfRingBuffer closes;
    /** {@code struct engine_state}, mapped: the loop says it sleeps with a store, no system call. */
    private BpfMappedArray enginePage;

    private BpfMappedArray recordPages;
    private TakeoverRecords records;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment key;
    private final MemorySegment value;
    // The counters are read from other threads (stats, metrics): their own buffers, under a lock.
    private final MemorySegment counterKey;
    private final MemorySegment perCpu;
    // local_paths is written from the admin and scheduler threads while the loop uses key and value.
    private final MemorySegment pathKey;
    private final MemorySegment pathHits;

    private Datapath(BpfObject object) {
        this.object = object;
        this.flows = object.map(FLOWS);
        this.progress = object.map(PROGRESS);
        this.config = object.map(CONFIG);
        this.counters = object.map(COUNTERS);
        this.takeover = object.map(TAKEOVER);
        this.node = object.map(NODE);
        this.closesMap = object.map(CLOSES);
        this.handshakes = object.map(HANDSHAKES);
        this.localPaths = object.map(LOCAL_PATHS);
        this.engine = object.map(ENGINE);
        this.key = arena.allocate(PATH_KEY_SIZE, 8);
        this.value = arena.allocate(
                Math.max(Math.max(Flow.SIZE, Progress.SIZE), Math.max(DatapathConfig.SIZE, HANDSHAKE_SIZE)), 8);
        this.counterKey = arena.allocate(ValueLayout.JAVA_INT);
        this.perCpu = arena.allocate(counters.perCpuValueSize(), 8);
        this.pathKey = arena.allocate(PATH_KEY_SIZE, 8);
        this.pathHits = arena.allocate(ValueLayout.JAVA_LONG);
    }

    /** The object file's bytes, from the jar. */
    public static byte[] objectBytes() throws IOException {
        try (InputStream in = Datapath.class.getResourceAsStream(RESOURCE)) {
            if (in == null) throw new IOException("the jar has no " + RESOURCE + " (built by src/main/bpf/build.sh)");
            return in.readAllBytes();
        }
    }

    /** The flows of a table of {@code maxConnections}: two for a handed-in one, and some slack. */
    public static int flowsFor(int maxConnections) {
        return 2 * maxConnections + 64;
    }

    /**
     * Loads the data path for a connection table of {@code maxConnections}: a flows map for
     * {@link #flowsFor} flows, a takeover record for each table slot, and, with
     * {@code pinDirectory}, its maps pinned there (taken over if pinned already). Fails with the
     * verifier's reason if the kernel refuses a program, or if a pinned map's layout is not this
     * build's.
     */
    public static Datapath load(int maxConnections, Optional<Path> pinDirectory) throws IOException {
        BpfObject o = BpfObject.open(objectBytes(), RESOURCE);
        int maxFlows = flowsFor(maxConnections);
        Datapath d = null;
        try {
            o.maxEntries(FLOWS, maxFlows);
            o.maxEntries(PROGRESS, maxFlows);
            o.maxEntries(TAKEOVER, maxConnections);
            o.maxEntries(HANDSHAKES, maxFlows);
            if (pinDirectory.isPresent()) {
                Files.createDirectories(pinDirectory.get());
                for (String m : MAPS) o.pin(m, pinDirectory.get().resolve(m));
            }
            o.load();
            d = new Datapath(o);
            d.checkLayouts();
            d.recordPages = BpfMappedArray.open(d.takeover);
            d.records = new TakeoverRecords(d.recordPages.values());
            d.enginePage = BpfMappedArray.open(d.engine);
            d.engineAsleep(false); // whatever a process that died asleep left
            return d;
        } catch (IOException | RuntimeException e) {
            if (d != null) d.close(); // its maps' pages, the object and its buffers
            else o.close();
            throw e;
        }
    }

    private void checkLayouts() {
        check(flows, FlowKey.SIZE, Flow.SIZE);
        check(progress, FlowKey.SIZE, Progress.SIZE);
        check(config, 4, DatapathConfig.SIZE);
        check(counters, 4, 8);
        check(takeover, 4, TakeoverRecords.SLOT_SIZE);
        check(node, 4, 16);
        check(closesMap, 0, 0);
        check(handshakes, FlowKey.SIZE, HANDSHAKE_SIZE);
        check(localPaths, PATH_KEY_SIZE, 8);
        check(engine, 4, 8);
        if (counters.maxEntries() != DatapathCounter.values().length) {
            throw new IllegalStateException("the data path counts " + counters.maxEntries() + " things, this build "
                    + DatapathCounter.values().length);
        }
    }

    private static void check(BpfMap m, int keySize, int valueSize) {
        if (m.keySize() != keySize || m.valueSize() != valueSize) {
            throw new IllegalStateException("map " + m.name() + " has " + m.keySize() + "-byte keys and "
                    + m.valueSize() + "-byte values; this build expects " + keySize + " and " + valueSize
                    + " (src/main/bpf/datapath.h and dev.baton.datapath disagree)");
        }
    }

    public BpfProgram program(String name) {
        return object.program(name);
    }

    public int maxFlows() {
        return flows.maxEntries();
    }

    /** Writes the programs' settings (any thread); until then they pass every packet untouched. */
    public synchronized void configure(DatapathConfig c) throws SysException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment k = a.allocate(ValueLayout.JAVA_INT);
            MemorySegment v = a.allocate(DatapathConfig.SIZE, 8);
            c.write(v);
            int r = config.update(k, v, BpfMap.ANY);
            if (r < 0) throw new SysException("bpf_map_update_elem config", -r);
        }
    }

    /**
     * Adds or replaces a flow; returns 0, or {@code -errno} ({@link BpfMap#E2BIG}: the map is full),
     * for the caller to count: the slow path then keeps the flow's packets.
     */
    public int put(FlowKey k, Flow f) {
        k.write(key);
        f.write(value);
        return flows.update(key, value, BpfMap.ANY);
    }

    /** Replaces a flow that is in the map; 0, {@link BpfMap#ENOENT} if it is not, or {@code -errno}. */
    public int replace(FlowKey k, Flow f) {
        k.write(key);
        f.write(value);
        return flows.update(key, value, BpfMap.EXIST);
    }

    /** The flow, as the programs have left it, if it is in the map. */
    public Optional<Flow> get(FlowKey k) {
        k.write(key);
        return flows.lookup(key, value) == 0 ? Optional.of(Flow.read(value)) : Optional.empty();
    }

    /** What the programs saw of a flow, if they saw any of its packets. */
    public Optional<Progress> progress(FlowKey k) {
        k.write(key);
        return progress.lookup(key, value) == 0 ? Optional.of(Progress.read(value)) : Optional.empty();
    }

    /** Drops what the programs counted of a flow no longer in the map (a new connection starts at 0). */
    public void forgetProgress(FlowKey k) {
        k.write(key);
        progress.delete(key);
    }

    /**
     * Removes every flow and its progress (a start after a crash); returns how many flows there were.
     * The progress of flows no longer in the map may stay: a SYN starts its connection's afresh, a
     * hold forgets it, and the map is an LRU.
     */
    public int clear() {
        int n = 0;
        for (FlowKey k : flows().keySet()) {
            if (remove(k)) n++;
            forgetProgress(k);
        }
        return n;
    }

    /** For tests: sets a flow's progress as the programs would. */
    public int putProgress(FlowKey k, Progress p) {
        k.write(key);
        p.write(value);
        return progress.update(key, value, BpfMap.ANY);
    }

    /**
     * Removes a flow; false if it was not there. Its progress stays: the programs start it afresh at
     * the next SYN on the same ports, and the map is an LRU.
     */
    public boolean remove(FlowKey k) {
        k.write(key);
        return flows.delete(key) == 0;
    }

    /** Every flow in the map (for a process taking over; the map may change meanwhile). */
    public Map<FlowKey, Flow> flows() {
        Map<FlowKey, Flow> all = new LinkedHashMap<>();
        MemorySegment next = arena.allocate(FlowKey.SIZE, 8);
        MemorySegment at = MemorySegment.NULL;
        while (flows.nextKey(at, next) == 0 && all.size() < flows.maxEntries()) {
            MemorySegment.copy(next, 0, key, 0, FlowKey.SIZE);
            if (flows.lookup(key, value) == 0) all.put(FlowKey.read(key), Flow.read(value));
            at = key;
        }
        return all;
    }

    /**
     * A handshake the programs took themselves and whose request they sent up ({@code HS_UP}): its
     * SYN and SYN/ACK, IPv4 headers on, copied into {@code syn} and {@code synAck} (each at least
     * {@link #HANDSHAKE_PACKET_MAX} bytes). Returns {@code synLength << 8 | synAckLength}, or -1 if
     * there is none in that state. The engine asks once per connection it did not see begin.
     */
    public int handshake(FlowKey k, byte[] syn, byte[] synAck) {
        k.write(key);
        if (handshakes.lookup(key, value) != 0 || value.get(ValueLayout.JAVA_BYTE, 0) != HS_UP) return -1;
        int synLength = Byte.toUnsignedInt(value.get(ValueLayout.JAVA_BYTE, 1));
        int synAckLength = Byte.toUnsignedInt(value.get(ValueLayout.JAVA_BYTE, 2));
        if (synLength > HANDSHAKE_PACKET_MAX || synAckLength > HANDSHAKE_PACKET_MAX) return -1;
        MemorySegment.copy(value, ValueLayout.JAVA_BYTE, 16, syn, 0, synLength);
        MemorySegment.copy(value, ValueLayout.JAVA_BYTE, 16 + HANDSHAKE_PACKET_MAX, synAck, 0, synAckLength);
        return synLength << 8 | synAckLength;
    }

    /** Removes a handshake the programs kept; false if there was none. */
    public boolean removeHandshake(FlowKey k) {
        k.write(key);
        return handshakes.delete(key) == 0;
    }

    /** Puts {@code path} (ASCII, {@link LocalPaths#decidable}) in local_paths; 0 or {@code -errno}. */
    public synchronized int putLocalPath(String path) {
        writePath(path);
        pathHits.set(ValueLayout.JAVA_LONG, 0, 0);
        int r = localPaths.update(pathKey, pathHits, BpfMap.NOEXIST); // one already there keeps its count
        return r == -EEXIST ? 0 : r;
    }

    /** Removes {@code path} from local_paths; false if it was not there. */
    public synchronized boolean removeLocalPath(String path) {
        writePath(path);
        return localPaths.delete(pathKey) == 0;
    }

    /** How many connections the programs decided with {@code path}; -1 if it is not in the map. */
    public synchronized long localPathHits(String path) {
        writePath(path);
        return localPaths.lookup(pathKey, pathHits) == 0 ? pathHits.get(ValueLayout.JAVA_LONG, 0) : -1;
    }

    private void writePath(String path) {
        byte[] b = path.getBytes(StandardCharsets.US_ASCII);
        if (b.length >= PATH_KEY_SIZE) throw new IllegalArgumentException("path too long for the map: " + path);
        pathKey.fill((byte) 0);
        MemorySegment.copy(b, 0, pathKey, ValueLayout.JAVA_BYTE, 0, b.length);
    }

    /** Takeover records there is room for: one per slot of the connection table. */
    public int recordSlots() {
        return records.capacity();
    }

    /**
     * Keeps the record ({@link #RECORD_SIZE} bytes) of the connection in table slot {@code slot}, in
     * the map's mapped pages (no system call; {@link TakeoverRecords}); false if there is no such slot.
     */
    public boolean putRecord(int slot, MemorySegment record) {
        return records.put(slot, record);
    }

    /** Drops the record of table slot {@code slot}, if any. */
    public void removeRecord(int slot) {
        records.remove(slot);
    }

    /** The record of table slot {@code slot}, into {@code into}; false if it has none (for a process taking over). */
    public boolean record(int slot, MemorySegment into) {
        return records.get(slot, into);
    }

    /**
     * What the node's process keeps here for the next one ({@code struct node_state}): its control
     * channel's incarnation (0: none kept) and when it last said it was alive ({@link System#nanoTime}).
     */
    public record NodeState(long incarnation, long aliveNanos) {}

    /** What an earlier process of this node kept (zeros if nothing). Any thread. */
    public synchronized NodeState nodeState() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment k = a.allocate(ValueLayout.JAVA_INT);
            MemorySegment v = a.allocate(16, 8);
            return node.lookup(k, v) == 0
                    ? new NodeState(v.get(ValueLayout.JAVA_LONG, 0), v.get(ValueLayout.JAVA_LONG, 8))
                    : new NodeState(0, 0);
        }
    }

    /** Keeps {@code s} for the next process. Any thread. */
    public synchronized void nodeState(NodeState s) throws SysException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment k = a.allocate(ValueLayout.JAVA_INT);
            MemorySegment v = a.allocate(16, 8);
            v.set(ValueLayout.JAVA_LONG, 0, s.incarnation());
            v.set(ValueLayout.JAVA_LONG, 8, s.aliveNanos());
            int r = node.update(k, v, BpfMap.ANY);
            if (r < 0) throw new SysException("bpf_map_update_elem node", -r);
        }
    }

    /**
     * The ring in which the programs tell of the local flows' FINs and RSTs they passed
     * ({@code struct close_event}, {@link #CLOSE_EVENT_SIZE} bytes; {@link KernelFastPath#drainCloses}).
     * Mapped on first use; read by one thread.
     */
    public BpfRingBuffer closes() throws SysException {
        if (closes == null) closes = BpfRingBuffer.open(closesMap);
        return closes;
    }

    /** The descriptor that polls readable while {@link #closes} holds a record (poll(2) on the ring). */
    public int closesFd() {
        return closesMap.fd();
    }

    /**
     * Tells the programs whether the loop that reads {@link #closes} is asleep in a poll(2) that
     * watches {@link #closesFd}: if so, a close they tell wakes it ({@code struct engine_state}).
     * A volatile store, then a full fence: the programs read the flag after committing their
     * record, so either they see it set, or the poll entered after it sees the record.
     */
    public void engineAsleep(boolean asleep) {
        ENGINE_ASLEEP.setVolatile(enginePage.values(), 0L, asleep ? 1 : 0);
        VarHandle.fullFence();
    }

    /** The counters, summed over every CPU (any thread): a system call each. */
    public synchronized Map<DatapathCounter, Long> counters() {
        Map<DatapathCounter, Long> m = new EnumMap<>(DatapathCounter.class);
        for (DatapathCounter c : DatapathCounter.values()) m.put(c, counter(c));
        return m;
    }

    /** One counter, summed over every CPU (any thread): one system call. */
    public synchronized long counter(DatapathCounter c) {
        counterKey.set(ValueLayout.JAVA_INT, 0, c.ordinal());
        if (counters.lookup(counterKey, perCpu) != 0) return 0;
        long sum = 0;
        for (int i = 0, cpus = (int) (perCpu.byteSize() / 8); i < cpus; i++)
            sum += perCpu.getAtIndex(ValueLayout.JAVA_LONG, i);
        return sum;
    }

    /**
     * Attaches the programs: to the uplink's ingress and egress and the wire TUN's ingress, each
     * replacing our filter of an earlier run in one step.
     */
    public void attach(int uplinkIfindex, int wireTunIfindex) throws SysException {
        TcHook.ingress(uplinkIfindex).attach(program(UPLINK_INGRESS), TC_HANDLE, TC_PRIORITY);
        TcHook.egress(uplinkIfindex).attach(program(UPLINK_EGRESS), TC_HANDLE, TC_PRIORITY);
        TcHook.ingress(wireTunIfindex).attach(program(WIRE_INGRESS), TC_HANDLE, TC_PRIORITY);
    }

    /** Removes our filters from the uplink (a TUN's go with the device); false if none was there. */
    public static boolean detach(int uplinkIfindex) throws SysException {
        boolean in = TcHook.ingress(uplinkIfindex).detach(TC_HANDLE, TC_PRIORITY);
        boolean out = TcHook.egress(uplinkIfindex).detach(TC_HANDLE, TC_PRIORITY);
        return in || out;
    }

    /** Unpins the maps (they go with the last program or descriptor that holds them). */
    public void unpin() throws SysException {
        for (String m : MAPS) object.unpin(m);
    }

    @Override
    public void close() {
        if (closes != null) closes.close();
        if (recordPages != null) recordPages.close();
        if (enginePage != null) enginePage.close();
        object.close();
        arena.close();
    }
}
