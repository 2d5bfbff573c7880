package dev.baton.control;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import javax.crypto.Mac;
import javax.crypto.ShortBufferException;
import javax.crypto.spec.SecretKeySpec;

/**
 * The cryptography of one control link: the {@link ControlMessage.Auth} MAC that proves each side
 * holds the {@link ClusterKey}, the per-direction frame keys, and the per-frame tag. All of it is
 * HMAC-SHA256 (RFC 2104), used both as the MAC and as the key derivation function (as in HKDF's
 * expand step, RFC 5869), with a distinct label for every use so that no output can stand in for
 * another.
 *
 * <p>The transcript is the exact bytes of both Hello frames, the dialer's first. They carry both
 * names and both random nonces, so every connection has fresh keys and a fresh Auth MAC:
 * <pre>
 *   auth(role)     = HMAC(K, "baton/2 auth " role 0x00 || len(helloD) || helloD || len(helloA) || helloA)
 *   key(direction) = HMAC(K, "baton/2 key " direction 0x00 || the same)
 *   tag            = HMAC(key(direction), counter (u64) || frame)[0..16)
 * </pre>
 * The role in the Auth MAC means a side's own Auth reflected back to it does not verify. The
 * counter is implicit (never sent): it counts the frames each side sent after its Auth, from 0, so
 * a frame dropped, replayed, reordered or taken from another connection fails its tag. 16 bytes of
 * tag leave a forger a 2^-128 chance per try, and the first failure closes the link.
 */
final class LinkAuth {
    /** Bytes of the random nonce in each Hello. */
    static final int NONCE_LENGTH = 16;
    /** Bytes of the MAC in an Auth frame (a whole HMAC-SHA256). */
    static final int AUTH_MAC_LENGTH = 32;
    /** Bytes of the tag after every frame that follows the Auth frames (truncated HMAC, RFC 2104 section 5). */
    static final int TAG_LENGTH = 16;

    private static final byte[] AUTH_BY_DIALER = label("baton/2 auth dialer");
    private static final byte[] AUTH_BY_ACCEPTOR = label("baton/2 auth acceptor");
    private static final byte[] KEY_DIALER_TO_ACCEPTOR = label("baton/2 key dialer->acceptor");
    private static final byte[] KEY_ACCEPTOR_TO_DIALER = label("baton/2 key acceptor->dialer");

    private LinkAuth() {}

    /** The Auth MAC the dialer (or acceptor) sends for this transcript. */
    static byte[] authMac(ClusterKey key, boolean byDialer, byte[] helloDialer, byte[] helloAcceptor) {
        return prf(key.spec(), byDialer ? AUTH_BY_DIALER : AUTH_BY_ACCEPTOR, helloDialer, helloAcceptor);
    }

    /** Whether {@code got} is the expected Auth MAC, compared in constant time. */
    static boolean authMatches(byte[] expected, byte[] got) {
        return MessageDigest.isEqual(expected, got);
    }

    /** The key that tags frames sent by the dialer (or by the acceptor) on this connection. */
    static SecretKeySpec frameKey(ClusterKey key, boolean fromDialer, byte[] helloDialer, byte[] helloAcceptor) {
        return new SecretKeySpec(
                prf(
                        key.spec(),
                        fromDialer ? KEY_DIALER_TO_ACCEPTOR : KEY_ACCEPTOR_TO_DIALER,
                        helloDialer,
                        helloAcceptor),
                ClusterKey.ALGORITHM);
    }

    private static byte[] prf(SecretKeySpec key, byte[] label, byte[] helloDialer, byte[] helloAcceptor) {
        Mac mac = newMac(key);
        mac.update(label);
        mac.update(u32(helloDialer.length));
        mac.update(helloDialer);
        mac.update(u32(helloAcceptor.length));
        mac.update(helloAcceptor);
        return mac.doFinal();
    }

    private static Mac newMac(SecretKeySpec key) {
        try {
            Mac mac = Mac.getInstance(ClusterKey.ALGORITHM);
            mac.init(key);
            return mac;
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("every Java platform has HmacSHA256", e);
        }
    }

    private static byte[] label(String s) {
        byte[] b = s.getBytes(StandardCharsets.US_ASCII);
        byte[] out = new byte[b.length + 1]; // 0-terminated: no label is a prefix of another's input
        System.arraycopy(b, 0, out, 0, b.length);
        return out;
    }

    private static byte[] u32(int v) {
        return new byte[] {(byte) (v >>> 24), (byte) (v >>> 16), (byte) (v >>> 8), (byte) v};
    }

    /**
     * Tags (or checks) the frames of one direction of one link. Not thread-safe: each belongs to the
     * one thread that writes (or reads) that direction, and allocates nothing per frame.
     */
    static final class FrameMac {
        private final Mac mac;
        private final byte[] counterBytes = new byte[8];
        private final byte[] full = new byte[AUTH_MAC_LENGTH];
        private long counter;

        FrameMac(SecretKeySpec key) {
            mac = newMac(key);
        }

        /** Writes the tag of the next frame, {@code frame[off, off+len)}, to {@code dst[0, 16)}. */
        void sign(byte[] frame, int off, int len, byte[] dst) {
            sign(frame, off, len, dst, 0);
        }

        /** Writes the tag of the next frame, {@code frame[off, off+len)}, to {@code dst[at, at+16)}. */
        void sign(byte[] frame, int off, int len, byte[] dst, int at) {
            compute(frame, off, len);
            System.arraycopy(full, 0, dst, at, TAG_LENGTH);
        }

        /**
         * Whether {@code tag} (16 bytes) is the next frame's, compared in constant time. The counter
         * advances either way: a link whose tag failed must be closed.
         */
        boolean verify(byte[] frame, int off, int len, byte[] tag) {
            return verify(frame, off, len, tag, 0);
        }

        /** As {@link #verify(byte[], int, int, byte[])}, with the tag at {@code tag[at, at+16)}. */
        boolean verify(byte[] frame, int off, int len, byte[] tag, int at) {
            compute(frame, off, len);
            int diff = 0; // constant time, as MessageDigest.isEqual
            for (int i = 0; i < TAG_LENGTH; i++) {
                diff |= full[i] ^ tag[at + i];
            }
            return diff == 0;
        }

        /** Frames tagged or checked so far. */
        long count() {
            return counter;
        }

        private void compute(byte[] frame, int off, int len) {
            long c = counter++;
            for (int i = 0; i < 8; i++) {
                counterBytes[i] = (byte) (c >>> (56 - 8 * i));
            }
            mac.update(counterBytes);
            mac.update(frame, off, len);
            try {
                mac.doFinal(full, 0);
            } catch (ShortBufferException e) {
                throw new AssertionError("32 bytes hold an HMAC-SHA256", e);
            }
        }
    }
}
