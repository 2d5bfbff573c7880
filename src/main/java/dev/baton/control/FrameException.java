package dev.baton.control;

import java.io.Serial;

/**
 * A control frame that does not follow the protocol. Checked, so that every reader must decide what
 * to do with it; the only right answer is to close the link that sent it and count the reason, never
 * to let one bad peer take the node down.
 */
public final class FrameException extends Exception {
    @Serial
    private static final long serialVersionUID = 1L;

    /** Why a frame was refused; one counter per reason. */
    public enum Reason {
        /** The length field is smaller than the header. */
        TOO_SHORT,
        /** The length field says more than {@link ControlFrame#MAX_FRAME_LENGTH} bytes in all. */
        TOO_LONG,
        /** The version byte is not {@link ControlFrame#VERSION}. */
        BAD_VERSION,
        /** The type byte names no message of this version. */
        UNKNOWN_TYPE,
        /** The flags field is not zero. */
        BAD_FLAGS,
        /** The payload ends before its type's layout does. */
        TRUNCATED,
        /** Bytes are left over after the type's layout. */
        TRAILING_BYTES,
        /** A string is not valid UTF-8. */
        BAD_UTF8,
        /** A field is out of its range (a port, a window scale, a reason code, a path ...). */
        BAD_FIELD
    }

    private final Reason reason;

    public FrameException(Reason reason, String detail) {
        super(reason + ": " + detail, null, false, false);
        this.reason = reason;
    }

    public Reason reason() {
        return reason;
    }
}
