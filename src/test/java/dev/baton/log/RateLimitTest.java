package dev.baton.log;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.joran.JoranConfigurator;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import ch.qos.logback.core.status.Status;
import ch.qos.logback.core.status.StatusUtil;
import org.junit.jupiter.api.Test;

/** Warnings of one kind are held to a burst per window, and the next one says how many were held. */
class RateLimitTest {
    @Test
    void theShippedConfigurationLoadsCleanlyWithTheLimitInPlace() throws Exception {
        LoggerContext context = new LoggerContext();
        JoranConfigurator configurator = new JoranConfigurator();
        configurator.setContext(context);
        configurator.doConfigure(RateLimitTest.class.getResource("/logback.xml"));
        var status = new StatusUtil(context);
        assertThat(status.getHighestLevel(0))
                .as(context.getStatusManager().getCopyOfStatusList().toString())
                .isLessThan(Status.WARN);
        assertThat(context.getTurboFilterList()).hasAtLeastOneElementOfType(RateLimit.class);
        assertThat(context.getLogger("dev.baton").getLevel()).isEqualTo(Level.INFO);
        assertThat(context.getLogger(Logger.ROOT_LOGGER_NAME).getAppender("STDERR"))
                .isNotNull();
    }

    @Test
    void holdsBackABurstAndSaysSoWhenTheWindowReopens() throws Exception {
        LoggerContext context = new LoggerContext();
        RateLimit limit = new RateLimit();
        limit.setBurst(3);
        limit.setWindowMillis(200);
        limit.setContext(context);
        limit.start();
        context.addTurboFilter(limit);
        ListAppender<ILoggingEvent> seen = new ListAppender<>();
        seen.setContext(context);
        seen.start();
        Logger log = context.getLogger("dev.baton.test");
        log.addAppender(seen);
        log.setLevel(Level.DEBUG);

        for (int i = 0; i < 20; i++) log.warn("peer {} misbehaves", i);
        for (int i = 0; i < 10; i++) log.warn("another kind {}", i);
        for (int i = 0; i < 10; i++) log.info("info is never held {}", i);
        assertThat(seen.list).filteredOn(e -> e.getMessage().startsWith("peer")).hasSize(3);
        assertThat(seen.list)
                .filteredOn(e -> e.getMessage().startsWith("another"))
                .hasSize(3);
        assertThat(seen.list).filteredOn(e -> e.getLevel() == Level.INFO).hasSize(10);

        Thread.sleep(250);
        log.warn("peer {} misbehaves", 99);
        var last = seen.list.subList(seen.list.size() - 2, seen.list.size());
        assertThat(last.get(0).getFormattedMessage())
                .isEqualTo("17 more like the next were held back (at most 3 per 200 ms)");
        assertThat(last.get(1).getFormattedMessage()).isEqualTo("peer 99 misbehaves");
    }
}
