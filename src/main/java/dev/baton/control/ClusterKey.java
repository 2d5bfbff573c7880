package dev.baton.control;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.Set;
import javax.crypto.spec.SecretKeySpec;

/**
 * The secret every member of one cluster shares: whoever holds it is a member of the control channel
 * (see {@link ControlPlane}). Its bytes are the HMAC-SHA256 key from which each link's
 * authentication and frame keys are derived ({@link LinkAuth}).
 *
 * <p>A key file holds the key's bytes as they are (binary or text, e.g. {@code head -c 32
 * /dev/urandom > cluster.key}): {@value #MIN_LENGTH} to {@value #MAX_LENGTH} bytes, since HMAC-SHA256
 * gains nothing from keys beyond its 64-byte block and is weakened by keys under its 32-byte output
 * (RFC 2104 section 3). It must be readable by its owner only: a key that others on the host can read
 * is refused rather than trusted.
 */
public final class ClusterKey {
    /** Shortest key: the HMAC-SHA256 output (RFC 2104 section 3: "less than L bytes ... strongly discouraged"). */
    public static final int MIN_LENGTH = 32;
    /** Longest key file read. */
    public static final int MAX_LENGTH = 1024;

    static final String ALGORITHM = "HmacSHA256";
    private static final Set<PosixFilePermission> GROUP_OR_OTHER = EnumSet.of(
            PosixFilePermission.GROUP_READ,
            PosixFilePermission.GROUP_WRITE,
            PosixFilePermission.GROUP_EXECUTE,
            PosixFilePermission.OTHERS_READ,
            PosixFilePermission.OTHERS_WRITE,
            PosixFilePermission.OTHERS_EXECUTE);

    private final SecretKeySpec key;
    private final int length;

    private ClusterKey(byte[] bytes) {
        if (bytes.length < MIN_LENGTH || bytes.length > MAX_LENGTH) {
            throw new IllegalArgumentException(
                    "a cluster key has " + MIN_LENGTH + " to " + MAX_LENGTH + " bytes, not " + bytes.length);
        }
        key = new SecretKeySpec(bytes, ALGORITHM);
        length = bytes.length;
    }

    /** A key from bytes (copied). */
    public static ClusterKey of(byte[] bytes) {
        return new ClusterKey(bytes.clone());
    }

    /** A fresh random key of {@link #MIN_LENGTH} bytes. */
    public static ClusterKey random() {
        byte[] b = new byte[MIN_LENGTH];
        new SecureRandom().nextBytes(b);
        return new ClusterKey(b);
    }

    /**
     * Reads a key file.
     *
     * @throws IllegalArgumentException with a message that says what is wrong (missing, not a file,
     *         readable by group or others, too short or too long)
     */
    public static ClusterKey read(Path file) {
        if (!Files.isRegularFile(file)) {
            throw new IllegalArgumentException("cluster key " + file + ": no such file");
        }
        try {
            Set<PosixFilePermission> perms = Files.getPosixFilePermissions(file, LinkOption.NOFOLLOW_LINKS);
            if (perms.stream().anyMatch(GROUP_OR_OTHER::contains)) {
                throw new IllegalArgumentException("cluster key " + file + " is accessible by group or others ("
                        + PosixFilePermissions.toString(perms) + "): chmod 600 it");
            }
            byte[] bytes;
            try (InputStream in = Files.newInputStream(file)) {
                bytes = in.readNBytes(MAX_LENGTH + 1);
            }
            try {
                if (bytes.length < MIN_LENGTH || bytes.length > MAX_LENGTH) {
                    throw new IllegalArgumentException("cluster key " + file + " has "
                            + (bytes.length > MAX_LENGTH ? "more than " + MAX_LENGTH : bytes.length)
                            + " bytes; it needs " + MIN_LENGTH + " to " + MAX_LENGTH
                            + " (e.g. head -c 32 /dev/urandom > " + file + ")");
                }
                return new ClusterKey(bytes);
            } finally {
                Arrays.fill(bytes, (byte) 0);
            }
        } catch (UnsupportedOperationException e) {
            throw new IllegalArgumentException("cluster key " + file + ": its file system has no POSIX permissions");
        } catch (IOException e) {
            throw new IllegalArgumentException("cluster key " + file + ": " + e.getMessage());
        }
    }

    /**
     * Writes a fresh random key of {@link #MIN_LENGTH} bytes to a new file created with mode 0600
     * (never readable by others, not even for a moment).
     */
    public static void writeRandom(Path file) throws IOException {
        byte[] b = new byte[MIN_LENGTH];
        new SecureRandom().nextBytes(b);
        Files.deleteIfExists(file);
        Files.createFile(file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        Files.write(file, b);
    }

    SecretKeySpec spec() {
        return key;
    }

    @Override
    public String toString() {
        return "ClusterKey[" + length + " bytes]"; // never the bytes
    }
}
