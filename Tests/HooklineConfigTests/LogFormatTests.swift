import Foundation
import HooklineConfig
import Logging
import Testing

@Suite("Log format")
struct LogFormatTests {
    /// Logs through a ``JSONLogHandler`` into a file and returns the lines written.
    func lines(_ body: (inout Logger) -> Void) throws -> [String] {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("hookline-log-\(UUID().uuidString)").path
        let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        #expect(descriptor >= 0)
        var logger = Logger(label: "hookline.test") { label in JSONLogHandler(label: label, output: JSONLogOutput(descriptor: descriptor)) }
        body(&logger)
        close(descriptor)
        defer { try? FileManager.default.removeItem(atPath: path) }
        return try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map(String.init)
    }

    func object(_ line: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "not a JSON object: \(line)")
    }

    @Test("a line is one JSON object: time, level, logger, message, source, then the metadata flat; strings are escaped")
    func oneObjectALine() throws {
        let written = try self.lines { logger in
            logger[metadataKey: "hookline.source"] = "github"
            logger.info("quote \" backslash \\ newline \n tab \t bell \u{7} é", metadata: ["hookline.reason": "bad_signature", "count": "\(3)"])
            logger.debug("below the level")
        }
        #expect(written.count == 1)
        let line = try self.object(try #require(written.first))
        #expect(line["message"] as? String == "quote \" backslash \\ newline \n tab \t bell \u{7} é")
        #expect(line["level"] as? String == "info")
        #expect(line["logger"] as? String == "hookline.test")
        #expect(line["source"] as? String == "HooklineConfigTests")
        #expect(line["hookline.source"] as? String == "github")
        #expect(line["hookline.reason"] as? String == "bad_signature")
        #expect(line["count"] as? String == "3")
        // UTC with milliseconds, within a few seconds of now.
        let time = try #require(line["time"] as? String)
        #expect(time.count == 24 && time.hasSuffix("Z"))
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let date = try #require(formatter.date(from: time))
        #expect(abs(date.timeIntervalSinceNow) < 10)
    }

    @Test("nested metadata are arrays and objects; a key that would replace a fixed member is written as metadata.<key>")
    func nestedAndReserved() throws {
        let written = try self.lines { logger in
            logger.warning("nested", metadata: ["list": ["a", "b"], "map": ["x": "1", "y": ["z"]], "message": "mine", "level": "mine too"])
        }
        let line = try self.object(try #require(written.first))
        #expect(line["list"] as? [String] == ["a", "b"])
        let map = try #require(line["map"] as? [String: Any])
        #expect(map["x"] as? String == "1")
        #expect(map["y"] as? [String] == ["z"])
        #expect(line["message"] as? String == "nested")
        #expect(line["level"] as? String == "warning")
        #expect(line["metadata.message"] as? String == "mine")
        #expect(line["metadata.level"] as? String == "mine too")
    }

    @Test("the command line's format wins, then HOOKLINE_LOG_FORMAT (any case), else text; another value is an error")
    func resolution() throws {
        #expect(try LogFormat.resolve(.json, environment: ["HOOKLINE_LOG_FORMAT": "text"]) == .json)
        #expect(try LogFormat.resolve(nil, environment: ["HOOKLINE_LOG_FORMAT": "JSON"]) == .json)
        #expect(try LogFormat.resolve(nil, environment: [:]) == .text)
        #expect(try LogFormat.resolve(nil, environment: ["HOOKLINE_LOG_FORMAT": ""]) == .text)
        #expect(throws: ConfigurationError("HOOKLINE_LOG_FORMAT is 'logfmt'; expected one of text, json")) {
            try LogFormat.resolve(nil, environment: ["HOOKLINE_LOG_FORMAT": "logfmt"])
        }
    }
}
