import Dispatch
import Foundation
import Synchronization

/// Ctrl-C, SIGTERM and SIGHUP, once watched, are remembered instead of ending the process, so a
/// command stops where it is safe (a redrive after the dead letter being sent, with its progress
/// recorded and the group left). A second one ends the process as usual.
final class Interruption: Sendable {
    private let received = Mutex<String?>(nil)

    /// The first signal received, by name.
    var signalName: String? { self.received.withLock { $0 } }

    private init() {}

    /// Starts watching; for the rest of the process.
    static func watch() -> Interruption {
        let interruption = Interruption()
        for (number, name) in [(SIGINT, "SIGINT"), (SIGTERM, "SIGTERM"), (SIGHUP, "SIGHUP")] {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler {
                let first = interruption.received.withLock { received in
                    defer { received = received ?? name }
                    return received == nil
                }
                if !first {
                    signal(number, SIG_DFL)
                    raise(number)
                }
            }
            source.resume()
            Self.sources.append(source)
        }
        return interruption
    }

    /// The sources watching, kept for the life of the process. Written only by `watch()`, once,
    /// before any concurrent work of the command.
    nonisolated(unsafe) private static var sources: [any DispatchSourceSignal] = []
}
