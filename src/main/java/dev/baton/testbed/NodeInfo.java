package dev.baton.testbed;

import java.nio.file.Path;

/**
 * One node of a running testbed.
 *
 * @param number 1-based node number
 * @param name {@code n1} ...
 * @param netns its namespace, {@code baton-n1}
 * @param ip its address, {@code 10.200.1.1}
 * @param port the service port
 * @param wireDevice its wire-side TUN (in the router namespace), {@code baton-w1}
 * @param kernelDevice its kernel-side TUN (in its own namespace), {@code baton-t1}
 * @param docroot its document root
 * @param adminSocket the node process's admin socket
 * @param log the node process's stdout and stderr
 */
public record NodeInfo(
        int number,
        String name,
        String netns,
        String ip,
        int port,
        String wireDevice,
        String kernelDevice,
        Path docroot,
        Path adminSocket,
        Path log) {

    /** The node numbered {@code number} with its files under {@code stateDir}. */
    public static NodeInfo of(int number, Path docroot, Path stateDir) {
        String name = Names.nodeName(number);
        return new NodeInfo(
                number,
                name,
                Names.nodeNetns(number),
                Names.nodeIp(number),
                Names.SERVICE_PORT,
                Names.wireDevice(number),
                Names.kernelDevice(number),
                docroot,
                stateDir.resolve("node-" + name + ".sock"),
                stateDir.resolve("node-" + name + ".log"));
    }

    /** {@code http://10.200.1.1} (port 80 omitted). */
    public String baseUrl() {
        return port == 80 ? "http://" + ip : "http://" + ip + ":" + port;
    }
}
