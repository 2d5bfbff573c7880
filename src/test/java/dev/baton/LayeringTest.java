package dev.baton;

import static com.tngtech.archunit.base.DescribedPredicate.not;
import static com.tngtech.archunit.core.domain.JavaCall.Predicates.target;
import static com.tngtech.archunit.core.domain.JavaClass.Predicates.resideInAPackage;
import static com.tngtech.archunit.core.domain.properties.HasName.Predicates.name;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.classes;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;

import com.tngtech.archunit.base.DescribedPredicate;
import com.tngtech.archunit.core.domain.JavaClass;
import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.lang.ArchRule;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.SymbolLookup;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The layering of docs/ARCHITECTURE.md, checked on the compiled product classes: a change that
 * crosses a wall fails the build here, not in a review.
 */
class LayeringTest {
    private static JavaClasses product;

    @BeforeAll
    static void importProduct() {
        product = new ClassFileImporter()
                .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
                .importPackages("dev.baton");
        // An import that found nothing would pass every rule below.
        if (product.size() < 100) throw new AssertionError("only " + product.size() + " classes imported");
    }

    private static void check(ArchRule rule) {
        rule.check(product);
    }

    /** Packet views and checksums: nothing of ours below them (smoltcp's {@code wire}). */
    @Test
    void theWireLayerImportsNothingOfOurs() {
        check(noClasses()
                .that()
                .resideInAPackage("dev.baton.wire..")
                .should()
                .dependOnClassesThat(ours().and(not(resideInAPackage("dev.baton.wire..")))));
    }

    @Test
    void theRequestParserImportsNothingOfOurs() {
        check(noClasses()
                .that()
                .resideInAPackage("dev.baton.http..")
                .should()
                .dependOnClassesThat(ours().and(not(resideInAPackage("dev.baton.http..")))));
    }

    /** Downcalls, upcalls, symbol lookups and {@code reinterpret}: the JDK's restricted methods. */
    @Test
    void onlySysTouchesNativeCode() {
        check(noClasses()
                .that()
                .resideOutsideOfPackage("dev.baton.sys..")
                .should()
                .dependOnClassesThat()
                .belongToAnyOf(Linker.class, SymbolLookup.class, FunctionDescriptor.class)
                .orShould()
                .callMethodWhere(target(name("reinterpret"))));
    }

    /** The engine defines what it needs of its neighbours (Peer, Refusal, FastPath, the outputs). */
    @Test
    void theEngineImportsNeitherTheControlChannelNorTheRouterNorTheNode() {
        check(noClasses()
                .that()
                .resideInAPackage("dev.baton.btcp..")
                .should()
                .dependOnClassesThat()
                .resideInAnyPackage(
                        "dev.baton.control..",
                        "dev.baton.route..",
                        "dev.baton.datapath..",
                        "dev.baton.node..",
                        "dev.baton.config..",
                        "dev.baton.server..",
                        "dev.baton.fault..",
                        "dev.baton.sys..",
                        "dev.baton.cli..",
                        "dev.baton.testbed..",
                        "dev.baton.bench.."));
    }

    @Test
    void theControlChannelAndTheRouterKnowNothingOfTheEngine() {
        check(noClasses()
                .that()
                .resideInAnyPackage("dev.baton.control..", "dev.baton.route..", "dev.baton.http..")
                .should()
                .dependOnClassesThat()
                .resideInAnyPackage("dev.baton.btcp..", "dev.baton.datapath..", "dev.baton.node.."));
    }

    /**
     * The testbed and the bench drive the product from outside, from a jar of their own
     * ({@code baton-testbed.jar}): the product's jar, which holds neither, must not need them.
     */
    @Test
    void nothingInTheProductUsesTheTestbedOrTheBench() {
        check(noClasses()
                .that()
                .resideOutsideOfPackages("dev.baton.testbed..", "dev.baton.bench..", "dev.baton.tools..")
                .should()
                .dependOnClassesThat()
                .resideInAnyPackage("dev.baton.testbed..", "dev.baton.bench..", "dev.baton.tools.."));
    }

    @Test
    void theAdminClientLivesWithItsServer() {
        check(classes()
                .that()
                .haveSimpleNameStartingWith("Admin")
                .and()
                .haveSimpleNameNotStartingWith("AdminCommand")
                .and()
                .haveSimpleNameNotStartingWith("AdminTarget")
                .should()
                .resideInAPackage("dev.baton.node"));
    }

    @Test
    void thePackagesFormNoCycle() {
        check(slices().matching("dev.baton.(*)..").should().beFreeOfCycles());
    }

    private static DescribedPredicate<JavaClass> ours() {
        return resideInAPackage("dev.baton..");
    }
}
