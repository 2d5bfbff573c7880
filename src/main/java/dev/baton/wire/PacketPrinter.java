package dev.baton.wire;

import java.lang.foreign.MemorySegment;

/**
 * One line per layer, for logs, debugging and the CLI, in the spirit of tcpdump:
 *
 * <pre>
 * IPv4 10.0.0.1 &gt; 10.0.0.2 len 60 ttl 64
 * TCP 40000 &gt; 80 [S] seq 42 win 64240 &lt;mss 1460,sackOK,TS 100:0,nop,wscale 7&gt; len 0 checksum ok
 * </pre>
 *
 * <p>It says when a checksum is wrong ({@code checksum BAD (want 0x1234)}), because a wrong
 * incrementally updated checksum passes silently on a path of veths and TUNs. It never throws on
 * garbage: a layer it cannot decode is reported as {@code truncated} or {@code malformed} and ends
 * the description. Flags are written as tcpdump does ({@code F S R P U E W}, then {@code .} for ACK);
 * numbers are unsigned. It allocates (strings), so it belongs in logs, not in the packet path.
 */
public final class PacketPrinter {
    private PacketPrinter() {}

    /** Describes the IPv4 packet in the first {@code length} bytes of {@code packet}. */
    public static String describe(MemorySegment packet, int length) {
        if (packet == null) return "no packet";
        try {
            int have = (int) Math.min(Math.max(length, 0), packet.byteSize());
            StringBuilder out = new StringBuilder(160);
            describeIpv4(packet, have, out);
            return out.toString();
        } catch (IllegalStateException | WrongThreadException e) {
            // Memory freed or owned by another thread: nothing garbage in the bytes can cause this.
            return "unreadable packet (" + e.getClass().getSimpleName() + ")";
        }
    }

    private static void describeIpv4(MemorySegment p, int have, StringBuilder out) {
        if (have == 0) {
            out.append("IPv4 truncated (0 bytes)");
            return;
        }
        int version = Bytes.u8(p, 0) >>> 4;
        if (version != 4) {
            out.append("IP version ")
                    .append(version)
                    .append(" not decoded (")
                    .append(have)
                    .append(" bytes)");
            return;
        }
        if (have < Ipv4Header.MIN_LENGTH) {
            out.append("IPv4 truncated (").append(have).append(" bytes)");
            return;
        }
        Ipv4Header ip = new Ipv4Header().wrap(p, 0, have);
        int hl = ip.headerLength();
        int tl = ip.totalLength();
        out.append("IPv4 ")
                .append(Bytes.ipv4ToString(ip.sourceAddress()))
                .append(" > ")
                .append(Bytes.ipv4ToString(ip.destinationAddress()))
                .append(" len ")
                .append(tl)
                .append(" ttl ")
                .append(ip.timeToLive());
        if (hl < Ipv4Header.MIN_LENGTH || hl > tl) {
            out.append(" malformed (header length ").append(hl).append(')');
            return;
        }
        if (tl > have) {
            out.append(" truncated (have ").append(have).append(" bytes)");
            return;
        }
        if (!ip.headerChecksumValid()) appendBadChecksum(out, ip.computeHeaderChecksum());
        if (ip.protocol() != Ipv4Header.PROTOCOL_TCP) {
            out.append(" proto ").append(ip.protocol());
            return;
        }
        if (ip.isFragment()) {
            out.append(" fragment");
            return;
        }
        out.append('\n');
        describeTcp(p, hl, tl - hl, ip.sourceAddress(), ip.destinationAddress(), out);
    }

    private static void describeTcp(MemorySegment p, int at, int length, int src, int dst, StringBuilder out) {
        TcpHeader tcp = new TcpHeader().wrap(p, at, length);
        int verdict = tcp.validate();
        if (verdict == TcpHeader.TRUNCATED) {
            out.append("TCP truncated (").append(length).append(" bytes)");
            return;
        }
        out.append("TCP ").append(tcp.sourcePort()).append(" > ").append(tcp.destinationPort());
        if (verdict == TcpHeader.BAD_DATA_OFFSET) {
            out.append(" malformed (data offset ")
                    .append(tcp.headerLength())
                    .append(" bytes, segment ")
                    .append(length)
                    .append(" bytes)");
            return;
        }
        int f = tcp.flags();
        out.append(" [");
        appendFlags(f, out);
        out.append("] seq ").append(Integer.toUnsignedString(tcp.sequenceNumber()));
        if ((f & TcpHeader.ACK) != 0) out.append(" ack ").append(Integer.toUnsignedString(tcp.acknowledgmentNumber()));
        out.append(" win ").append(tcp.window());
        if ((f & TcpHeader.URG) != 0) out.append(" urg ").append(tcp.urgentPointer());
        if (tcp.headerLength() > TcpHeader.MIN_LENGTH) {
            out.append(" <");
            appendOptions(p, at + TcpHeader.MIN_LENGTH, at + tcp.headerLength(), out);
            out.append('>');
        }
        out.append(" len ").append(tcp.payloadLength());
        int want = tcp.computeChecksum(src, dst);
        if (tcp.checksumValid(src, dst)) out.append(" checksum ok");
        else appendBadChecksum(out, want);
    }

    private static void appendFlags(int f, StringBuilder out) {
        int start = out.length();
        if ((f & TcpHeader.FIN) != 0) out.append('F');
        if ((f & TcpHeader.SYN) != 0) out.append('S');
        if ((f & TcpHeader.RST) != 0) out.append('R');
        if ((f & TcpHeader.PSH) != 0) out.append('P');
        if ((f & TcpHeader.URG) != 0) out.append('U');
        if ((f & 0x40) != 0) out.append('E'); // ECE, RFC 3168
        if ((f & 0x80) != 0) out.append('W'); // CWR, RFC 3168
        if ((f & TcpHeader.ACK) != 0) out.append('.');
        if (out.length() == start) out.append("none");
    }

    /** Walks the options as {@link TcpHeader#validate()} does, naming each; stops at EOL or the first bad one. */
    private static void appendOptions(MemorySegment p, long at, long end, StringBuilder out) {
        boolean first = true;
        while (at < end) {
            if (!first) out.append(',');
            first = false;
            int kind = Bytes.u8(p, at);
            if (kind == TcpHeader.KIND_EOL) {
                out.append("eol");
                return;
            }
            if (kind == TcpHeader.KIND_NOP) {
                out.append("nop");
                at++;
                continue;
            }
            int len = at + 1 < end ? Bytes.u8(p, at + 1) : 0;
            if (len < 2 || at + len > end) {
                out.append("malformed");
                return;
            }
            switch (kind) {
                case TcpHeader.KIND_MSS -> {
                    if (len != 4) {
                        out.append("malformed");
                        return;
                    }
                    out.append("mss ").append(Bytes.u16(p, at + 2));
                }
                case TcpHeader.KIND_WINDOW_SCALE -> {
                    if (len != 3) {
                        out.append("malformed");
                        return;
                    }
                    out.append("wscale ").append(Bytes.u8(p, at + 2));
                }
                case TcpHeader.KIND_SACK_PERMITTED -> {
                    if (len != 2) {
                        out.append("malformed");
                        return;
                    }
                    out.append("sackOK");
                }
                case TcpHeader.KIND_SACK -> {
                    if (len < 10 || (len - 2) % 8 != 0) {
                        out.append("malformed");
                        return;
                    }
                    int blocks = (len - 2) / 8;
                    out.append("sack ").append(blocks).append(' ');
                    for (int i = 0; i < blocks; i++) {
                        long b = at + 2 + 8L * i;
                        out.append('{')
                                .append(Integer.toUnsignedString(Bytes.u32(p, b)))
                                .append(':')
                                .append(Integer.toUnsignedString(Bytes.u32(p, b + 4)))
                                .append('}');
                    }
                }
                case TcpHeader.KIND_TIMESTAMPS -> {
                    if (len != 10) {
                        out.append("malformed");
                        return;
                    }
                    out.append("TS ")
                            .append(Integer.toUnsignedString(Bytes.u32(p, at + 2)))
                            .append(':')
                            .append(Integer.toUnsignedString(Bytes.u32(p, at + 6)));
                }
                default -> out.append("opt ").append(kind).append(" len ").append(len);
            }
            at += len;
        }
    }

    private static void appendBadChecksum(StringBuilder out, int want) {
        out.append(" checksum BAD (want 0x");
        String hex = Integer.toHexString(want);
        for (int i = hex.length(); i < 4; i++) out.append('0');
        out.append(hex).append(')');
    }
}
