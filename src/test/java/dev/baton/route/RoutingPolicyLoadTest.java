package dev.baton.route;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.OutputStream;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RoutingPolicyLoadTest {
    private static final String SERVICE_FILE = "META-INF/services/" + RoutingPolicy.class.getName();

    /** A user's policy, compiled at test time: it lives in no source tree of this project. */
    private static final String USER_POLICY_SOURCE = """
            package com.example.userpolicy;

            import dev.baton.route.ClusterView;
            import dev.baton.route.RequestInfo;
            import dev.baton.route.RoutingPolicy;

            public final class FirstHolderPolicy implements RoutingPolicy {
                @Override
                public String name() {
                    return "first-holder";
                }

                @Override
                public String choose(RequestInfo request, ClusterView cluster) {
                    var h = cluster.holders(request.path());
                    return h.isEmpty() ? cluster.self() : h.get(0);
                }
            }
            """;

    @Test
    void loadsTheBuiltInContentPolicy() {
        assertThat(RoutingPolicy.load("content")).isInstanceOf(ContentAwarePolicy.class);
    }

    @Test
    void loadsTheBuiltInLocalPolicy() {
        assertThat(RoutingPolicy.load("local")).isInstanceOf(LocalPolicy.class);
    }

    @Test
    void unknownNameFailsNamingTheAvailablePolicies() {
        assertThatThrownBy(() -> RoutingPolicy.load("round-robin"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("round-robin")
                .hasMessageContaining("available: content, local, test-only");
    }

    @Test
    void loadsAPolicyRegisteredOnlyInTheTestResources() {
        RoutingPolicy p = RoutingPolicy.load("test-only");

        assertThat(p).isInstanceOf(TestOnlyPolicy.class);
        assertThat(p.choose(new RequestInfo("GET", "/", null), new FakeCluster("n1")))
                .isEqualTo("chosen-by-test-only");
    }

    @Test
    void serviceFilesOfMainAndTestResourcesAreMerged() throws IOException {
        List<URL> files =
                Collections.list(Thread.currentThread().getContextClassLoader().getResources(SERVICE_FILE));
        List<String> names = ServiceLoader.load(RoutingPolicy.class).stream()
                .map(p -> p.get().name())
                .sorted()
                .toList();

        assertThat(files).hasSize(2);
        assertThat(names).containsExactly("content", "local", "test-only");
    }

    @Test
    void aUsersOwnPolicyJarCanBeDroppedIn(@TempDir Path dir) throws Exception {
        Path jar = buildUserPolicyJar(dir);

        assertThatThrownBy(() -> RoutingPolicy.load("first-holder"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageEndingWith("(available: content, local, test-only)");
        try (URLClassLoader loader =
                new URLClassLoader(new URL[] {jar.toUri().toURL()}, RoutingPolicy.class.getClassLoader())) {
            List<String> names = ServiceLoader.load(RoutingPolicy.class, loader).stream()
                    .map(p -> p.get().name())
                    .sorted()
                    .toList();
            assertThat(names).containsExactly("content", "first-holder", "local", "test-only");

            RoutingPolicy p = RoutingPolicy.load("first-holder", loader);
            assertThat(p.getClass().getName()).isEqualTo("com.example.userpolicy.FirstHolderPolicy");
            assertThat(p.getClass().getClassLoader()).isSameAs(loader);
            FakeCluster c = new FakeCluster("n1")
                    .up("n2", 9)
                    .up("n3", 0)
                    .content(Map.of("n2", List.of("/a.txt"), "n3", List.of("/a.txt")));
            assertThat(p.choose(new RequestInfo("GET", "/a.txt", null), c)).isEqualTo("n2");
            assertThat(RoutingPolicy.load("content", loader)).isInstanceOf(ContentAwarePolicy.class);
        }
    }

    @Test
    void oneArgumentLoadUsesTheThreadContextClassLoader(@TempDir Path dir) throws Exception {
        Path jar = buildUserPolicyJar(dir);
        Thread t = Thread.currentThread();
        ClassLoader saved = t.getContextClassLoader();
        try (URLClassLoader loader =
                new URLClassLoader(new URL[] {jar.toUri().toURL()}, RoutingPolicy.class.getClassLoader())) {
            t.setContextClassLoader(loader);
            assertThat(RoutingPolicy.load("first-holder").name()).isEqualTo("first-holder");
        } finally {
            t.setContextClassLoader(saved);
        }
    }

    /** Compiles {@link #USER_POLICY_SOURCE} against this project's classes and jars it with its service file. */
    private static Path buildUserPolicyJar(Path dir) throws Exception {
        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        assertThat(javac).as("tests need a JDK, not a JRE").isNotNull();
        Path src = dir.resolve("src/com/example/userpolicy/FirstHolderPolicy.java");
        Files.createDirectories(src.getParent());
        Files.writeString(src, USER_POLICY_SOURCE);
        Path classes = Files.createDirectories(dir.resolve("classes"));
        String projectClasses = Path.of(RoutingPolicy.class
                        .getProtectionDomain()
                        .getCodeSource()
                        .getLocation()
                        .toURI())
                .toString();
        int rc = javac.run(null, null, null, "-d", classes.toString(), "-cp", projectClasses, src.toString());
        assertThat(rc).as("javac exit status").isZero();

        Path jar = dir.resolve("user-policy.jar");
        try (JarOutputStream out = new JarOutputStream(Files.newOutputStream(jar))) {
            String cls = "com/example/userpolicy/FirstHolderPolicy.class";
            out.putNextEntry(new JarEntry(cls));
            out.write(Files.readAllBytes(classes.resolve(cls)));
            out.closeEntry();
            out.putNextEntry(new JarEntry(SERVICE_FILE));
            write(out, "com.example.userpolicy.FirstHolderPolicy\n");
            out.closeEntry();
        }
        return jar;
    }

    private static void write(OutputStream out, String s) throws IOException {
        out.write(s.getBytes(StandardCharsets.UTF_8));
    }
}
