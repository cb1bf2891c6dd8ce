import Foundation

/// A state record that could not be read: what was wrong, for the log line
/// that names the record's key.
public struct StateRecordError: Error, Sendable, Equatable, CustomStringConvertible {
    public let description: String

    public init(_ description: String) {
        self.description = description
    }
}

/// The bytes of a state record in KV (alerts, silences, notification-log
/// entries, rule series): a compact binary layout, versioned
/// (docs/ARCHITECTURE.md, Durability).
///
/// A record starts with the magic `C1 4E 41` ("\xC1NA"), a version byte (1)
/// and a kind byte, then the kind's fields in a fixed order (see each
/// `binary` encoder below). 0xC1 is never a byte of UTF-8 text, and a JSON
/// document starts with whitespace or `{ [ " - 0-9 t f n`, so a record
/// written as JSON by earlier versions can never be taken for a binary one:
/// `decode` reads both, and says which it read so the caller can rewrite
/// the JSON ones.
///
/// Decoding is total: a truncated, garbled or foreign record is a
/// `StateRecordError`, never a trap; bytes after the last field are an
/// error too, so a record never decodes "almost".
public enum StateRecordFormat {
    public static let magic: [UInt8] = [0xC1, 0x4E, 0x41]
    public static let version: UInt8 = 1

    /// What a record holds (the byte after the version).
    public enum Kind: UInt8, Sendable, CaseIterable {
        case alert = 1
        case silence = 2
        case notificationLogEntry = 3
        case ruleSeries = 4
    }

    /// How a record was stored.
    public enum Encoding: Sendable, Equatable {
        case binary
        /// Written by a version before the binary format; rewrite it.
        case json
    }

    public static func encode(_ alert: Alert) -> [UInt8] {
        var writer = header(.alert, capacity: 64 + alert.labels.count * 32 + alert.annotations.count * 48)
        alert.writeBinary(to: &writer)
        return writer.bytes
    }

    public static func encode(_ silence: Silence) -> [UInt8] {
        var writer = header(.silence, capacity: 128)
        silence.writeBinary(to: &writer)
        return writer.bytes
    }

    public static func encode(_ entry: NotificationLogEntry) -> [UInt8] {
        var writer = header(.notificationLogEntry, capacity: 64 + (entry.firing.count + entry.resolved.count) * 8)
        entry.writeBinary(to: &writer)
        return writer.bytes
    }

    public static func encode(_ series: RuleSeries) -> [UInt8] {
        var writer = header(.ruleSeries, capacity: 128 + series.window.count * 16)
        series.writeBinary(to: &writer)
        return writer.bytes
    }

    public static func decodeAlert(_ bytes: UnsafeRawBufferPointer) throws(StateRecordError) -> (Alert, Encoding) {
        try decode(bytes, .alert, Alert.self) { (reader: inout StateRecordReader) throws(StateRecordError) in try Alert(binary: &reader) }
    }

    public static func decodeSilence(_ bytes: UnsafeRawBufferPointer) throws(StateRecordError) -> (Silence, Encoding) {
        try decode(bytes, .silence, Silence.self) { (reader: inout StateRecordReader) throws(StateRecordError) in try Silence(binary: &reader) }
    }

    public static func decodeNotificationLogEntry(_ bytes: UnsafeRawBufferPointer) throws(StateRecordError) -> (NotificationLogEntry, Encoding) {
        try decode(bytes, .notificationLogEntry, NotificationLogEntry.self) { (reader: inout StateRecordReader) throws(StateRecordError) in
            try NotificationLogEntry(binary: &reader)
        }
    }

    public static func decodeRuleSeries(_ bytes: UnsafeRawBufferPointer) throws(StateRecordError) -> (RuleSeries, Encoding) {
        try decode(bytes, .ruleSeries, RuleSeries.self) { (reader: inout StateRecordReader) throws(StateRecordError) in try RuleSeries(binary: &reader) }
    }

    /// Decodes bytes held in an array (a copy a watcher handed over) with
    /// one of the decoders above: `decode(value, with: StateRecordFormat.decodeAlert)`.
    public static func decode<Record>(
        _ bytes: [UInt8], with decoder: (UnsafeRawBufferPointer) throws(StateRecordError) -> (Record, Encoding)
    ) throws(StateRecordError) -> (Record, Encoding) {
        try bytes.withUnsafeBytes { buffer in Result { () throws(StateRecordError) in try decoder(buffer) } }.get()
    }

    /// Whether the bytes start as a binary record (of any version).
    public static func isBinary(_ bytes: UnsafeRawBufferPointer) -> Bool {
        bytes.count >= magic.count && bytes[0] == magic[0] && bytes[1] == magic[1] && bytes[2] == magic[2]
    }

    private static func header(_ kind: Kind, capacity: Int) -> StateRecordWriter {
        var writer = StateRecordWriter(capacity: capacity)
        for byte in magic { writer.byte(byte) }
        writer.byte(version)
        writer.byte(kind.rawValue)
        return writer
    }

    private static func decode<Record: Decodable>(
        _ bytes: UnsafeRawBufferPointer, _ kind: Kind, _ type: Record.Type,
        _ body: (inout StateRecordReader) throws(StateRecordError) -> Record
    ) throws(StateRecordError) -> (Record, Encoding) {
        guard isBinary(bytes) else { return (try decodeJSON(bytes, type), .json) }
        var reader = StateRecordReader(bytes, offset: magic.count)
        let version = try reader.byte("version")
        guard version == Self.version else { throw StateRecordError("binary record version \(version); this build reads version \(Self.version)") }
        let found = try reader.byte("kind")
        guard found == kind.rawValue else {
            throw StateRecordError("a record of kind \(Kind(rawValue: found).map { "\($0)" } ?? "\(found)") where \(kind) was expected")
        }
        let record = try body(&reader)
        guard reader.isAtEnd else { throw StateRecordError("\(reader.remaining) bytes after the last field") }
        return (record, .binary)
    }

    /// The format before this one: `StateCoding`'s JSON.
    private static func decodeJSON<Record: Decodable>(_ bytes: UnsafeRawBufferPointer, _ type: Record.Type) throws(StateRecordError) -> Record {
        guard let first = bytes.first(where: { $0 != 0x20 && $0 != 0x09 && $0 != 0x0a && $0 != 0x0d }), first == UInt8(ascii: "{") else {
            throw StateRecordError("neither a binary record nor a JSON object (\(bytes.count) bytes, starting \(bytes.prefix(8).map { String($0, radix: 16) }))")
        }
        // Foundation recurses per level: refuse deep nesting before it does (records need 3 levels).
        if let depth = JSONNesting.depthExceeding(16, in: bytes) { throw StateRecordError("JSON record nested deeper than 16 levels (at least \(depth))") }
        do {
            return try StateCoding.decoder().decode(type, from: Data(bytes))
        } catch {
            throw StateRecordError("JSON record: \(String("\(error)".prefix(300)))")
        }
    }

}

// MARK: Layouts (version 1). Change a layout only with a new version number,
// and keep reading the old one.

extension Alert {
    private enum Present {
        static let endsAt: UInt8 = 1
        static let currentValue: UInt8 = 2
        static let thresholdValue: UInt8 = 4
        static let iteration: UInt8 = 8
    }

    /// fingerprint (8 bytes), presence flags, labels (count, name/value
    /// pairs, sorted), annotations (count, pairs sorted by name), startsAt,
    /// [endsAt], lastSeen, repeatCount, generatorURL, [currentValue],
    /// [thresholdValue], [iteration].
    func writeBinary(to writer: inout StateRecordWriter) {
        writer.fixed64(fingerprint.rawValue)
        var flags: UInt8 = 0
        if endsAt != nil { flags |= Present.endsAt }
        if currentValue != nil { flags |= Present.currentValue }
        if thresholdValue != nil { flags |= Present.thresholdValue }
        if iteration != nil { flags |= Present.iteration }
        writer.byte(flags)
        writer.count(labels.count)
        for label in labels {
            writer.string(label.name)
            writer.string(label.value)
        }
        // `Annotations` is packed in this section's layout: count, then
        // name/value pairs sorted by name bytes.
        if annotations.isEmpty { writer.count(0) } else { writer.raw(annotations.bytes) }
        writer.date(startsAt)
        if let endsAt { writer.date(endsAt) }
        writer.date(lastSeen)
        writer.signed(Int64(repeatCount))
        writer.string(generatorURL)
        if let currentValue { writer.double(currentValue) }
        if let thresholdValue { writer.double(thresholdValue) }
        if let iteration { writer.signed(iteration) }
    }

    init(binary reader: inout StateRecordReader) throws(StateRecordError) {
        let fingerprint = Fingerprint(rawValue: try reader.fixed64("fingerprint"))
        let flags = try reader.byte("flags")
        guard flags & ~(Present.endsAt | Present.currentValue | Present.thresholdValue | Present.iteration) == 0 else {
            throw StateRecordError("unknown alert flags \(flags)")
        }
        let labelCount = try reader.count("label count", minimumSize: 2)
        var pairs: [(String, String)] = []
        pairs.reserveCapacity(labelCount)
        for _ in 0..<labelCount { pairs.append((try reader.string("label name"), try reader.string("label value"))) }
        let annotations: Annotations
        if let packed = reader.packedAnnotations() {
            annotations = packed
        } else {
            let annotationCount = try reader.count("annotation count", minimumSize: 2)
            var dictionary: [String: String] = [:]
            dictionary.reserveCapacity(annotationCount)
            for _ in 0..<annotationCount {
                let name = try reader.string("annotation name")
                dictionary[name] = try reader.string("annotation value")
            }
            annotations = Annotations(dictionary)
        }
        let startsAt = try reader.date("startsAt")
        let endsAt = flags & Present.endsAt != 0 ? try reader.date("endsAt") : nil
        let lastSeen = try reader.date("lastSeen")
        let repeatCount = try reader.int("repeatCount")
        let generatorURL = try reader.string("generatorURL")
        let currentValue = flags & Present.currentValue != 0 ? try reader.double("currentValue") : nil
        let thresholdValue = flags & Present.thresholdValue != 0 ? try reader.double("thresholdValue") : nil
        let iteration = flags & Present.iteration != 0 ? try reader.signed("iteration") : nil
        self.fingerprint = fingerprint
        self.labels = LabelSet(pairs)
        self.annotations = annotations
        self.startsAt = startsAt
        self.endsAt = endsAt
        self.lastSeen = lastSeen
        self.repeatCount = repeatCount
        self.generatorURL = generatorURL
        self.currentValue = currentValue
        self.thresholdValue = thresholdValue
        self.iteration = iteration
    }
}

extension Silence {
    /// id, matchers (count, then name, type as its index in
    /// `MatchType.allCases`, value), startsAt, endsAt, createdBy, comment, updatedAt.
    func writeBinary(to writer: inout StateRecordWriter) {
        writer.string(id)
        writer.count(matchers.count)
        for matcher in matchers {
            writer.string(matcher.name)
            writer.byte(UInt8(Matcher.MatchType.allCases.firstIndex(of: matcher.type)!))
            writer.string(matcher.value)
        }
        writer.date(startsAt)
        writer.date(endsAt)
        writer.string(createdBy)
        writer.string(comment)
        writer.date(updatedAt)
    }

    init(binary reader: inout StateRecordReader) throws(StateRecordError) {
        let id = try reader.string("id")
        let matcherCount = try reader.count("matcher count", minimumSize: 3)
        var matchers: [Matcher] = []
        matchers.reserveCapacity(matcherCount)
        for _ in 0..<matcherCount {
            let name = try reader.string("matcher name")
            let typeIndex = Int(try reader.byte("matcher type"))
            guard typeIndex < Matcher.MatchType.allCases.count else { throw StateRecordError("unknown matcher type \(typeIndex)") }
            let value = try reader.string("matcher value")
            do {
                matchers.append(try Matcher(name: name, type: Matcher.MatchType.allCases[typeIndex], value: value))
            } catch {
                throw StateRecordError("matcher: \(error)")
            }
        }
        self.init(id: id, matchers: matchers, startsAt: try reader.date("startsAt"), endsAt: try reader.date("endsAt"),
                  createdBy: try reader.string("createdBy"), comment: try reader.string("comment"), updatedAt: try reader.date("updatedAt"))
    }
}

extension NotificationLogEntry {
    /// receiver, integration, groupKey, firing and resolved (each a count
    /// and sorted fingerprints, 8 bytes each), timestamp, expiresAt.
    func writeBinary(to writer: inout StateRecordWriter) {
        writer.string(receiver)
        writer.string(integration)
        writer.string(groupKey)
        for set in [firing, resolved] {
            writer.count(set.count)
            for fingerprint in set.sorted() { writer.fixed64(fingerprint.rawValue) }
        }
        writer.date(timestamp)
        writer.date(expiresAt)
    }

    init(binary reader: inout StateRecordReader) throws(StateRecordError) {
        let receiver = try reader.string("receiver")
        let integration = try reader.string("integration")
        let groupKey = try reader.string("groupKey")
        var sets: [Set<Fingerprint>] = []
        for what in ["firing", "resolved"] {
            let count = try reader.count("\(what) count", minimumSize: 8)
            var set = Set<Fingerprint>(minimumCapacity: count)
            for _ in 0..<count { set.insert(Fingerprint(rawValue: try reader.fixed64(what))) }
            sets.append(set)
        }
        self.init(receiver: receiver, integration: integration, groupKey: groupKey, firing: sets[0], resolved: sets[1],
                  timestamp: try reader.date("timestamp"), expiresAt: try reader.date("expiresAt"))
    }
}

extension RuleSeries {
    private enum Flag {
        static let conditionFiring: UInt8 = 1
        static let alertFiring: UInt8 = 2
        static let flapping: UInt8 = 4
        static let lastValue: UInt8 = 8
        static let lastIteration: UInt8 = 16
    }

    /// rule, group (count, strings), signature, fingerprint (8 bytes),
    /// flags, streak, streakSince, window capacity, window (count, then
    /// value and time per sample, oldest first), observed, [lastValue],
    /// [lastIteration], lastSeen, unchangedRun, lastChange, changes (count, times).
    func writeBinary(to writer: inout StateRecordWriter) {
        writer.string(rule)
        writer.count(group.count)
        for value in group { writer.string(value) }
        writer.string(signature)
        writer.fixed64(fingerprint.rawValue)
        var flags: UInt8 = 0
        if conditionFiring { flags |= Flag.conditionFiring }
        if alertFiring { flags |= Flag.alertFiring }
        if flapping { flags |= Flag.flapping }
        if lastValue != nil { flags |= Flag.lastValue }
        if lastIteration != nil { flags |= Flag.lastIteration }
        writer.byte(flags)
        writer.signed(Int64(streak))
        writer.signed(streakSince)
        writer.signed(Int64(window.capacity))
        writer.count(window.count)
        for offset in 0..<window.count {
            writer.double(window.value(at: offset))
            writer.signed(window.time(at: offset))
        }
        writer.double(observed)
        if let lastValue { writer.double(lastValue) }
        if let lastIteration { writer.signed(lastIteration) }
        writer.signed(lastSeen)
        writer.signed(Int64(unchangedRun))
        writer.signed(lastChange)
        writer.count(changes.count)
        for change in changes { writer.signed(change) }
    }

    init(binary reader: inout StateRecordReader) throws(StateRecordError) {
        rule = try reader.string("rule")
        let groupCount = try reader.count("group count")
        var group: [String] = []
        group.reserveCapacity(groupCount)
        for _ in 0..<groupCount { group.append(try reader.string("group value")) }
        self.group = group
        signature = try reader.string("signature")
        fingerprint = Fingerprint(rawValue: try reader.fixed64("fingerprint"))
        let flags = try reader.byte("flags")
        guard flags & ~(Flag.conditionFiring | Flag.alertFiring | Flag.flapping | Flag.lastValue | Flag.lastIteration) == 0 else {
            throw StateRecordError("unknown rule series flags \(flags)")
        }
        conditionFiring = flags & Flag.conditionFiring != 0
        alertFiring = flags & Flag.alertFiring != 0
        flapping = flags & Flag.flapping != 0
        streak = try reader.int("streak")
        streakSince = try reader.signed("streakSince")
        let capacity = try reader.int("window capacity")
        let sampleCount = try reader.count("window count", minimumSize: 9)
        var values: [Double] = []
        var times: [Int64] = []
        values.reserveCapacity(sampleCount)
        times.reserveCapacity(sampleCount)
        for _ in 0..<sampleCount {
            values.append(try reader.double("window value"))
            times.append(try reader.signed("window time"))
        }
        window = SampleRing(capacity: capacity, values: values, times: times)
        observed = try reader.double("observed")
        lastValue = flags & Flag.lastValue != 0 ? try reader.double("lastValue") : nil
        lastIteration = flags & Flag.lastIteration != 0 ? try reader.signed("lastIteration") : nil
        lastSeen = try reader.signed("lastSeen")
        unchangedRun = try reader.int("unchangedRun")
        lastChange = try reader.signed("lastChange")
        let changeCount = try reader.count("change count")
        var changes: [Int64] = []
        changes.reserveCapacity(changeCount)
        for _ in 0..<changeCount { changes.append(try reader.signed("change")) }
        self.changes = changes
        dirty = false
    }
}
