package dev.baton.route;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ContentAwarePolicyTest {
    private final ContentAwarePolicy policy = new ContentAwarePolicy();

    private static RequestInfo get(String path) {
        return new RequestInfo("GET", path, "example.test");
    }

    @Test
    void isNamedContent() {
        assertThat(policy.name()).isEqualTo("content");
    }

    @Test
    void servesLocallyWhenThisNodeHoldsThePath() {
        FakeCluster c = new FakeCluster("n1").up("n1", 100).up("n2", 0).content(Map.of("n1", List.of("/a.txt")));

        assertThat(policy.choose(get("/a.txt"), c)).isEqualTo("n1");
    }

    @Test
    void servesLocallyWhenHeldHereEvenIfALessLoadedPeerAlsoHoldsIt() {
        FakeCluster c = new FakeCluster("n2")
                .up("n2", 1000)
                .up("n1", 0)
                .up("n3", 0)
                .content(Map.of("n1", List.of("/a.txt"), "n2", List.of("/a.txt"), "n3", List.of("/a.txt")));

        assertThat(policy.choose(get("/a.txt"), c)).isEqualTo("n2");
    }

    @Test
    void handsOffToTheLeastLoadedHolder() {
        FakeCluster c = new FakeCluster("n1")
                .up("n2", 7)
                .up("n3", 2)
                .up("n4", 5)
                .content(Map.of(
                        "n2",
                        List.of("/r.bin"),
                        "n3",
                        List.of("/r.bin"),
                        "n4",
                        List.of("/r.bin"),
                        "n1",
                        List.of("/other.txt")));

        assertThat(policy.choose(get("/r.bin"), c)).isEqualTo("n3");
    }

    @Test
    void handsOffToTheOnlyHolderOfADirectoryForAnUnannouncedFile() {
        FakeCluster c = new FakeCluster("n1").up("n2", 3).content(Map.of("n2", List.of("/n2/uploads/old.bin")));

        assertThat(policy.choose(new RequestInfo("PUT", "/n2/uploads/new.bin", null), c))
                .isEqualTo("n2");
    }

    @Test
    void aDrainingHolderIsPassedOverForOneThatIsNot() {
        FakeCluster c = new FakeCluster("n1")
                .up("n2", 0)
                .up("n3", 90)
                .draining("n2")
                .content(Map.of("n2", List.of("/r.bin"), "n3", List.of("/r.bin")));

        assertThat(policy.choose(get("/r.bin"), c)).as("n3, though busier").isEqualTo("n3");
    }

    @Test
    void aDrainingHolderStillGetsWhatNobodyElseCanServe() {
        FakeCluster c = new FakeCluster("n1")
                .up("n2", 0)
                .up("n3", 0)
                .draining("n2")
                .draining("n3")
                .content(Map.of("n2", List.of("/only-n2.bin"), "n3", List.of("/r.bin"), "n1", List.of("/mine.txt")));

        assertThat(policy.choose(get("/only-n2.bin"), c)).isEqualTo("n2");
        c.up("n2", 5).up("n3", 1).content(Map.of("n2", List.of("/r.bin"), "n3", List.of("/r.bin")));
        assertThat(policy.choose(get("/r.bin"), c))
                .as("least loaded among the draining")
                .isEqualTo("n3");
    }

    @Test
    void aDrainingEntryHandsOffWhatAnotherHolderCanServe() {
        FakeCluster c = new FakeCluster("n1")
                .up("n2", 500)
                .draining("n1")
                .content(Map.of("n1", List.of("/r.bin", "/mine.txt"), "n2", List.of("/r.bin")));

        assertThat(policy.choose(get("/r.bin"), c)).isEqualTo("n2");
        assertThat(policy.choose(get("/mine.txt"), c))
                .as("only here: served here")
                .isEqualTo("n1");
        c.down("n2", 0);
        assertThat(policy.choose(get("/r.bin"), c))
                .as("the other holder is down")
                .isEqualTo("n1");
        c.up("n2", 0).draining("n2");
        assertThat(policy.choose(get("/r.bin"), c))
                .as("both draining: rare handoff")
                .isEqualTo("n1");
    }

    @Test
    void skipsHoldersWhoseControlChannelIsDown() {
        FakeCluster c = new FakeCluster("n1")
                .down("n2", 0)
                .up("n3", 50)
                .content(Map.of("n2", List.of("/r.bin"), "n3", List.of("/r.bin")));

        assertThat(policy.choose(get("/r.bin"), c)).isEqualTo("n3");
    }

    @Test
    void servesLocallyWhenEveryHolderIsDown() {
        FakeCluster c = new FakeCluster("n1")
                .down("n2", 0)
                .down("n3", 0)
                .content(Map.of("n2", List.of("/r.bin"), "n3", List.of("/r.bin")));

        assertThat(policy.choose(get("/r.bin"), c)).isEqualTo("n1");
    }

    @Test
    void servesLocallyWhenNobodyHoldsThePath() {
        FakeCluster c = new FakeCluster("n1").up("n2", 0).content(Map.of("n2", List.of("/n2/a.txt")));

        assertThat(policy.choose(get("/elsewhere/b.txt"), c)).isEqualTo("n1");
    }

    @Test
    void servesLocallyWhenThePathCannotBeRouted() {
        FakeCluster c = new FakeCluster("n1").up("n2", 0).content(Map.of("n2", List.of("/a.txt")));

        assertThat(policy.choose(new RequestInfo("GET", null, null), c)).isEqualTo("n1");
    }

    @Test
    void breaksTiesByTheFirstHolderInNameOrder() {
        FakeCluster c = new FakeCluster("n1")
                .up("n3", 4)
                .up("n2", 4)
                .content(Map.of("n3", List.of("/r.bin"), "n2", List.of("/r.bin")));

        assertThat(policy.choose(get("/r.bin"), c)).isEqualTo("n2");
    }

    @Test
    void localPolicyAlwaysServesHere() {
        LocalPolicy local = new LocalPolicy();
        FakeCluster c = new FakeCluster("n1").up("n2", 0).content(Map.of("n2", List.of("/a.txt")));

        assertThat(local.name()).isEqualTo("local");
        assertThat(local.choose(get("/a.txt"), c)).isEqualTo("n1");
        assertThat(local.choose(get(null), c)).isEqualTo("n1");
    }

    @Test
    void memberNeedsAName() {
        assertThatThrownBy(() -> new Member(" ", 0x7f000001)).isInstanceOf(IllegalArgumentException.class);
        assertThat(new Member("n1", 0x7f000001)).hasToString("n1@127.0.0.1");
    }
}
