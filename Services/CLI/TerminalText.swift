import Foundation
import HooklineKafka

/// Text from the wire (webhook bodies, keys, header values, dead-letter reasons) as `hookline`
/// prints it for a person: the control characters a terminal would act on are shown, not sent.
/// An escape sequence in a commit message could otherwise recolour, retitle or rewrite the
/// on-call engineer's terminal. JSON output is left as it is: its encoding escapes them already.
extension String {
    /// Each C0 control (ESC, BEL, CR, …), DEL and C1 control written as `\u{1B}`; with
    /// `keepingLines`, newlines and tabs stay as they are (a payload's lines), else they are
    /// shown too (a table cell is one line).
    func terminalSafe(keepingLines: Bool = false) -> String {
        var safe = String.UnicodeScalarView()
        for scalar in self.unicodeScalars {
            let value = scalar.value
            let kept = keepingLines && (value == 0x0A || value == 0x09)
            if (value < 0x20 && !kept) || (0x7F...0x9F).contains(value) {
                safe.append(contentsOf: "\\u{\(String(value, radix: 16, uppercase: true))}".unicodeScalars)
            } else {
                safe.append(scalar)
            }
        }
        return String(safe)
    }
}

/// Bytes from the wire (a body, a key, a header value) as `hookline` prints them.
enum WireBytes {
    /// As text when they are UTF-8, else base64, with the encoding's name: what `--json` carries.
    static func printable(_ bytes: [UInt8]) -> (text: String, encoding: String) {
        if let text = String(validating: bytes, as: UTF8.self) { return (text, "utf8") }
        return (Data(bytes).base64EncodedString(), "base64")
    }

    /// For a person: UTF-8 with its control characters shown (``Swift/String/terminalSafe(keepingLines:)``),
    /// else `base64:` and the base64.
    static func shown(_ bytes: [UInt8], keepingLines: Bool = false) -> String {
        let printable = self.printable(bytes)
        return printable.encoding == "utf8" ? printable.text.terminalSafe(keepingLines: keepingLines) : "base64:" + printable.text
    }

    /// Record headers for `--json`: `[{"key", "value", "encoding"}]` in their order, a header
    /// without a value with `null` for both.
    static func json(_ headers: [KafkaHeader]) -> [[String: Any]] {
        headers.map { header in
            let value = header.value.map(self.printable)
            return ["key": header.key, "value": JSONOutput.orNull(value?.text), "encoding": JSONOutput.orNull(value?.encoding)]
        }
    }
}
