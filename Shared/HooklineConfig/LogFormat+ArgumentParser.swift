import ArgumentParser
import Logging

// `--log-level` and `--log-format`, as every long-running executable takes them: declared once,
// here, since a conformance of another module's type may exist only once in a program.
extension Logger.Level: @retroactive ExpressibleByArgument {}
extension LogFormat: ExpressibleByArgument {}
