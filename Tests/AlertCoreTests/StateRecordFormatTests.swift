import AlertCore
import AlertTestSupport
import Foundation
import Testing

/// SplitMix64 with a fixed seed: the same "random" records on every run, so
/// a failure reproduces (the seed is in the failure message).
private struct RecordRandom: RandomNumberGenerator {
    private var base: SeededGenerator

    init(state: UInt64) { base = SeededGenerator(state: state) }

    mutating func next() -> UInt64 { base.next() }
    mutating func below(_ bound: Int) -> Int { base.below(bound) }
    mutating func chance(_ percent: Int) -> Bool { base.chance(percent) }

    /// Empty, ASCII, quotes and escapes, NUL, combining accents, CJK, emoji.
    mutating func string(maxLength: Int = 12) -> String {
        let pieces = ["a", "Z", "0", " ", "\"", "\\", "\n", "\u{0}", "é", "e\u{301}", "日", "😀", "{", "}", ".", "/", "=", "\u{7f}", "\u{ffff}"]
        return (0..<below(maxLength + 1)).map { _ in pieces[below(pieces.count)] }.joined()
    }

    /// Mostly ordinary numbers, often the ones that break encoders.
    mutating func double() -> Double {
        switch below(10) {
        case 0: [Double.nan, .infinity, -.infinity, -0.0, .greatestFiniteMagnitude, .leastNonzeroMagnitude, -.leastNormalMagnitude][below(7)]
        case 1: Double(bitPattern: next())
        default: Double(Int64(bitPattern: next()) % 1_000_000) / 100
        }
    }

    mutating func int64() -> Int64 {
        switch below(4) {
        case 0: [Int64.min, .max, 0, -1][below(4)]
        case 1: Int64(bitPattern: next())
        default: Int64(bitPattern: next()) % 100_000
        }
    }

    mutating func date() -> Date {
        chance(10) ? Date(timeIntervalSinceReferenceDate: double()) : Date(timeIntervalSince1970: Double(below(4_000_000_000)) + Double(below(1000)) / 1000)
    }
}

@Suite("State records: binary format")
struct StateRecordFormatTests {
    // MARK: Random records

    private func alert(_ random: inout RecordRandom) -> Alert {
        // Names as validation lets them in (ASCII); values anything.
        let pairs = (0..<random.below(8)).map { _ in ("l" + String(random.next() % 100_000, radix: 36), random.string()) }
        let labels = LabelSet(pairs)
        var alert = Alert(event: AlertEvent(alertType: "x"), fingerprint: labels.fingerprint, receivedAt: random.date())
        alert.fingerprint = random.chance(90) ? labels.fingerprint : Fingerprint(rawValue: random.next())
        alert.labels = labels
        alert.annotations = Annotations(Dictionary((0..<random.below(5)).map { _ in (random.string(), random.string(maxLength: 40)) }, uniquingKeysWith: { $1 }))
        alert.startsAt = random.date()
        alert.endsAt = random.chance(30) ? random.date() : nil
        alert.lastSeen = random.date()
        alert.repeatCount = Int(random.int64())
        alert.generatorURL = random.chance(50) ? "" : "https://x/" + random.string()
        alert.currentValue = random.chance(60) ? random.double() : nil
        alert.thresholdValue = random.chance(40) ? random.double() : nil
        alert.iteration = random.chance(30) ? random.int64() : nil
        return alert
    }

    private func silence(_ random: inout RecordRandom) throws -> Silence {
        let matchers = try (0..<(1 + random.below(4))).map { _ in
            let type = Matcher.MatchType.allCases[random.below(4)]
            // Regex values stay valid RE2 (a record holds only matchers that compiled).
            let value = type.isRegex ? ["a.*", "(x|y)", "", "日+", "\\d{2}"][random.below(5)] : random.string()
            return try Matcher(name: "n" + random.string(maxLength: 5), type: type, value: value)
        }
        return Silence(id: random.chance(90) ? UUID().uuidString.lowercased() : random.string(), matchers: matchers, startsAt: random.date(),
                       endsAt: random.date(), createdBy: random.string(), comment: random.string(maxLength: 60), updatedAt: random.date())
    }

    private func logEntry(_ random: inout RecordRandom) -> NotificationLogEntry {
        func fingerprints(_ random: inout RecordRandom) -> Set<Fingerprint> {
            Set((0..<random.below(20)).map { _ in Fingerprint(rawValue: random.next()) })
        }
        return NotificationLogEntry(receiver: random.string(), integration: random.chance(50) ? "" : "webhook/\(random.below(3))",
                                    groupKey: random.string(maxLength: 40), firing: fingerprints(&random), resolved: fingerprints(&random),
                                    timestamp: random.date(), expiresAt: random.date())
    }

    /// Through the JSON the series is persisted as by earlier versions
    /// (its fields are not settable from outside AlertCore).
    private func ruleSeries(_ random: inout RecordRandom) throws -> RuleSeries {
        func number(_ value: Double) -> Any {
            if value.isNaN { return "NaN" }
            if value.isInfinite { return value > 0 ? "+Inf" : "-Inf" }
            return value
        }
        let samples = random.below(40)
        var object: [String: Any] = [
            "rule": random.string(), "group": (0..<random.below(4)).map { _ in random.string() }, "signature": random.string(maxLength: 30),
            "fingerprint": Fingerprint(rawValue: random.next()).description,
            "conditionFiring": random.chance(50), "alertFiring": random.chance(50), "flapping": random.chance(20),
            "streak": random.int64(), "streakSince": random.int64(), "windowCapacity": 1 + random.below(30),
            "windowValues": (0..<samples).map { _ in number(random.double()) }, "windowTimes": (0..<samples).map { _ in random.int64() },
            "observed": number(random.double()), "lastSeen": random.int64(), "unchangedRun": random.int64(), "lastChange": random.int64(),
            "changes": (0..<random.below(6)).map { _ in random.int64() },
        ]
        if random.chance(60) { object["lastValue"] = number(random.double()) }
        if random.chance(40) { object["lastIteration"] = random.int64() }
        return try StateCoding.decoder().decode(RuleSeries.self, from: JSONSerialization.data(withJSONObject: object))
    }

    // MARK: Equality that holds for NaN too (bit patterns)

    private func same(_ a: Double?, _ b: Double?) -> Bool { a?.bitPattern == b?.bitPattern }
    private func same(_ a: Date?, _ b: Date?) -> Bool { same(a?.timeIntervalSinceReferenceDate, b?.timeIntervalSinceReferenceDate) }

    private func same(_ a: Alert, _ b: Alert) -> Bool {
        a.fingerprint == b.fingerprint && a.labels == b.labels && a.annotations.count == b.annotations.count
            && a.annotations.allSatisfy { name, value in b.annotations[name].map { $0.utf8.elementsEqual(value.utf8) } == true }
            && same(a.startsAt, b.startsAt) && same(a.endsAt, b.endsAt) && same(a.lastSeen, b.lastSeen) && a.repeatCount == b.repeatCount
            && a.generatorURL.utf8.elementsEqual(b.generatorURL.utf8) && same(a.currentValue, b.currentValue)
            && same(a.thresholdValue, b.thresholdValue) && a.iteration == b.iteration
    }

    private func same(_ a: Silence, _ b: Silence) -> Bool {
        a.id.utf8.elementsEqual(b.id.utf8) && a.matchers == b.matchers && same(a.startsAt, b.startsAt) && same(a.endsAt, b.endsAt)
            && a.createdBy.utf8.elementsEqual(b.createdBy.utf8) && a.comment.utf8.elementsEqual(b.comment.utf8) && same(a.updatedAt, b.updatedAt)
    }

    private func same(_ a: NotificationLogEntry, _ b: NotificationLogEntry) -> Bool {
        a.receiver.utf8.elementsEqual(b.receiver.utf8) && a.integration.utf8.elementsEqual(b.integration.utf8)
            && a.groupKey.utf8.elementsEqual(b.groupKey.utf8) && a.firing == b.firing && a.resolved == b.resolved
            && same(a.timestamp, b.timestamp) && same(a.expiresAt, b.expiresAt)
    }

    /// `==` compares the windows as `[Double]`, where NaN is never equal:
    /// so by key, state and the bytes of every persisted field.
    private func same(_ a: RuleSeries, _ b: RuleSeries) -> Bool {
        a.key.utf8.elementsEqual(b.key.utf8) && a.signature.utf8.elementsEqual(b.signature.utf8)
            && a.conditionFiring == b.conditionFiring && a.alertFiring == b.alertFiring && a.flapping == b.flapping
            && a.lastSeen == b.lastSeen && StateRecordFormat.encode(a) == StateRecordFormat.encode(b)
            && same(a.observed, b.observed) && same(a.lastValue, b.lastValue) && a.lastIteration == b.lastIteration
            && a.fingerprint == b.fingerprint && a.group.count == b.group.count
            && zip(a.group, b.group).allSatisfy { $0.utf8.elementsEqual($1.utf8) }
    }

    private func decode<R>(_ bytes: [UInt8], _ decoder: (UnsafeRawBufferPointer) throws(StateRecordError) -> (R, StateRecordFormat.Encoding))
        throws(StateRecordError) -> (R, StateRecordFormat.Encoding) {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: bytes.count, alignment: 1)
        defer { buffer.deallocate() }
        buffer.copyBytes(from: bytes)
        return try decoder(UnsafeRawBufferPointer(buffer))
    }

    /// What the decoder of `kind` says about the bytes: nil when it reads them.
    private func refusal(_ kind: StateRecordFormat.Kind, _ bytes: [UInt8]) -> StateRecordError? {
        bytes.withUnsafeBytes { buffer -> StateRecordError? in
            do throws(StateRecordError) {
                switch kind {
                case .alert: _ = try StateRecordFormat.decodeAlert(buffer)
                case .silence: _ = try StateRecordFormat.decodeSilence(buffer)
                case .notificationLogEntry: _ = try StateRecordFormat.decodeNotificationLogEntry(buffer)
                case .ruleSeries: _ = try StateRecordFormat.decodeRuleSeries(buffer)
                }
                return nil
            } catch {
                return error
            }
        }
    }

    // MARK: Round trips

    @Test("every record comes back equal from the binary layout, NaN, infinities, empty and non-ASCII strings included")
    func roundTrip() throws {
        for seed: UInt64 in 1...1500 {
            var random = RecordRandom(state: seed)
            let alert = alert(&random)
            let alertBytes = StateRecordFormat.encode(alert)
            let (decodedAlert, alertEncoding) = try decode(alertBytes, StateRecordFormat.decodeAlert)
            #expect(alertEncoding == .binary && same(decodedAlert, alert), "alert, seed \(seed)")
            #expect(StateRecordFormat.encode(decodedAlert) == alertBytes, "alert re-encoded, seed \(seed)")
            if decodedAlert.currentValue?.isNaN != true && decodedAlert.thresholdValue?.isNaN != true
                && !decodedAlert.startsAt.timeIntervalSinceReferenceDate.isNaN && !decodedAlert.lastSeen.timeIntervalSinceReferenceDate.isNaN
                && decodedAlert.endsAt?.timeIntervalSinceReferenceDate.isNaN != true {
                #expect(decodedAlert == alert, "alert ==, seed \(seed)")
            }

            let silence = try silence(&random)
            let silenceBytes = StateRecordFormat.encode(silence)
            let (decodedSilence, _) = try decode(silenceBytes, StateRecordFormat.decodeSilence)
            #expect(same(decodedSilence, silence) && StateRecordFormat.encode(decodedSilence) == silenceBytes, "silence, seed \(seed)")

            let entry = logEntry(&random)
            let entryBytes = StateRecordFormat.encode(entry)
            let (decodedEntry, _) = try decode(entryBytes, StateRecordFormat.decodeNotificationLogEntry)
            #expect(same(decodedEntry, entry) && StateRecordFormat.encode(decodedEntry) == entryBytes, "log entry, seed \(seed)")

            let series = try ruleSeries(&random)
            let seriesBytes = StateRecordFormat.encode(series)
            let (decodedSeries, _) = try decode(seriesBytes, StateRecordFormat.decodeRuleSeries)
            #expect(same(decodedSeries, series) && StateRecordFormat.encode(decodedSeries) == seriesBytes, "rule series, seed \(seed)")
        }
    }

    @Test("a JSON record of the previous format reads as the same record, and says it was JSON")
    func legacyJSON() throws {
        let encoder = StateCoding.encoder()
        for seed: UInt64 in 1...300 {
            var random = RecordRandom(state: seed)
            let alert = alert(&random)
            let (fromJSON, encoding) = try decode([UInt8](try encoder.encode(alert)), StateRecordFormat.decodeAlert)
            #expect(encoding == .json, "seed \(seed)")
            #expect(StateRecordFormat.encode(fromJSON) == StateRecordFormat.encode(alert), "seed \(seed)")
            let silence = try silence(&random)
            #expect(try same(decode([UInt8](try encoder.encode(silence)), StateRecordFormat.decodeSilence).0, silence), "seed \(seed)")
            let entry = logEntry(&random)
            #expect(try same(decode([UInt8](try encoder.encode(entry)), StateRecordFormat.decodeNotificationLogEntry).0, entry), "seed \(seed)")
            let series = try ruleSeries(&random)
            let (seriesFromJSON, seriesEncoding) = try decode([UInt8](try encoder.encode(series)), StateRecordFormat.decodeRuleSeries)
            #expect(seriesEncoding == .json && StateRecordFormat.encode(seriesFromJSON) == StateRecordFormat.encode(series), "seed \(seed)")
        }
    }

    @Test("the binary prefix can never start a JSON document, and JSON never looks binary")
    func prefixIsNotJSON() throws {
        #expect(StateRecordFormat.magic.first == 0xC1)
        #expect(String(validating: StateRecordFormat.magic, as: UTF8.self) == nil)
        var random = RecordRandom(state: 7)
        let json = [UInt8](try StateCoding.encoder().encode(alert(&random)))
        #expect(json.withUnsafeBytes { StateRecordFormat.isBinary($0) } == false)
        #expect(StateRecordFormat.encode(alert(&random)).withUnsafeBytes { StateRecordFormat.isBinary($0) })
    }

    // MARK: Totality

    @Test("every truncation of a record and every extra byte is an error, never a crash")
    func truncation() throws {
        for seed: UInt64 in 1...60 {
            var random = RecordRandom(state: seed)
            let records: [(StateRecordFormat.Kind, [UInt8])] = [
                (.alert, StateRecordFormat.encode(alert(&random))), (.silence, StateRecordFormat.encode(try silence(&random))),
                (.notificationLogEntry, StateRecordFormat.encode(logEntry(&random))), (.ruleSeries, StateRecordFormat.encode(try ruleSeries(&random))),
            ]
            for (kind, bytes) in records {
                #expect(refusal(kind, bytes) == nil, "seed \(seed), \(kind) whole")
                for length in 0..<bytes.count {
                    #expect(refusal(kind, Array(bytes.prefix(length))) != nil, "seed \(seed), \(kind), \(length) of \(bytes.count) bytes")
                }
                #expect(refusal(kind, bytes + [0]) != nil, "seed \(seed), \(kind), one byte more")
            }
        }
    }

    @Test("random byte mutations of records (binary and JSON) decode or fail with an error, never crash")
    func mutations() throws {
        var random = RecordRandom(state: 0x5EED)
        var decoded = 0, refused = 0
        for round in 0..<4000 {
            var bytes: [UInt8]
            switch round % 5 {
            case 0: bytes = StateRecordFormat.encode(alert(&random))
            case 1: bytes = StateRecordFormat.encode(try silence(&random))
            case 2: bytes = StateRecordFormat.encode(logEntry(&random))
            case 3: bytes = StateRecordFormat.encode(try ruleSeries(&random))
            default: bytes = [UInt8](try StateCoding.encoder().encode(alert(&random)))
            }
            for _ in 0..<(1 + random.below(4)) {
                guard !bytes.isEmpty else { break }
                let at = random.below(bytes.count)
                switch random.below(5) {
                case 0: bytes[at] ^= UInt8(truncatingIfNeeded: 1 << random.below(8))
                case 1: bytes[at] = UInt8(truncatingIfNeeded: random.next())
                case 2: bytes.insert(contentsOf: (0..<random.below(12)).map { _ in UInt8(truncatingIfNeeded: random.next()) }, at: at)
                case 3: bytes.removeSubrange(at..<min(bytes.count, at + 1 + random.below(8)))
                default: bytes.replaceSubrange(at..<min(bytes.count, at + 10), with: [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f])
                }
            }
            // Every kind's decoder on every mutant: a record in the wrong bucket must fail cleanly too.
            for kind in StateRecordFormat.Kind.allCases {
                if let error = refusal(kind, bytes) {
                    #expect(!error.description.isEmpty)
                    refused += 1
                } else {
                    decoded += 1
                }
            }
        }
        #expect(refused > decoded, "most mutants are refused (\(refused) refused, \(decoded) decoded)")
    }

    @Test("a record of another kind, another version or no format at all is refused with what it is")
    func foreign() throws {
        var random = RecordRandom(state: 3)
        let alertBytes = StateRecordFormat.encode(alert(&random))
        #expect(refusal(.silence, alertBytes)?.description.contains("kind alert where silence was expected") == true)
        var nextVersion = alertBytes
        nextVersion[3] = 2
        #expect(refusal(.alert, nextVersion)?.description.contains("version 2") == true)
        for garbage: [UInt8] in [[], [0], Array("not json".utf8), Array("[1,2]".utf8), Array(repeating: UInt8(ascii: "["), count: 100_000),
                                 Array(("{" + String(repeating: "[", count: 100_000)).utf8)] {
            #expect(refusal(.alert, garbage) != nil)
        }
    }
}
