import AlertCore
import AlertTestSupport
import Foundation
import Testing

/// `Annotations` (packed) against the `[String: String]` it replaced: every
/// read, equality, hash, JSON and the alert record's bytes must be the
/// dictionary's.
@Suite("Annotations: packed, behaving as the dictionary")
struct AnnotationsTests {
    /// Names and values from pieces that break things: canonically
    /// equivalent spellings (é, e + U+0301, K and the Kelvin sign), NUL,
    /// CJK, emoji, and lengths around the 15-byte small-string limit.
    private func string(_ random: inout SeededGenerator, maxPieces: Int = 6) -> String {
        let pieces = ["a", "b", "Z", "0", "_", "é", "e\u{301}", "K", "\u{212A}", "\u{0}", "日", "😀", "summary", "0123456789abcdef"]
        return (0..<random.below(maxPieces + 1)).map { _ in pieces[random.below(pieces.count)] }.joined()
    }

    private func dictionary(_ random: inout SeededGenerator) -> [String: String] {
        Dictionary((0..<random.below(6)).map { _ in (string(&random, maxPieces: 3), string(&random)) }, uniquingKeysWith: { $1 })
    }

    /// The annotations section as the record format wrote it from a dictionary.
    private func recordSection(_ dictionary: [String: String]) -> [UInt8] {
        func varint(_ value: Int, _ out: inout [UInt8]) {
            var value = UInt(value)
            while value >= 0x80 {
                out.append(UInt8(truncatingIfNeeded: value) | 0x80)
                value >>= 7
            }
            out.append(UInt8(value))
        }
        var out: [UInt8] = []
        varint(dictionary.count, &out)
        for (name, value) in dictionary.sorted(by: { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }) {
            varint(name.utf8.count, &out)
            out.append(contentsOf: name.utf8)
            varint(value.utf8.count, &out)
            out.append(contentsOf: value.utf8)
        }
        return out
    }

    @Test("reads, equality, hashing and JSON are the dictionary's (random dictionaries, fixed seed)")
    func behavesAsDictionary() throws {
        var random = SeededGenerator(state: 17)
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        for _ in 0..<3_000 {
            let d = dictionary(&random), e = random.chance(30) ? d : dictionary(&random)
            let a = Annotations(d), b = Annotations(e)
            #expect(a.count == d.count && a.isEmpty == d.isEmpty)
            #expect(a.bytes == recordSection(d) || d.isEmpty && a.bytes.isEmpty, "packed as the record section: \(d)")
            for (name, value) in d { #expect(a[name].map { $0.utf8.elementsEqual(value.utf8) } == true) }
            for _ in 0..<4 {
                let probe = string(&random, maxPieces: 3)
                #expect(a[probe] == d[probe], "lookup of \(probe.unicodeScalars.map(\.value)) in \(d)")
            }
            #expect(a.dictionary == d)
            #expect(Array(a.map { $0.key }) == d.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }, "iterated in name byte order")
            #expect((a == b) == (d == e), "\(d) vs \(e)")
            #expect(a.equals(e) == (d == e))
            if a == b { #expect(a.hashValue == b.hashValue) }
            #expect(try encoder.encode(a) == encoder.encode(d))
            #expect(try JSONDecoder().decode(Annotations.self, from: encoder.encode(d)) == a)
        }
    }

    @Test("setting and removing by name")
    func mutation() {
        var a: Annotations = ["summary": "x"]
        a["runbook"] = "https://runbooks.example/a-url-longer-than-15-bytes"
        #expect(a.map { $0.key } == ["runbook", "summary"])
        a["summary"] = nil
        #expect(a == ["runbook": "https://runbooks.example/a-url-longer-than-15-bytes"] && a.count == 1)
        a["runbook"] = nil
        #expect(a.isEmpty && a.bytes.isEmpty && a == Annotations())
    }

    @Test("canonically equivalent spellings are one annotation, as in a dictionary")
    func canonicalEquivalence() {
        let precomposed: Annotations = ["caf\u{e9}": "x", "K": "1"]
        let decomposed: Annotations = ["cafe\u{301}": "x", "\u{212A}": "1"]
        #expect(precomposed == decomposed && precomposed.hashValue == decomposed.hashValue)
        #expect(precomposed["cafe\u{301}"] == "x" && decomposed["caf\u{e9}"] == "x" && decomposed["K"] == "1")
        #expect(precomposed.equals(["cafe\u{301}": "x", "\u{212A}": "1"]))
    }

    /// An alert with no labels: its annotations section starts at byte 15
    /// (magic, version, kind, fingerprint, flags, label count).
    private func record(annotationSection section: [UInt8]) -> [UInt8] {
        var alert = Alert(event: AlertEvent(alertType: "x"), fingerprint: Fingerprint(rawValue: 42), receivedAt: Date(timeIntervalSince1970: 1))
        alert.labels = LabelSet()
        var bytes = StateRecordFormat.encode(alert)
        #expect(bytes[15] == 0)
        bytes.replaceSubrange(15..<16, with: section)
        return bytes
    }

    @Test("an alert record's annotations section reads as the dictionary it was read into, and writes back byte for byte")
    func records() throws {
        var random = SeededGenerator(state: 5)
        for _ in 0..<1_000 {
            let d = dictionary(&random)
            let bytes = record(annotationSection: recordSection(d))
            let (alert, encoding) = try StateRecordFormat.decode(bytes, with: StateRecordFormat.decodeAlert)
            #expect(encoding == .binary && alert.annotations.dictionary == d)
            #expect(StateRecordFormat.encode(alert) == bytes)
        }
        // Out of order, repeated names, a non-minimal varint: read pair by
        // pair as before (last value wins), written back canonically.
        let unordered: [UInt8] = [3, 1, 0x62, 1, 0x32, 1, 0x61, 1, 0x31, 1, 0x62, 1, 0x33]
        let (alert, _) = try StateRecordFormat.decode(record(annotationSection: unordered), with: StateRecordFormat.decodeAlert)
        #expect(alert.annotations.dictionary == ["a": "1", "b": "3"])
        #expect(StateRecordFormat.encode(alert) == record(annotationSection: recordSection(["a": "1", "b": "3"])))
        let nonMinimal: [UInt8] = [0x81, 0x00, 1, 0x61, 1, 0x31]
        let (padded, _) = try StateRecordFormat.decode(record(annotationSection: nonMinimal), with: StateRecordFormat.decodeAlert)
        #expect(padded.annotations == ["a": "1"] && padded.annotations.bytes == [1, 1, 0x61, 1, 0x31])
        // Invalid UTF-8 in a value is still an error.
        #expect(throws: StateRecordError.self) {
            try StateRecordFormat.decode(record(annotationSection: [1, 1, 0x61, 1, 0xff]), with: StateRecordFormat.decodeAlert)
        }
    }
}
