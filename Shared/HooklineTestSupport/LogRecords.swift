import Logging
import Synchronization

/// Every record logged through its ``logger(label:)``, for tests that check what a component logs.
package final class LogRecords: Sendable {
    package struct Record: Sendable {
        package var level: Logger.Level
        package var message: String
        package var metadata: [String: String]
    }

    private let storage = Mutex<[Record]>([])

    package init() {}

    /// A logger at `trace` whose records are kept here.
    package func logger(label: String = "hookline.test.recorded") -> Logger {
        Logger(label: label) { _ in RecordingLogHandler(records: self) }
    }

    package var all: [Record] { self.storage.withLock { $0 } }

    fileprivate func append(_ record: Record) {
        self.storage.withLock { $0.append(record) }
    }
}

/// The handler behind ``LogRecords/logger(label:)``.
struct RecordingLogHandler: LogHandler {
    let records: LogRecords
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { self.metadata[key] }
        set { self.metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let merged = self.metadata.merging(event.metadata ?? [:]) { $1 }
        self.records.append(.init(level: event.level, message: "\(event.message)", metadata: merged.mapValues { "\($0)" }))
    }
}
