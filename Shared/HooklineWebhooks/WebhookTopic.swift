/// Kafka topic names for webhook events.
public enum WebhookTopic {
    /// Kafka's longest legal topic name.
    public static let maximumLength = 249

    /// The name in the place of a source that the consumer services' dead-letter topics have;
    /// no source may take it (the configuration refuses one so named).
    public static let deadLetterSource = "dlq"

    /// The event of a delivery that names none, or one its source's `events:` leaves out.
    public static let unknownEvent = "unknown"

    /// The `ce_source` of a source's records: `/webhooks/<source>`, the path it is served at.
    public static func ceSource(_ source: String) -> String {
        self.ceSourcePrefix + source
    }

    /// The source a `ce_source` names (``ceSource(_:)``); nil for one of another form.
    public static func source(ofCESource ceSource: String) -> String? {
        guard ceSource.hasPrefix(self.ceSourcePrefix), ceSource.count > self.ceSourcePrefix.count else { return nil }
        return String(ceSource.dropFirst(self.ceSourcePrefix.count))
    }

    private static let ceSourcePrefix = "/webhooks/"

    /// The dead-letter topic of consumer service `service`: `<prefix>.dlq.<service>` (an empty
    /// prefix left out, with its dot, as in ``name(prefix:source:event:)``).
    public static func deadLetters(prefix: String, service: String) -> String {
        prefix.isEmpty ? "\(deadLetterSource).\(service)" : "\(prefix).\(deadLetterSource).\(service)"
    }

    /// The topic for `event` from `source`: `<prefix>.<source>.<event>`.
    ///
    /// The rules, in order:
    /// 1. The event is lowercased (ASCII letters); `/` becomes `.`, a space `_`, and any other
    ///    character outside `[a-z0-9._-]` (each non-ASCII character counts once) `_`. A missing or
    ///    empty event becomes `unknown`.
    /// 2. In `prefix` and `source` (not lowercased) any character outside `[A-Za-z0-9._-]` becomes
    ///    `_`. An empty prefix is left out, with its dot.
    /// 3. A name longer than 249 characters is cut to its first 240 and given `-` and 8 lowercase
    ///    hex digits: the 32-bit FNV-1a hash of the whole name before cutting, so distinct long
    ///    events stay distinct and the same event always maps to the same topic.
    ///
    /// Apache Kafka refuses a topic whose name differs from an existing one only in `.` against
    /// `_` (the two collide in its metric names): of two such events of one source, the second's
    /// topic cannot be created and its deliveries are answered 503.
    public static func name(prefix: String, source: String, event: String?) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(prefix.utf8.count + source.utf8.count + (event?.utf8.count ?? 7) + 2)
        if !prefix.isEmpty {
            self.append(prefix, lowercase: false, to: &out)
            out.append(UInt8(ascii: "."))
        }
        self.append(source, lowercase: false, to: &out)
        out.append(UInt8(ascii: "."))
        if let event, !event.isEmpty {
            self.append(event, lowercase: true, to: &out)
        } else {
            out.append(contentsOf: self.unknownEvent.utf8)
        }
        if out.count > self.maximumLength {
            let hash = Hex.encode(self.fnv1a(out).bigEndianBytes)
            out.removeLast(out.count - (self.maximumLength - 9))
            out.append(UInt8(ascii: "-"))
            out.append(contentsOf: hash.utf8)
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// An event as topic names and `ce_type` carry it: rule 1 of ``name(prefix:source:event:)``
    /// (lowercased; `/` → `.`; a space and any other character outside `[a-z0-9._-]` → `_`).
    public static func eventName(_ event: String) -> String {
        if event.utf8.allSatisfy({ self.isLegal($0) && !(UInt8(ascii: "A")...UInt8(ascii: "Z")).contains($0) }) { return event }
        var out: [UInt8] = []
        self.append(event, lowercase: true, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Whether Kafka accepts `name` as a topic: 1 to 249 characters of `[A-Za-z0-9._-]`, and
    /// neither `.` nor `..`.
    public static func isLegal(_ name: String) -> Bool {
        let utf8 = name.utf8
        guard !utf8.isEmpty, utf8.count <= self.maximumLength, name != ".", name != ".." else { return false }
        return utf8.allSatisfy(self.isLegal)
    }

    private static func isLegal(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "-"):
            true
        default:
            false
        }
    }

    private static func append(_ text: String, lowercase: Bool, to out: inout [UInt8]) {
        for scalar in text.unicodeScalars {
            guard scalar.isASCII else {
                out.append(UInt8(ascii: "_"))
                continue
            }
            var byte = UInt8(scalar.value)
            if lowercase, byte >= UInt8(ascii: "A"), byte <= UInt8(ascii: "Z") {
                byte += 32
            }
            switch byte {
            case UInt8(ascii: "/") where lowercase: out.append(UInt8(ascii: "."))
            case _ where self.isLegal(byte): out.append(byte)
            default: out.append(UInt8(ascii: "_"))
            }
        }
    }

    private static func fnv1a(_ bytes: [UInt8]) -> UInt32 {
        var hash: UInt32 = 0x811C_9DC5
        for byte in bytes {
            hash ^= UInt32(byte)
            hash = hash &* 0x0100_0193
        }
        return hash
    }
}

extension UInt32 {
    fileprivate var bigEndianBytes: [UInt8] {
        [UInt8(truncatingIfNeeded: self >> 24), UInt8(truncatingIfNeeded: self >> 16), UInt8(truncatingIfNeeded: self >> 8), UInt8(truncatingIfNeeded: self)]
    }
}
