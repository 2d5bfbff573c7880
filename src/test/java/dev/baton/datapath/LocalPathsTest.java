package dev.baton.datapath;

import static org.assertj.core.api.Assertions.assertThat;

import dev.baton.http.RequestParser;
import java.nio.charset.StandardCharsets;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The paths the programs may decide are the paths the request parser routes on, byte for byte. */
class LocalPathsTest {
    private static final String CHARS = "abcXYZ019-._~/";

    @Test
    void aDecidablePathIsWhatTheParserRoutesOn() {
        Random rnd = new Random(12);
        int decidable = 0;
        for (int i = 0; i < 20_000; i++) {
            StringBuilder b = new StringBuilder("/");
            int n = rnd.nextInt(40);
            for (int j = 0; j < n; j++) b.append(CHARS.charAt(rnd.nextInt(CHARS.length())));
            String path = b.toString();
            if (!LocalPaths.decidable(path)) continue;
            decidable++;
            RequestParser p = new RequestParser();
            byte[] head = ("GET " + path + "?q=1 HTTP/1.1\r\nHost: n1\r\n\r\n").getBytes(StandardCharsets.US_ASCII);
            assertThat(p.feed(head, 0, head.length)).isEqualTo(RequestParser.Result.COMPLETE);
            assertThat(p.path()).as(path).isEqualTo(path);
        }
        assertThat(decidable).as("the test reaches its subject").isGreaterThan(1_000);
    }

    @Test
    void refusesWhatTheParserWouldDecodeOrNormalise() {
        for (String p : new String[] {
            "",
            "a",
            "/a//b",
            "/a/./b",
            "/a/../b",
            "/.x",
            "/a%20b",
            "/a b",
            "/ä",
            "/a?b",
            "/" + "x".repeat(Datapath.PATH_KEY_SIZE)
        }) {
            assertThat(LocalPaths.decidable(p)).as(p).isFalse();
        }
        assertThat(LocalPaths.decidable("/p/n1/1k.bin")).isTrue();
        assertThat(LocalPaths.decidable("/")).isTrue();
    }
}
