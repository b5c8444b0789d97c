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
