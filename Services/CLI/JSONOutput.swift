import Foundation

/// `--json` output of `send`, `replay` and `dlq`: one JSON document on standard output, keys
/// sorted, so scripts can rely on the shapes documented in docs/cli.md.
enum JSONOutput {
    /// Prints `object` (dictionaries, arrays, strings, numbers, booleans, `NSNull`) as one line.
    static func print(_ object: Any) {
        Swift.print(self.line(object))
    }

    /// `object` as one line of JSON, keys sorted.
    static func line(_ object: Any) -> String {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }

    /// `value` or JSON `null`.
    static func orNull(_ value: Any?) -> Any {
        value ?? NSNull()
    }

    /// Milliseconds since 1970 as ISO-8601 UTC with milliseconds.
    static func iso8601(milliseconds: Int64) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: Date(timeIntervalSince1970: Double(milliseconds) / 1000))
    }
}
