package dev.baton.sys;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;

/**
 * The consumer side of a BPF ring buffer map ({@code BPF_MAP_TYPE_RINGBUF}), read from its pages
 * mapped into this process: no system call and no allocation per record. The kernel's layout
 * (kernel/bpf/ringbuf.c): at offset 0 one page holding the consumer position, which the consumer
 * writes; after it one page holding the producer position, then the data pages, mapped twice in a
 * row so that a record that wraps reads as one. Each record has an 8-byte header: its length, with
 * a busy bit while the producer writes it and a discard bit if it was dropped, then the record,
 * padded to 8 bytes. Positions only grow; the consumer position lives in the map, so a process that
 * opens a pinned ring after another goes on where that one stopped.
 *
 * <p>One thread reads a ring: {@link #drain} is not safe to call from two at once.
 */
@SuppressWarnings("restricted") // native code lives in sys only (LayeringTest)
public final class BpfRingBuffer implements AutoCloseable {
    private static final long HEADER = 8;
    private static final int BUSY = 1 << 31;
    private static final int DISCARD = 1 << 30;
    private static final VarHandle LONG = ValueLayout.JAVA_LONG.varHandle();
    private static final VarHandle INT = ValueLayout.JAVA_INT.varHandle();

    /** Takes one record: {@code length} bytes at {@code offset} of {@code data} (valid during the call). */
    public interface Records {
        void record(MemorySegment data, long offset, int length);
    }

    private final int page;
    private final long size;
    private final MemorySegment consumer;
    private final MemorySegment producer;
    private final MemorySegment data;
    private final long mask;

    private BpfRingBuffer(int page, long size, MemorySegment consumer, MemorySegment producer) {
        this.page = page;
        this.size = size;
        this.consumer = consumer;
        this.producer = producer;
        this.data = producer.asSlice(page);
        this.mask = size - 1;
    }

    /** Maps the ring {@code map} (a {@code BPF_MAP_TYPE_RINGBUF} of {@code map.maxEntries()} bytes). */
    public static BpfRingBuffer open(BpfMap map) throws SysException {
        long size = map.maxEntries();
        if (size <= 0 || Long.bitCount(size) != 1) {
            throw new IllegalArgumentException("map " + map.name() + " is no ring buffer: " + size + " bytes");
        }
        int page = Libc.pageSize();
        Libc.CallState st = Libc.state();
        MemorySegment c = Libc.mmap(st, page, Libc.PROT_READ | Libc.PROT_WRITE, Libc.MAP_SHARED, map.fd(), 0);
        if (c.address() == -1L) throw new SysException("mmap " + map.name() + " consumer page", st.errno());
        long producerLength = page + 2 * size;
        MemorySegment p = Libc.mmap(st, producerLength, Libc.PROT_READ, Libc.MAP_SHARED, map.fd(), page);
        if (p.address() == -1L) {
            int errno = st.errno();
            Libc.munmap(st, c, page);
            throw new SysException("mmap " + map.name() + " data pages", errno);
        }
        return new BpfRingBuffer(page, size, c.reinterpret(page), p.reinterpret(producerLength));
    }

    /**
     * Hands every record committed so far to {@code into}, oldest first, and frees their space.
     * Stops at a record still being written (the next call takes it). Returns how many were taken.
     */
    public int drain(Records into) {
        long cons = (long) LONG.getAcquire(consumer, 0L);
        int n = 0;
        long prod;
        while (cons < (prod = (long) LONG.getAcquire(producer, 0L))) {
            while (cons < prod) {
                long at = cons & mask;
                int len = (int) INT.getAcquire(data, at);
                if ((len & BUSY) != 0) {
                    LONG.setRelease(consumer, 0L, cons);
                    return n;
                }
                int length = len & ~(BUSY | DISCARD);
                cons += (HEADER + length + 7) & ~7L;
                if ((len & DISCARD) == 0) {
                    into.record(data, at + HEADER, length);
                    n++;
                }
                LONG.setRelease(consumer, 0L, cons);
            }
        }
        return n;
    }

    @Override
    public void close() {
        Libc.CallState st = Libc.state();
        Libc.munmap(st, consumer, page);
        Libc.munmap(st, producer, page + 2 * size);
    }
}
