import AlertCore
import Foundation
import IngestFuzzing
import ServiceFuzzing
import Testing

/// Every committed seed (Tests/Fuzz/corpus, with the hostile inputs of
/// issue 13) through the same harness the libFuzzer targets run, in the
/// ordinary test suite: a seed that traps fails the suite, not only a fuzz run.
@Suite("Fuzz seed corpus")
struct SeedCorpusTests {
    static let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("corpus")

    static func seeds(_ target: String) throws -> [(name: String, bytes: [UInt8])] {
        let folder = corpus.appendingPathComponent(target)
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted()
        return try names.map { ($0, [UInt8](try Data(contentsOf: folder.appendingPathComponent($0)))) }
    }

    static func run<T>(_ bytes: [UInt8], _ body: (UnsafeRawBufferPointer) -> T) -> T {
        bytes.withUnsafeBytes(body)
    }

    /// An accepted event's times must come out as RFC 3339 that reads back
    /// (no trap, no year beyond 9999 or before 1970, as Alertmanager's API needs).
    static func checkTimes(_ outcome: IngestFuzzing.Outcome, _ name: String) {
        guard case .accepted(let times) = outcome else { return }
        for time in times {
            #expect(time.wholeMatch(of: /(19[7-9][0-9]|[2-9][0-9]{3})-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z/) != nil,
                    "\(name): \(time)")
        }
    }

    @Test("protobuf event seeds: decoded and carried to the alert's times and JSON form, or rejected with a reason")
    func protobufEvents() throws {
        let seeds = try Self.seeds("fuzz-protobuf-event")
        #expect(seeds.count >= 15)
        for (name, bytes) in seeds {
            let outcome = Self.run(bytes, IngestFuzzing.protobufEvent)
            Self.checkTimes(outcome, name)
            if name.hasPrefix("valid"), case .rejected(let why) = outcome { Issue.record("\(name) rejected: \(why)") }
            if ["truncated", "wrong_wire_type", "length_overflow", "severity_unknown", "labels_oversized"].contains(name) {
                guard case .rejected = outcome else { Issue.record("\(name) was accepted"); continue }
            }
        }
    }

    @Test("duplicate path seeds: the fast path and the full path leave the same state")
    func duplicatePath() throws {
        let seeds = try Self.seeds("fuzz-duplicate-path")
        #expect(seeds.count >= 25)
        var taken = 0
        for (name, bytes) in seeds {
            guard let test = Self.run(bytes, DuplicatePathOracle.fuzzCase) else { continue }
            let verdict = DuplicatePathOracle.compare(test)
            #expect(verdict.mismatches.isEmpty, "\(name): \(verdict.mismatches)")
            if verdict.fastPath != nil { taken += 1 }
            if ["valid_firing", "valid_values", "repeat_labels_reordered", "repeat_without_annotations", "repeat_protobuf_header",
                "repeat_tight_limits", "repeat_alertname_from_subject", "repeat_labels_shadow_derived", "repeat_dedup_key"].contains(name) {
                #expect(verdict.fastPath != nil, "\(name) fell back")
            }
        }
        #expect(taken >= 9)
    }

    @Test("JSON event seeds (int64 extremes, NaN, Infinity, year 5000, deep nesting, invalid UTF-8): no trap, sane times")
    func jsonEvents() throws {
        let seeds = try Self.seeds("fuzz-json-event")
        #expect(seeds.count >= 20)
        for (name, bytes) in seeds {
            let outcome = Self.run(bytes, IngestFuzzing.jsonEvent)
            Self.checkTimes(outcome, name)
            if name.hasPrefix("valid"), case .rejected(let why) = outcome { Issue.record("\(name) rejected: \(why)") }
            if ["deep_nesting_objects", "deep_nesting_arrays", "invalid_utf8", "labels_oversized", "not_object"].contains(name) {
                guard case .rejected = outcome else { Issue.record("\(name) was accepted"); continue }
            }
        }
    }

    @Test("sample seeds through both sample decoders and three rules: no trap, sane times")
    func samples() throws {
        for (name, bytes) in try Self.seeds("fuzz-sample") {
            for outcome in Self.run(bytes, IngestFuzzing.sample) { Self.checkTimes(outcome, name) }
        }
    }

    @Test("matcher seeds, pathological regexes included, parse or fail without hanging")
    func matchers() throws {
        let clock = ContinuousClock()
        for (name, bytes) in try Self.seeds("fuzz-matcher") {
            let elapsed = clock.measure { _ = Self.run(bytes, IngestFuzzing.matchers) }
            #expect(elapsed < .seconds(2), "\(name) took \(elapsed)")
        }
        #expect(Self.run(Array(#"{alertname="disk_full", severity=~"crit.*"}"#.utf8), IngestFuzzing.matchers) == 2)
    }

    @Test("config seeds load or fail with issues; the shipped configs load")
    func configs() throws {
        for (name, bytes) in try Self.seeds("fuzz-config") {
            let loaded = Self.run(bytes, ServiceFuzzing.config)
            if name == "minimal" || name == "secrets_and_server" { #expect(loaded, "\(name)") }
            if name == "deep_nesting" { #expect(!loaded, "\(name)") }
        }
    }

    @Test("silence API seeds parse or fail with a 400 message")
    func silenceAPI() throws {
        for (name, bytes) in try Self.seeds("fuzz-silence-api") {
            let (silence, _) = Self.run(bytes, ServiceFuzzing.silenceAPI)
            if name == "valid" || name == "regex" { #expect(silence, "\(name)") }
            if name == "deep" || name == "matchers_not_list" { #expect(!silence, "\(name)") }
        }
    }
}
