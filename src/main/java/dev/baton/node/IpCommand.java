package dev.baton.node;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Runs iproute2's {@code ip} for the little network setup a node does itself, with a timeout. */
final class IpCommand {
    private static final long TIMEOUT_SECONDS = 10;

    private IpCommand() {}

    static void run(String... args) throws IOException {
        List<String> argv = new ArrayList<>(List.of("ip"));
        argv.addAll(List.of(args));
        String line = String.join(" ", argv);
        Process ip = new ProcessBuilder(argv).redirectErrorStream(true).start();
        try {
            if (!ip.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
                ip.destroyForcibly();
                throw new IOException(line + ": no answer in " + TIMEOUT_SECONDS + " s");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted: " + line, e);
        }
        if (ip.exitValue() != 0) {
            throw new IOException(line + " failed: " + new String(ip.getInputStream().readAllBytes()).strip());
        }
    }
}
