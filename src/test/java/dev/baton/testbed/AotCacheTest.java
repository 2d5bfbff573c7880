package dev.baton.testbed;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AotCacheTest {
    @TempDir
    Path dir;

    @Test
    void isUsableOnlyOnceATrainingRunWroteItForThisJar() throws Exception {
        Path jar = Files.writeString(dir.resolve("baton.jar"), "version one");
        AotCache aot = AotCache.forJar(jar).orElseThrow();
        assertThat(aot.path()).isEqualTo(dir.resolve("baton.aot"));
        assertThat(aot.usable()).as("no cache yet").isFalse();
        assertThat(aot.commit()).as("the training run wrote nothing").isFalse();
        assertThat(aot.startTraining()).containsExactly("-XX:AOTCacheOutput=" + dir.resolve("baton.aot.training"));

        Files.writeString(dir.resolve("baton.aot.training"), "cache");
        assertThat(aot.commit()).isTrue();
        assertThat(aot.usable()).isTrue();
        assertThat(aot.useOptions()).containsExactly("-XX:AOTCache=" + dir.resolve("baton.aot"));
        assertThat(dir.resolve("baton.aot.training")).doesNotExist();
    }

    @Test
    void aRebuiltJarOfTheSameSizeAndTimeMakesTheCacheUnusable() throws Exception {
        Path jar = Files.writeString(dir.resolve("baton.jar"), "version one");
        FileTime built = Files.getLastModifiedTime(jar);
        AotCache aot = AotCache.forJar(jar).orElseThrow();
        Files.writeString(dir.resolve("baton.aot.training"), "cache");
        assertThat(aot.commit()).isTrue();
        // What the JVM does not catch: other classes, same length, same mtime.
        Files.writeString(jar, "version two");
        Files.setLastModifiedTime(jar, built);
        assertThat(AotCache.forJar(jar).orElseThrow().usable()).isFalse();
    }

    @Test
    void aTrainingRunStartsWithoutWhatAnInterruptedOneLeft() throws Exception {
        Path jar = Files.writeString(dir.resolve("baton.jar"), "version two");
        Files.writeString(dir.resolve("baton.aot.training"), "half a cache of version one");
        AotCache aot = AotCache.forJar(jar).orElseThrow();
        aot.startTraining();
        // the new training node wrote nothing (it failed): nothing of the old one is installed
        assertThat(aot.commit()).isFalse();
        assertThat(aot.usable()).isFalse();
        assertThat(dir.resolve("baton.aot")).doesNotExist();
    }

    @Test
    void aTornStampIsNotUsable() throws Exception {
        Path jar = Files.writeString(dir.resolve("baton.jar"), "jar");
        AotCache aot = AotCache.forJar(jar).orElseThrow();
        Files.writeString(dir.resolve("baton.aot.training"), "cache");
        assertThat(aot.commit()).isTrue();
        Files.writeString(dir.resolve("baton.aot.stamp"), "jar 00");
        assertThat(aot.usable()).isFalse();
    }
}
