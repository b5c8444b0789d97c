import HooklineConfig
import Logging
import NIOCore

/// The process's limit on open file descriptors, which bounds its connections.
///
/// A gateway must stop accepting before it runs out of descriptors. When `accept` fails for want
/// of one, the connection stays in the kernel's queue and the listening socket stays readable,
/// and NIO calls `accept` again at once, on every turn of the event loop: measured here, a
/// gateway at its descriptor limit with connections waiting spent a whole core doing so, and
/// NIO's `AcceptBackoffHandler` did not stop it (the channel keeps its read pending after a
/// failed accept, so the socket stays registered as readable).
enum FileDescriptorLimit {
    /// Descriptors a gateway needs besides its connections: 64 for the listening socket,
    /// librdkafka's broker connections and wake-up pipes (three a broker for each of its three
    /// clients), standard I/O and files read on a reload, and 4 for each event loop (one a core:
    /// its epoll, eventfd and timerfd).
    static var reserved: Int {
        64 + 4 * NIOSingletons.groupLoopCountSuggestion
    }

    /// How many connections a gateway may hold open: `configured` (`gateway.max_connections`),
    /// or fewer when the open-file limit does not leave room for that many, which is logged.
    /// Raises the limit first (``OpenFileLimit/raiseToHardLimit()``).
    static func connections(configured: Int, logger: Logger) -> Int {
        guard let limit = OpenFileLimit.raiseToHardLimit() else { return configured }
        let allowed = self.connections(configured: configured, openFileLimit: limit)
        guard allowed < configured else { return configured }
        logger.warning(
            "gateway.max_connections is more than the open-file limit leaves for connections; raise the limit (ulimit -n, LimitNOFILE=, --ulimit nofile=) to allow that many",
            metadata: [
                "hookline.max_connections": "\(configured)",
                "hookline.open_file_limit": "\(limit)",
                "hookline.connections_allowed": "\(allowed)",
            ]
        )
        return allowed
    }

    /// How many of `configured` connections an open-file limit leaves room for.
    static func connections(configured: Int, openFileLimit limit: Int) -> Int {
        limit - self.reserved < configured ? max(1, limit - self.reserved) : configured
    }
}
