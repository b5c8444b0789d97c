import Yams

/// A configuration that cannot work, said so that its reader knows what to fix.
package struct ConfigurationError: Error, CustomStringConvertible, Equatable {
    package var message: String

    package init(_ message: String) {
        self.message = message
    }

    package var description: String { self.message }
}

extension YamlError {
    /// Where and what, on one line: "line 2, column 12: did not find expected ',' or ']' (while
    /// parsing a flow sequence from line 2, column 12)", where Yams's own description adds the
    /// parser's name and a snippet of the file over several lines.
    var readableDescription: String {
        switch self {
        case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _),
            .composer(let context, let problem, let mark, _):
            let during = context.map { " (\($0.text) from line \($0.mark.line), column \($0.mark.column))" } ?? ""
            return "line \(mark.line), column \(mark.column): \(problem)\(during)"
        case .duplicatedKeysInMapping(let duplicates, let context):
            let keys = duplicates.sorted().map { "'\($0)'" }.joined(separator: ", ")
            return "the mapping at line \(context.mark.line), column \(context.mark.column) has the key \(keys) more than once"
        default:
            return "\(self)"
        }
    }
}
