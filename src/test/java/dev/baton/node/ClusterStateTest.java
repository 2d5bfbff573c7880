package dev.baton.node;

import static org.assertj.core.api.Assertions.assertThat;

import dev.baton.route.Member;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class ClusterStateTest {
    private static final int LOOPBACK = 0x7f000001;

    private final AtomicInteger ownLoad = new AtomicInteger(3);

    private ClusterState state(List<String> ownPaths) {
        return new ClusterState(
                new Member("n1", LOOPBACK),
                List.of(new Member("n3", LOOPBACK + 3), new Member("n2", LOOPBACK + 2), new Member("n4", LOOPBACK + 4)),
                ownPaths,
                ownLoad::get);
    }

    @Test
    void indexesOwnPathsAtConstruction() {
        ClusterState s = state(List.of("/n1/a.txt", "/shared/x.css"));

        assertThat(s.self()).isEqualTo("n1");
        assertThat(s.ownPaths()).containsExactly("/n1/a.txt", "/shared/x.css");
        assertThat(s.holders("/n1/a.txt")).containsExactly("n1");
        assertThat(s.holders("/n1/new.txt")).containsExactly("n1");
        assertThat(s.index().exactHolders("/shared/x.css")).containsExactly("n1");
        assertThat(s.holders("/n2/a.txt")).isEmpty();
    }

    @Test
    void knowsItsMembers() {
        ClusterState s = state(List.of());

        assertThat(s.selfMember()).isEqualTo(new Member("n1", LOOPBACK));
        assertThat(s.member("n2")).isEqualTo(new Member("n2", LOOPBACK + 2));
        assertThat(s.member("n9")).isNull();
    }

    @Test
    void chunkedAnnouncementTakesEffectOnlyWhenItsLastChunkArrives() {
        ClusterState s = state(List.of("/n1/a.txt"));

        s.content("n2", true, false, List.of("/n2/a.txt"));
        s.content("n2", false, false, List.of("/n2/b.txt"));
        assertThat(s.holders("/n2/a.txt")).isEmpty();
        assertThat(s.holders("/n2/b.txt")).isEmpty();

        s.content("n2", false, true, List.of("/n2/c.txt"));
        assertThat(s.index().exactHolders("/n2/a.txt")).containsExactly("n2");
        assertThat(s.index().exactHolders("/n2/b.txt")).containsExactly("n2");
        assertThat(s.index().exactHolders("/n2/c.txt")).containsExactly("n2");
        assertThat(s.holders("/n1/a.txt")).containsExactly("n1");
    }

    @Test
    void singleChunkAnnouncementTakesEffectAtOnce() {
        ClusterState s = state(List.of("/shared/x.css"));

        s.content("n2", true, true, List.of("/shared/x.css"));

        assertThat(s.holders("/shared/x.css")).containsExactly("n1", "n2");
    }

    @Test
    void firstChunkReplacesThePreviousSet() {
        ClusterState s = state(List.of());
        s.content("n2", true, true, List.of("/old/a.txt", "/old/b.txt"));

        s.content("n2", true, false, List.of("/new/a.txt"));
        assertThat(s.holders("/old/a.txt"))
                .as("the old set holds until the new one is complete")
                .containsExactly("n2");
        s.content("n2", false, true, List.of("/new/b.txt"));

        assertThat(s.holders("/old/a.txt")).isEmpty();
        assertThat(s.holders("/new/b.txt")).containsExactly("n2");
    }

    @Test
    void firstChunkAbandonsAnAnnouncementInProgress() {
        ClusterState s = state(List.of());

        s.content("n2", true, false, List.of("/abandoned.txt"));
        s.content("n2", true, true, List.of("/kept.txt"));

        assertThat(s.holders("/kept.txt")).containsExactly("n2");
        assertThat(s.holders("/abandoned.txt")).isEmpty();
    }

    @Test
    void peersAnnouncementsInterleaveWithoutMixing() {
        ClusterState s = state(List.of());

        s.content("n2", true, false, List.of("/two/a.txt"));
        s.content("n3", true, false, List.of("/three/a.txt"));
        s.content("n2", false, true, List.of("/two/b.txt"));
        assertThat(s.holders("/three/a.txt")).isEmpty();
        s.content("n3", false, true, List.of("/three/b.txt"));

        assertThat(s.index().exactHolders("/two/a.txt")).containsExactly("n2");
        assertThat(s.index().exactHolders("/three/a.txt")).containsExactly("n3");
        assertThat(s.index().exactHolders("/two/b.txt")).containsExactly("n2");
    }

    @Test
    void upAndDownFlowIntoIsUp() {
        ClusterState s = state(List.of());

        assertThat(s.isUp("n1")).as("self is always up").isTrue();
        assertThat(s.isUp("n2")).as("not up until its channel is").isFalse();
        s.peerUp("n2");
        assertThat(s.isUp("n2")).isTrue();
        s.peerDown("n2");
        assertThat(s.isUp("n2")).isFalse();
        s.peerDown("n1");
        assertThat(s.isUp("n1")).isTrue();
        assertThat(s.isUp("stranger")).isFalse();
    }

    @Test
    void reportedLoadsFlowIntoLoad() {
        ClusterState s = state(List.of());

        s.load("n2", 17, false);
        assertThat(s.load("n2")).isEqualTo(17);
        s.load("n2", 4, false);
        assertThat(s.load("n2")).isEqualTo(4);
    }

    @Test
    void drainingFollowsEachPeersLastHeartbeatAndThisNodesCommand() {
        ClusterState s = state(List.of());
        assertThat(s.isDraining("n2")).isFalse();
        s.load("n2", 3, true);
        assertThat(s.isDraining("n2")).isTrue();
        assertThat(s.peersDraining()).containsExactly("n2");
        s.load("n2", 3, false);
        assertThat(s.isDraining("n2")).isFalse();
        assertThat(s.isDraining("n1")).isFalse();
        s.draining(true);
        assertThat(s.isDraining("n1")).isTrue();
        assertThat(s.peersDraining()).as("only peers").isEmpty();
    }

    @Test
    void ownLoadIsReadLive() {
        ClusterState s = state(List.of());

        assertThat(s.load("n1")).isEqualTo(3);
        ownLoad.set(40);
        assertThat(s.load("n1")).isEqualTo(40);
    }

    @Test
    void loadOfANodeThatNeverReportedIsLargeButDoesNotOverflowWhenAdded() {
        ClusterState s = state(List.of());
        s.load("n2", 1_000_000, false);

        int unknown = s.load("n3");
        assertThat(unknown).isGreaterThan(s.load("n2")).isGreaterThan(1_000_000);
        assertThat(unknown + unknown).isPositive();
        assertThat(s.load("stranger")).isEqualTo(unknown);
    }

    @Test
    void peersUpIsSortedAndExcludesSelf() {
        ClusterState s = state(List.of());
        assertThat(s.peersUp()).isEmpty();

        s.peerUp("n4");
        s.peerUp("n2");
        s.peerUp("n3");
        assertThat(s.peersUp()).containsExactly("n2", "n3", "n4");

        s.peerDown("n3");
        assertThat(s.peersUp()).containsExactly("n2", "n4");
    }

    @Test
    void peersUpListsOnlyMembers() {
        ClusterState s = state(List.of());

        s.peerUp("stranger");

        assertThat(s.peersUp()).isEmpty();
    }

    // ---- the bound on an announcement in progress

    private static List<String> copies(int n) {
        return Collections.nCopies(n, "/flood.bin");
    }

    @Test
    void announcementOfExactlyMaxFilesIsAccepted() {
        ClusterState s = state(List.of());
        int half = DocumentRoot.MAX_FILES / 2;

        s.content("n2", true, false, copies(half));
        s.content("n2", false, true, copies(DocumentRoot.MAX_FILES - half));

        assertThat(s.droppedAnnouncements()).isZero();
        assertThat(s.holders("/flood.bin")).containsExactly("n2");
    }

    @Test
    void endlessNonLastChunksAreDroppedAndIgnoredUntilTheNextFirst() {
        ClusterState s = state(List.of());
        s.content("n2", true, true, List.of("/before.txt"));
        int chunk = DocumentRoot.MAX_FILES / 3 + 1;

        s.content("n2", true, false, copies(chunk));
        s.content("n2", false, false, copies(chunk));
        assertThat(s.droppedAnnouncements()).isZero();
        s.content("n2", false, false, copies(chunk));
        assertThat(s.droppedAnnouncements()).isEqualTo(1);

        s.content("n2", false, false, copies(chunk));
        s.content("n2", false, false, List.of("/ignored.txt"));
        s.content("n2", false, true, List.of("/also-ignored.txt"));
        assertThat(s.droppedAnnouncements()).as("counted once per announcement").isEqualTo(1);
        assertThat(s.holders("/flood.bin")).isEmpty();
        assertThat(s.holders("/ignored.txt")).isEmpty();
        assertThat(s.holders("/also-ignored.txt")).isEmpty();
        assertThat(s.holders("/before.txt")).as("the last complete set stays").containsExactly("n2");

        s.content("n2", true, false, List.of("/after/a.txt"));
        s.content("n2", false, true, List.of("/after/b.txt"));
        assertThat(s.holders("/after/a.txt")).containsExactly("n2");
        assertThat(s.holders("/after/b.txt")).containsExactly("n2");
        assertThat(s.holders("/before.txt")).isEmpty();
    }

    @Test
    void oversizedLastChunkDropsTheAnnouncement() {
        ClusterState s = state(List.of());
        s.content("n2", true, true, List.of("/before.txt"));

        s.content("n2", true, false, copies(DocumentRoot.MAX_FILES));
        s.content("n2", false, true, List.of("/one-too-many.txt"));

        assertThat(s.droppedAnnouncements()).isEqualTo(1);
        assertThat(s.holders("/one-too-many.txt")).isEmpty();
        assertThat(s.holders("/before.txt")).containsExactly("n2");
    }

    @Test
    void oneFloodingPeerDoesNotDisturbAnother() {
        ClusterState s = state(List.of());

        s.content("n3", true, false, List.of("/three/a.txt"));
        s.content("n2", true, false, copies(DocumentRoot.MAX_FILES + 1));
        s.content("n3", false, true, List.of("/three/b.txt"));

        assertThat(s.droppedAnnouncements()).isEqualTo(1);
        assertThat(s.index().exactHolders("/three/a.txt")).containsExactly("n3");
        assertThat(s.index().exactHolders("/three/b.txt")).containsExactly("n3");
    }
}
