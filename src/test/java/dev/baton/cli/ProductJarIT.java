package dev.baton.cli;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import java.util.jar.Manifest;
import org.junit.jupiter.api.Test;

/**
 * The packaged jars (after {@code package}): the product a host installs holds no testbed or bench
 * code, and the testbed's jar holds only that and runs against the product beside it.
 */
class ProductJarIT {
    static final Path PRODUCT = Path.of(System.getProperty("baton.jar", "target/baton.jar"));
    static final Path TESTBED = Path.of(System.getProperty("baton.testbed.jar", "target/baton-testbed.jar"));

    private static List<String> classes(Path jar) throws Exception {
        try (JarFile j = new JarFile(jar.toFile())) {
            return j.stream()
                    .map(JarEntry::getName)
                    .filter(n -> n.endsWith(".class"))
                    .toList();
        }
    }

    @Test
    void theProductHoldsNoTestbedOrBenchCode() throws Exception {
        List<String> classes = classes(PRODUCT);
        assertThat(classes).contains("dev/baton/cli/Main.class", "dev/baton/node/Node.class");
        assertThat(classes)
                .filteredOn(n -> n.startsWith("dev/baton/testbed/")
                        || n.startsWith("dev/baton/bench/")
                        || n.startsWith("dev/baton/tools/"))
                .isEmpty();
    }

    @Test
    void theTestbedsJarHoldsOnlyTheToolsAndNamesTheProduct() throws Exception {
        assertThat(classes(TESTBED))
                .isNotEmpty()
                .allMatch(n -> n.startsWith("dev/baton/testbed/")
                        || n.startsWith("dev/baton/bench/")
                        || n.startsWith("dev/baton/tools/"))
                .contains("dev/baton/tools/ToolsMain.class", "dev/baton/bench/BenchCommand.class");
        try (JarFile j = new JarFile(TESTBED.toFile())) {
            Manifest m = j.getManifest();
            assertThat(m.getMainAttributes().getValue("Main-Class")).isEqualTo("dev.baton.tools.ToolsMain");
            assertThat(m.getMainAttributes().getValue("Class-Path"))
                    .isEqualTo(PRODUCT.getFileName().toString());
        }
        assertThat(TESTBED.getParent()).isEqualTo(PRODUCT.getParent());
    }

    @Test
    void theToolsAreOneCommandAwayAndTheProductDoesNotKnowThem() throws Exception {
        assertThat(run("-jar", TESTBED.toString(), "testbed", "--help"))
                .startsWith("0:")
                .contains("Usage: baton testbed");
        assertThat(run("-jar", TESTBED.toString(), "status", "--help")).startsWith("0:");
        assertThat(run("-jar", PRODUCT.toString(), "testbed", "stats"))
                .doesNotStartWith("0:")
                .startsWith("2:Unmatched arguments from index 0: 'testbed'");
    }

    /** {@code exit:output} of this JVM's java with {@code args}. */
    private static String run(String... args) throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> argv = new ArrayList<>(List.of(java, "--enable-native-access=ALL-UNNAMED"));
        argv.addAll(List.of(args));
        Process p = new ProcessBuilder(argv).redirectErrorStream(true).start();
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).as(String.join(" ", argv)).isTrue();
        return p.exitValue() + ":" + new String(p.getInputStream().readAllBytes(), UTF_8);
    }
}
