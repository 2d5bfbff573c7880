package dev.baton.testbed;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.baton.testbed.LoadMix.Request;
import dev.baton.testbed.LoadMix.SizeClass;
import dev.baton.testbed.LoadMix.Target;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;
import org.assertj.core.groups.Tuple;
import org.junit.jupiter.api.Test;

class LoadMixTest {
    static final long MIB = 1024 * 1024;

    /** The four-node sample content's map, without writing 50 MiB: sizes and holders are what matter here. */
    static ContentMap sample(int nodes) {
        List<ContentEntry> entries = new ArrayList<>();
        for (SampleContent.SampleFile f : SampleContent.files(nodes)) {
            entries.add(new ContentEntry(
                    f.path(),
                    f.bytes(),
                    "sha-of-" + f.path(),
                    f.holders().stream().map(Names::nodeName).toList()));
        }
        return ContentMap.of(entries);
    }

    static List<Target> targets(int nodes) {
        return IntStream.rangeClosed(1, nodes)
                .mapToObj(n -> new Target(Names.nodeName(n), Names.nodeIp(n), 80))
                .toList();
    }

    @Test
    void theSameSeedGivesTheSamePlanAndAnotherSeedAnother() {
        ContentMap content = sample(4);
        List<Request> a = LoadMix.standard().plan(content, targets(4), 500, 42);
        List<Request> b = LoadMix.standard().plan(content, targets(4), 500, 42);
        List<Request> c = LoadMix.standard().plan(content, targets(4), 500, 43);
        assertThat(a).isEqualTo(b);
        assertThat(a).isNotEqualTo(c);
        assertThat(a)
                .extracting(Request::index)
                .containsExactlyElementsOf(IntStream.range(0, 500).boxed().toList());
    }

    @Test
    void standardMixOfTwoThousandRequestsOnFourNodesCoversZeroTo8MiBInAReasonableTotal() {
        List<Request> plan = LoadMix.standard().plan(sample(4), targets(4), 2000, 1);
        Map<Long, Integer> bySize = new HashMap<>();
        plan.forEach(r -> bySize.merge(r.expected().bytes(), 1, Integer::sum));
        // Every rung of the ladder is asked for, 0 B and 8 MiB included, and nothing larger.
        assertThat(bySize).containsKeys(0L, 1L, 100L, 1024L, 10 * 1024L, 100 * 1024L, MIB, 8 * MIB);
        assertThat(bySize.keySet()).allMatch(size -> size <= 8 * MIB);
        // Most are small, a few are 8 MiB, and the whole run moves 150-300 MiB.
        long small =
                plan.stream().filter(r -> r.expected().bytes() <= 100 * 1024).count();
        assertThat(small).isGreaterThan(1700);
        assertThat(bySize.get(8 * MIB)).isBetween(3, 20);
        assertThat(LoadMix.bytes(plan)).isBetween(150 * MIB, 300 * MIB);
    }

    @Test
    void classesAreDrawnByWeightAndEntriesUniformly() {
        LoadMix mix = new LoadMix(List.of(new SizeClass("small", 10, 3), new SizeClass("large", 1000, 1)));
        ContentMap content = ContentMap.of(List.of(
                entry("/s1", 5, "n1"), entry("/s2", 10, "n2"), entry("/l", 1000, "n1"), entry("/huge", 1001, "n1")));
        List<Request> plan = mix.plan(content, targets(4), 40_000, 7);
        long large = plan.stream().filter(r -> r.expected().path().equals("/l")).count();
        assertThat(large).as("a quarter of the weight").isBetween(9_600L, 10_400L);
        long s1 = plan.stream().filter(r -> r.expected().path().equals("/s1")).count();
        assertThat(s1).as("half of the small class").isBetween(14_500L, 15_500L);
        assertThat(plan).noneMatch(r -> r.expected().path().equals("/huge"));
        for (int n = 1; n <= 4; n++) {
            String name = Names.nodeName(n);
            assertThat(plan.stream().filter(r -> r.entry().name().equals(name)).count())
                    .isBetween(9_600L, 10_400L);
        }
    }

    @Test
    void emptyClassesAreLeftOutAndTheOthersKeepTheirWeights() {
        LoadMix mix = new LoadMix(
                List.of(new SizeClass("zero", 0, 900), new SizeClass("small", 10, 1), new SizeClass("big", 100, 1)));
        ContentMap content = ContentMap.of(List.of(entry("/s", 5, "n1"), entry("/b", 50, "n1")));
        List<Request> plan = mix.plan(content, targets(1), 10_000, 3);
        long small = plan.stream().filter(r -> r.expected().path().equals("/s")).count();
        assertThat(small).isBetween(4_700L, 5_300L);
    }

    @Test
    void refusesAMixThatMatchesNoFileAndAPlanWithoutEntries() {
        LoadMix tiny = new LoadMix(List.of(new SizeClass("tiny", 1, 1)));
        ContentMap content = ContentMap.of(List.of(entry("/b", 50, "n1")));
        assertThatThrownBy(() -> tiny.plan(content, targets(1), 1, 1)).hasMessageContaining("no file");
        assertThatThrownBy(() -> LoadMix.standard().plan(content, List.of(), 1, 1))
                .hasMessageContaining("entry");
        assertThatThrownBy(() -> new LoadMix(List.of(new SizeClass("a", 10, 1), new SizeClass("b", 10, 1))))
                .hasMessageContaining("increasing");
    }

    @Test
    void remoteMeansTheEntryDoesNotHoldTheFileAndIsAboutThreeQuartersOnFourNodes() {
        List<Request> plan = LoadMix.standard().plan(sample(4), targets(4), 2000, 1);
        for (Request r : plan) {
            assertThat(r.remote())
                    .isEqualTo(!r.expected().holders().contains(r.entry().name()));
        }
        // Mostly single-holder files: a random entry misses three times in four, a little less for replicas.
        assertThat(LoadMix.remote(plan) / 2000.0).isBetween(0.68, 0.76);
    }

    @Test
    void parsesAndWritesMixSpecs() {
        LoadMix standard = LoadMix.standard();
        assertThat(standard.spec()).isEqualTo("0=30,100=150,1k=220,10k=260,100k=280,1m=52,8m=8");
        assertThat(LoadMix.parse(standard.spec()).classes())
                .extracting(SizeClass::maxBytes, SizeClass::weight)
                .containsExactlyElementsOf(standard.classes().stream()
                        .map(c -> Tuple.tuple(c.maxBytes(), c.weight()))
                        .toList());
        assertThat(LoadMix.parse("0=1, 2K=3").classes())
                .extracting(SizeClass::maxBytes)
                .containsExactly(0L, 2048L);
        assertThatThrownBy(() -> LoadMix.parse("1k")).hasMessageContaining("BOUND=WEIGHT");
        assertThatThrownBy(() -> LoadMix.parse("1x=2")).hasMessageContaining("BOUND=WEIGHT");
        assertThatThrownBy(() -> LoadMix.parse("1k=2,1=2")).hasMessageContaining("increasing");
    }

    static ContentEntry entry(String path, long bytes, String... holders) {
        return new ContentEntry(path, bytes, "sha-of-" + path, List.of(holders));
    }
}
