package dev.baton.btcp;

import dev.baton.http.RequestParser;
import java.lang.foreign.MemorySegment;

/**
 * The packets of one connection held at the entry node while its request is read and a handoff is
 * pending (claims 2, 12, 22: "storing said SYN, ACK and said web request packet"). Raw packets are
 * kept back to back in arrival order, so they can be released to the local kernel unchanged or
 * forwarded, translated, to the chosen node. Pooled: a connection borrows one when its handshake
 * completes and returns it when the hold ends, so holding allocates nothing.
 */
final class HoldBuffer {
    final MemorySegment data;
    final int[] offsets;
    final int[] lengths;
    final RequestParser parser;
    int count;
    int used;

    HoldBuffer(MemorySegment data, int maxPackets, RequestParser parser) {
        this.data = data;
        this.offsets = new int[maxPackets];
        this.lengths = new int[maxPackets];
        this.parser = parser;
    }

    /** Copies a packet in; false if the buffer is full (the caller drops it and TCP retransmits). */
    boolean add(MemorySegment packet, int length) {
        if (count == offsets.length || used + length > data.byteSize()) return false;
        MemorySegment.copy(packet, 0, data, used, length);
        offsets[count] = used;
        lengths[count] = length;
        count++;
        used += length;
        return true;
    }

    void clear() {
        count = 0;
        used = 0;
        parser.reset();
    }
}
