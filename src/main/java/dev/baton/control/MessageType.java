package dev.baton.control;

/** The {@code type} byte of a control frame, one per {@link ControlMessage} record. */
public final class MessageType {
    public static final int HELLO = 1;
    public static final int HEARTBEAT = 2;
    public static final int HANDOFF_REQUEST = 3;
    public static final int HANDOFF_ACK = 4;
    public static final int HANDOFF_REFUSE = 5;
    public static final int TERMINATE = 6;
    public static final int ABORT = 7;
    public static final int CONTENT = 8;
    public static final int COMMIT = 9;
    public static final int AUTH = 10;

    private MessageType() {}

    /** The type byte that carries {@code m}. */
    public static int of(ControlMessage m) {
        return switch (m) {
            case ControlMessage.Hello h -> HELLO;
            case ControlMessage.Heartbeat h -> HEARTBEAT;
            case ControlMessage.HandoffRequest r -> HANDOFF_REQUEST;
            case ControlMessage.HandoffAck a -> HANDOFF_ACK;
            case ControlMessage.HandoffRefuse r -> HANDOFF_REFUSE;
            case ControlMessage.Terminate t -> TERMINATE;
            case ControlMessage.Abort a -> ABORT;
            case ControlMessage.Content c -> CONTENT;
            case ControlMessage.Commit c -> COMMIT;
            case ControlMessage.Auth a -> AUTH;
        };
    }
}
