import Glibc
import HooklineWebhooks
import Logging
import Synchronization

/// How a Hookline process writes its log lines to standard error: swift-log's text lines, or
/// one JSON object a line for a log collector.
package enum LogFormat: String, CaseIterable, Sendable {
    /// `2026-11-27T19:30:00+0000 info hookline.gateway: key=value [Module] message`
    case text
    /// `{"time":"2026-11-27T19:30:00.123Z","level":"info","logger":"hookline.gateway","message":"…","key":"value"}`
    case json

    /// The variable that chooses the format when the command line does not.
    package static let environmentVariable = "HOOKLINE_LOG_FORMAT"

    /// `explicit` if given, else `$HOOKLINE_LOG_FORMAT`, else text.
    package static func resolve(_ explicit: LogFormat?, environment: [String: String]) throws(ConfigurationError) -> LogFormat {
        if let explicit { return explicit }
        guard let value = environment[self.environmentVariable], !value.isEmpty else { return .text }
        guard let format = LogFormat(rawValue: value.lowercased()) else {
            throw ConfigurationError("\(self.environmentVariable) is '\(value)'; expected one of \(self.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return format
    }

    /// Makes `explicit`, else `$HOOKLINE_LOG_FORMAT`'s format, else text, the process's log
    /// handler. Call it once, before the first logger.
    package static func bootstrap(_ explicit: LogFormat?) throws(ConfigurationError) {
        var environment: [String: String] = [:]
        if let value = getenv(self.environmentVariable) { environment[self.environmentVariable] = String(cString: value) }
        try self.resolve(explicit, environment: environment).bootstrap()
    }

    /// Makes this format the process's log handler. Call it once, before the first logger.
    package func bootstrap() {
        switch self {
        case .text:
            LoggingSystem.bootstrap(StreamLogHandler.standardError)
        case .json:
            LoggingSystem.bootstrap { label in JSONLogHandler(label: label) }
        }
    }
}

/// One JSON object a line on standard error: `time` (UTC, milliseconds), `level`, `logger` (the
/// label), `message`, `source` (the module), then the metadata's keys, flat (a key that would
/// replace one of those five is written as `metadata.<key>`). Nested metadata become arrays and
/// objects; every other value is a string.
package struct JSONLogHandler: LogHandler {
    package var logLevel: Logger.Level = .info
    package var metadata: Logger.Metadata = [:]
    package var metadataProvider: Logger.MetadataProvider?
    let label: String
    let output: JSONLogOutput

    package init(label: String, metadataProvider: Logger.MetadataProvider? = nil, output: JSONLogOutput = .standardError) {
        self.label = label
        self.metadataProvider = metadataProvider
        self.output = output
    }

    package subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { self.metadata[key] }
        set { self.metadata[key] = newValue }
    }

    static let reserved: Set<String> = ["time", "level", "logger", "message", "source"]

    package func log(event: LogEvent) {
        var metadata = self.metadata
        if let provided = self.metadataProvider?.get() { metadata.merge(provided) { $1 } }
        if let explicit = event.metadata { metadata.merge(explicit) { $1 } }
        if let error = event.error {
            metadata["error.message"] = "\(error)"
            metadata["error.type"] = "\(String(reflecting: type(of: error)))"
        }

        var line: [UInt8] = []
        line.reserveCapacity(256)
        line.append(UInt8(ascii: "{"))
        Self.member("time", in: &line, first: true)
        Self.appendTime(to: &line)
        Self.member("level", in: &line)
        JSONText.appendQuoted(event.level.rawValue, to: &line)
        Self.member("logger", in: &line)
        JSONText.appendQuoted(self.label, to: &line)
        Self.member("message", in: &line)
        JSONText.appendQuoted(event.message.description, to: &line)
        Self.member("source", in: &line)
        JSONText.appendQuoted(event.source, to: &line)
        // Sorted, so the same event always reads the same.
        for (key, value) in metadata.sorted(by: { $0.key < $1.key }) {
            Self.member(Self.reserved.contains(key) ? "metadata." + key : key, in: &line)
            Self.append(value, to: &line)
        }
        line.append(contentsOf: "}\n".utf8)
        self.output.write(line)
    }

    static func member(_ key: String, in line: inout [UInt8], first: Bool = false) {
        if !first { line.append(UInt8(ascii: ",")) }
        JSONText.appendQuoted(key, to: &line)
        line.append(UInt8(ascii: ":"))
    }

    static func append(_ value: Logger.Metadata.Value, to line: inout [UInt8]) {
        switch value {
        case .string(let string):
            JSONText.appendQuoted(string, to: &line)
        case .stringConvertible(let convertible):
            JSONText.appendQuoted(convertible.description, to: &line)
        case .array(let values):
            line.append(UInt8(ascii: "["))
            for (index, element) in values.enumerated() {
                if index > 0 { line.append(UInt8(ascii: ",")) }
                self.append(element, to: &line)
            }
            line.append(UInt8(ascii: "]"))
        case .dictionary(let members):
            line.append(UInt8(ascii: "{"))
            for (index, (key, element)) in members.sorted(by: { $0.key < $1.key }).enumerated() {
                self.member(key, in: &line, first: index == 0)
                self.append(element, to: &line)
            }
            line.append(UInt8(ascii: "}"))
        }
    }

    /// The current time as `"2026-11-27T19:30:00.123Z"`.
    static func appendTime(to line: inout [UInt8]) {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        var seconds = now.tv_sec
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func digits(_ value: Int, _ count: Int) {
            var divisor = 1
            for _ in 1..<count { divisor *= 10 }
            var value = value
            while divisor > 0 {
                line.append(UInt8(ascii: "0") + UInt8(value / divisor % 10))
                value %= divisor
                divisor /= 10
            }
        }
        line.append(UInt8(ascii: "\""))
        digits(Int(parts.tm_year) + 1900, 4)
        line.append(UInt8(ascii: "-"))
        digits(Int(parts.tm_mon) + 1, 2)
        line.append(UInt8(ascii: "-"))
        digits(Int(parts.tm_mday), 2)
        line.append(UInt8(ascii: "T"))
        digits(Int(parts.tm_hour), 2)
        line.append(UInt8(ascii: ":"))
        digits(Int(parts.tm_min), 2)
        line.append(UInt8(ascii: ":"))
        digits(Int(parts.tm_sec), 2)
        line.append(UInt8(ascii: "."))
        digits(Int(now.tv_nsec) / 1_000_000, 3)
        line.append(contentsOf: "Z\"".utf8)
    }
}

/// Where ``JSONLogHandler`` writes: a file descriptor, one whole line at a time, so the lines of
/// concurrent loggers never interleave.
package final class JSONLogOutput: Sendable {
    let descriptor: Int32
    let lock = Mutex(())

    package init(descriptor: Int32) {
        self.descriptor = descriptor
    }

    package static let standardError = JSONLogOutput(descriptor: 2)

    func write(_ line: [UInt8]) {
        self.lock.withLock { _ in
            line.withUnsafeBytes { bytes in
                var offset = 0
                while offset < bytes.count {
                    let written = Glibc.write(self.descriptor, bytes.baseAddress! + offset, bytes.count - offset)
                    if written > 0 {
                        offset += written
                    } else if written < 0, errno == EINTR {
                        continue
                    } else {
                        return  // A closed or full descriptor: the line is dropped, never the process.
                    }
                }
            }
        }
    }
}
