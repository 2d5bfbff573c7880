package dev.baton.btcp;

import dev.baton.http.RequestParser;
import java.lang.foreign.Arena;

/** A fixed set of {@link HoldBuffer}s; when all are in use, new connections are served locally. */
final class HoldPool {
    private final HoldBuffer[] free;
    private int top;

    HoldPool(int buffers, int bytesEach, int maxPackets, int maxHeadBytes) {
        free = new HoldBuffer[buffers];
        Arena arena = Arena.ofAuto();
        for (int i = 0; i < buffers; i++) {
            free[i] = new HoldBuffer(
                    arena.allocate(bytesEach, 16),
                    maxPackets,
                    new RequestParser(maxHeadBytes, RequestParser.DEFAULT_MAX_HEADERS));
        }
        top = buffers;
    }

    /** A cleared buffer, or null if none is free. */
    HoldBuffer acquire() {
        if (top == 0) return null;
        HoldBuffer b = free[--top];
        free[top] = null;
        return b;
    }

    void release(HoldBuffer b) {
        b.clear();
        free[top++] = b;
    }

    int available() {
        return top;
    }
}
