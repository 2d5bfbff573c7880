package dev.baton.control;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ClusterKeyTest {
    @TempDir
    Path dir;

    @Test
    void readsAPrivateFileOfAtLeast32Bytes() throws IOException {
        Path f = write("k", new byte[32], "rw-------");
        assertThat(ClusterKey.read(f).spec().getEncoded()).hasSize(32);
        Path text = write(
                "hex",
                "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n".getBytes(UTF_8),
                "r--------");
        assertThat(ClusterKey.read(text).spec().getEncoded()).hasSize(65);
    }

    @Test
    void refusesAMissingFile() {
        assertThatThrownBy(() -> ClusterKey.read(dir.resolve("nope")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("no such file");
        assertThatThrownBy(() -> ClusterKey.read(dir)).as("a directory").isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void refusesAShortOrHugeKey() throws IOException {
        Path shortKey = write("short", new byte[31], "rw-------");
        assertThatThrownBy(() -> ClusterKey.read(shortKey))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("has 31 bytes");
        Path empty = write("empty", new byte[0], "rw-------");
        assertThatThrownBy(() -> ClusterKey.read(empty)).isInstanceOf(IllegalArgumentException.class);
        Path huge = write("huge", new byte[ClusterKey.MAX_LENGTH + 1], "rw-------");
        assertThatThrownBy(() -> ClusterKey.read(huge))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("more than");
        assertThatThrownBy(() -> ClusterKey.of(new byte[31])).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void refusesAKeyThatGroupOrOthersCanReach() throws IOException {
        for (String mode : new String[] {"rw-r-----", "rw----r--", "rw--w----", "rw-----w-", "rw---x---"}) {
            Path f = write("k" + mode.hashCode(), new byte[32], mode);
            assertThatThrownBy(() -> ClusterKey.read(f))
                    .as(mode)
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("chmod 600");
        }
    }

    @Test
    void writesARandomKeyThatOnlyTheOwnerCanRead() throws IOException {
        Path f = dir.resolve("cluster.key");
        ClusterKey.writeRandom(f);
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(f)))
                .isEqualTo("rw-------");
        byte[] first = Files.readAllBytes(f);
        assertThat(first).hasSize(ClusterKey.MIN_LENGTH);
        ClusterKey.writeRandom(f);
        assertThat(Files.readAllBytes(f)).isNotEqualTo(first);
        assertThat(ClusterKey.read(f)).isNotNull();
    }

    @Test
    void neverShowsItsBytes() {
        assertThat(ClusterKey.of(new byte[] {
                            'S', 'E', 'C', 'R', 'E', 'T', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                            0, 0, 0, 0, 0
                        })
                        .toString())
                .doesNotContain("SECRET")
                .contains("32 bytes");
    }

    private Path write(String name, byte[] bytes, String mode) throws IOException {
        Path f = dir.resolve(name);
        Files.write(f, bytes);
        Files.setPosixFilePermissions(f, PosixFilePermissions.fromString(mode));
        return f;
    }
}
