package dev.baton.datapath;

/**
 * Which paths the programs may decide themselves (src/main/bpf/baton.bpf.c, {@code request_is_local}):
 * those whose bytes as a client sends them are the path the request parser routes on, with nothing
 * to decode or normalise. The programs read a request line's path the same way and look it up.
 */
public final class LocalPaths {
    private LocalPaths() {}

    /** Whether {@code path} can be decided in the kernel: "/", then [A-Za-z0-9._~/-], no "//" or "/.". */
    public static boolean decidable(String path) {
        if (path == null || path.isEmpty() || path.charAt(0) != '/' || path.length() >= Datapath.PATH_KEY_SIZE) {
            return false;
        }
        for (int i = 0; i < path.length(); i++) {
            char ch = path.charAt(i);
            boolean ok = (ch >= 'a' && ch <= 'z')
                    || (ch >= 'A' && ch <= 'Z')
                    || (ch >= '0' && ch <= '9')
                    || ch == '/'
                    || ch == '-'
                    || ch == '.'
                    || ch == '_'
                    || ch == '~';
            if (!ok || (i > 0 && path.charAt(i - 1) == '/' && (ch == '/' || ch == '.'))) return false;
        }
        return true;
    }
}
