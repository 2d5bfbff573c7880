/**
 * The testbed: a baton cluster on one machine, in network namespaces, for the demo and the
 * end-to-end tests (docs/ARCHITECTURE.md, "The testbed").
 *
 * <pre>
 *  baton-client (curl)  --veth--  baton-router  --TUN baton-wN--  [baton node N]  --TUN baton-tN--  baton-nN (web server)
 * </pre>
 *
 * <ul>
 *   <li>{@link dev.baton.testbed.Testbed}: {@code up(Spec)}, {@code down()}, {@code stats()},
 *       {@code exec(netns, argv, timeout)}, {@code description()}.
 *   <li>{@link dev.baton.testbed.Names}: every namespace, device, address and timeout.
 *   <li>{@link dev.baton.testbed.ContentMap} and {@link dev.baton.testbed.SampleContent}: who holds
 *       which file (claim 25), scanned from {@code DIR/n1, DIR/n2 ...} or generated.
 *   <li>{@link dev.baton.testbed.NginxConfig}: nginx per node, with a fallback proxy to the holder.
 *   <li>{@link dev.baton.testbed.Client} (curl in the client namespace) and
 *       {@link dev.baton.testbed.NetCounters} (the kernel's TCP counters that expose a bad rewrite).
 *   <li>{@link dev.baton.testbed.LoadMix} (a seeded plan of mixed-size requests to random entry
 *       nodes), {@link dev.baton.testbed.LoadClient} (runs it, checking every response byte-exact),
 *       {@link dev.baton.testbed.LoadRun} (runs it from the client namespace and adds the nodes'
 *       counter changes).
 *   <li>{@link dev.baton.testbed.TestbedCommand} ({@code baton testbed up|down|stats|load}) and
 *       {@link dev.baton.testbed.DemoCommand} ({@code baton demo}).
 * </ul>
 *
 * Not supported: IPv6 (switched off in every testbed namespace), more than one client, several
 * testbeds at once on one machine (the names are fixed, and {@code up} removes every
 * {@code baton-*} namespace it finds), running without root.
 */
package dev.baton.testbed;
