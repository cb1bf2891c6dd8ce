import AlertCore
import AlertIngest
import AlertTestSupport
import Foundation
import IngestFuzzing
import Logging
import Testing

/// The duplicate fast path (docs/ARCHITECTURE.md, Data flow, step 1) must
/// take only events the full path accepts, with the same fingerprint and the
/// same effect, and leave everything else to it. Random events and mutations
/// of them (bit flips, truncations, duplicated and unknown fields, invalid
/// UTF-8, NUL bytes, bad label names, oversize and empty values, odd varint
/// encodings, resolves, times that need sanitizing) go to an ingestor with
/// the fast path and one without, on stores prepared alike;
/// `DuplicatePathOracle` compares route, fingerprint, store, counters,
/// transitions and acks. Seeded: a failure prints its seed and case, and
/// `DUPLICATE_PATH_SEED=<seed>` replays it.
@Suite("Duplicate fast path equivalence")
struct DuplicateFastPathEquivalenceTests {
    static let casesPerSeed = 2_500

    static var seeds: [UInt64] {
        if let text = ProcessInfo.processInfo.environment["DUPLICATE_PATH_SEED"], let seed = UInt64(text) { return [seed] }
        return [1, 2, 3, UInt64.random(in: 0...UInt64.max)]
    }

    @Test("random and mutated payloads: the fast path agrees with the full path, and takes the plain repeats")
    func equivalence() {
        for seed in Self.seeds {
            print("DuplicateFastPathEquivalenceTests: seed \(seed) (replay with DUPLICATE_PATH_SEED=\(seed))")
            var generator = PayloadGenerator(seed: seed)
            var taken = 0
            var readable = 0
            var failures = 0
            for index in 0..<Self.casesPerSeed {
                let (test, mutation) = generator.nextCase()
                let verdict = DuplicatePathOracle.compare(test)
                if verdict.fastPath != nil { taken += 1 }
                if verdict.wire != nil { readable += 1 }
                if !verdict.mismatches.isEmpty {
                    failures += 1
                    if failures <= 5 {
                        Issue.record("""
                            seed \(seed) case \(index) (\(mutation)), subject \(test.subject), content type \(test.contentType ?? "none"): \
                            \(verdict.mismatches.joined(separator: "; "))
                            candidate \(test.candidate.map { String(format: "%02x", $0) }.joined())
                            """)
                    }
                }
            }
            #expect(failures == 0, "seed \(seed): \(failures) of \(Self.casesPerSeed) cases differ")
            // Not vacuous: a good share of cases are plain repeats the fast path must take.
            #expect(taken >= Self.casesPerSeed / 20, "seed \(seed): the fast path took only \(taken) of \(Self.casesPerSeed)")
            #expect(readable >= Self.casesPerSeed / 10, "seed \(seed): the fast path read only \(readable) of \(Self.casesPerSeed)")
            print("DuplicateFastPathEquivalenceTests: seed \(seed): \(taken) taken, \(readable) read by the fast path, of \(Self.casesPerSeed)")
        }
    }

    @Test("a repeat through a real libnats message takes the fast path; its alert is updated as the full path would")
    func realMessage() {
        let ingestor = makeIngestor()
        let event = AlertEvent(alertType: "process_crash", severity: .critical, source: "w-7", summary: "crashed",
                               labels: ["node": "n1"], annotations: ["runbook": "https://r/x"], currentValue: 1)
        deliver(ingestor, payload: ProtobufEventEncoder.encode(event))
        var repeated = event
        repeated.currentValue = 2
        repeated.iteration = 9
        deliver(ingestor, payload: ProtobufEventEncoder.encode(repeated))
        deliver(ingestor, payload: ProtobufEventEncoder.encode(repeated), contentType: "application/protobuf")
        #expect(ingestor.counters.wireDuplicates.load(ordering: .relaxed) == 2)
        #expect(ingestor.counters.duplicates.load(ordering: .relaxed) == 2)
        #expect(ingestor.counters.decoded.load(ordering: .relaxed) == 3)
        var withSubject = repeated
        withSubject.subject = "system.error.critical"
        let alert = ingestor.store.alert(withSubject.fingerprint)
        #expect(alert?.repeatCount == 2)
        #expect(alert?.currentValue == 2)
        #expect(alert?.iteration == 9)
        // Changed annotations take the full path, which records them.
        repeated.summary = "crashed again"
        deliver(ingestor, payload: ProtobufEventEncoder.encode(repeated))
        #expect(ingestor.counters.wireDuplicates.load(ordering: .relaxed) == 2)
        #expect(ingestor.store.alert(withSubject.fingerprint)?.annotations["summary"] == "crashed again")
    }

    @Test("rules that read events turn the fast path off; rules on samples only do not")
    func rulesThatReadEvents() {
        let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
        let store = AlertStore()
        let counting = RuleEvaluator(rules: [EventRule(name: "bursts", kind: .eventCount(count: 3, window: .seconds(60)),
                                                       subjects: [SubjectPattern("system.>")])], store: store)
        let sampling = RuleEvaluator(rules: [EventRule(name: "hot", kind: .threshold(Condition(.greater, 80), holdFor: nil),
                                                       subjects: [SubjectPattern("metrics.>")])], store: store)
        #expect(!EventIngestor(store: store, transitions: AlertTransitionBuffer(), logger: logger, rules: counting).duplicateFastPath)
        #expect(EventIngestor(store: store, transitions: AlertTransitionBuffer(), logger: logger, rules: sampling).duplicateFastPath)
    }
}

/// Generates oracle cases from a seed: a random event, a store prepared
/// with it (or a variant, or nothing), and the event again, mutated or not.
struct PayloadGenerator {
    enum Value {
        case varint(UInt64)
        case bytes([UInt8])
        case fixed64(UInt64)
    }

    struct Field {
        var number: Int
        var value: Value
    }

    var random: SeededGenerator

    init(seed: UInt64) {
        random = SeededGenerator(seed: seed)
    }

    static let preparedMs = UInt64(DuplicatePathOracle.preparedAt.timeIntervalSince1970 * 1000)
    static let subjects = ["system.error.critical", "a", "sim.ünïcødé", "x"]
    static let tight = EventLimits(maxPayloadBytes: 400, maxLabels: 4, maxLabelNameBytes: 12, maxLabelValueBytes: 16,
                                   maxAnnotations: 3, maxAnnotationValueBytes: 48, maxClockSkew: .seconds(60))

    mutating func pick<T>(_ options: [T]) -> T { options[Int(random.next() % UInt64(options.count))] }
    mutating func chance(_ percent: UInt64) -> Bool { random.next() % 100 < percent }

    mutating func string() -> [UInt8] {
        Array(pick(["", "disk_full", "process_crash", "node-1", "w7", "ünï", "a b", String(repeating: "v", count: 20)]).utf8)
    }

    /// A random FIRING event, fields in wire order or shuffled.
    mutating func event() -> [Field] {
        var fields: [Field] = []
        func add(_ number: Int, _ value: Value) { fields.append(Field(number: number, value: value)) }
        if chance(90) { add(1, .bytes(Array(pick(["disk_full", "process_crash", "", "ünï_type"]).utf8))) }
        if chance(80) { add(2, .varint(pick([0, 1, 2, 3, 4, 4, 2]))) }
        if chance(10) { add(3, .varint(0)) }
        if chance(80) { add(4, .bytes(Array(pick(["node-1", "", "w-7"]).utf8))) }
        if chance(70) { add(5, .bytes(Array(pick(["disk almost full", "", "Worker w1 failed"]).utf8))) }
        if chance(30) { add(6, .bytes(Array(pick(["check it", ""]).utf8))) }
        for _ in 0..<Int(random.next() % 5) {
            add(7, .bytes(Self.entry(pick(["node", "team", "zone", "alertname", "severity", "source", "subject", "a_b", "X1", "_x"]),
                                pick(["n1", "db", "", "rack-1", "ü", "critical"]))))
        }
        for _ in 0..<Int(random.next() % 4) {
            add(8, .bytes(Self.entry(pick(["runbook", "summary", "description", "note"]), pick(["https://r/x", "", "text", "disk almost full"]))))
        }
        if chance(60) {
            add(9, .varint(pick([0, Self.preparedMs - 5_000, Self.preparedMs, Self.preparedMs + 1_000, Self.preparedMs + 600_000, 1])))
        }
        if chance(30) { add(10, .fixed64(pick([1.5, 0, -0.0, 93.5, .nan, .infinity, -.infinity] as [Double]).bitPattern)) }
        if chance(20) { add(11, .fixed64(pick([90.0, 0, .nan] as [Double]).bitPattern)) }
        if chance(20) { add(12, .varint(pick([0, 7, 1 << 40, UInt64.max]))) }
        if chance(10) { add(13, .bytes(Array(pick(["k1", "k2", ""]).utf8))) }
        if chance(30) { add(14, .bytes(Array(pick(["id-1", "id-2", ""]).utf8))) }
        if chance(20) { add(15, .bytes(Array(pick(["https://g/x", ""]).utf8))) }
        if chance(30) { fields.shuffle(using: &random) }
        return fields
    }

    static func entry(_ name: String, _ value: String) -> [UInt8] {
        Self.encode([Field(number: 1, value: .bytes(Array(name.utf8))), Field(number: 2, value: .bytes(Array(value.utf8)))])
    }

    static func varint(_ value: UInt64) -> [UInt8] {
        var value = value
        var out: [UInt8] = []
        repeat {
            let byte = UInt8(value & 0x7f)
            value >>= 7
            out.append(value == 0 ? byte : byte | 0x80)
        } while value != 0
        return out
    }

    static func encode(_ field: Field) -> [UInt8] {
        switch field.value {
        case .varint(let value): varint(UInt64(field.number << 3)) + varint(value)
        case .bytes(let bytes): varint(UInt64(field.number << 3 | 2)) + varint(UInt64(bytes.count)) + bytes
        case .fixed64(let bits): varint(UInt64(field.number << 3 | 1)) + withUnsafeBytes(of: bits.littleEndian, Array.init)
        }
    }

    static func encode(_ fields: [Field]) -> [UInt8] { fields.flatMap { encode($0) } }

    /// One case and the name of its mutation.
    mutating func nextCase() -> (DuplicatePathOracle.Case, String) {
        let base = event()
        var prefix: [[UInt8]]
        switch random.next() % 6 {
        case 0: prefix = []
        case 1, 2: prefix = [Self.encode(base)]
        case 3: prefix = [Self.encode(base), Self.encode(base)]
        case 4: prefix = [Self.encode(mutateValue(base))]
        default:
            var resolved = base.filter { $0.number != 3 }
            resolved.append(Field(number: 3, value: .varint(1)))
            prefix = [Self.encode(base), Self.encode(resolved)]
        }
        var (candidate, mutation) = mutate(base)
        var contentType: String?
        if chance(5) {
            contentType = pick(["application/protobuf", "application/json", "text/plain", "application/x-protobuf; charset=x"])
            mutation += " + Content-Type \(contentType!)"
            if contentType == "application/json", let event = try? candidate.withUnsafeBytes({ try ProtobufEventDecoder.decode($0, subject: "s") }) {
                candidate = JSONEventEncoder.encode(event)
                prefix = prefix.map { payload in
                    (try? payload.withUnsafeBytes { try ProtobufEventDecoder.decode($0, subject: "s") }).map { JSONEventEncoder.encode($0) } ?? payload
                }
            }
        }
        let test = DuplicatePathOracle.Case(prefix: prefix, candidate: candidate, subject: pick(Self.subjects), contentType: contentType,
                                            limits: chance(25) ? Self.tight : .default)
        return (test, mutation)
    }

    /// The same event with one field's value redrawn.
    mutating func mutateValue(_ fields: [Field]) -> [Field] {
        let other = event()
        guard let field = other.randomElement(using: &random) else { return fields }
        var result = fields.filter { $0.number != field.number || $0.number == 7 || $0.number == 8 }
        result.append(field)
        return result
    }

    mutating func mutate(_ fields: [Field]) -> ([UInt8], String) {
        switch random.next() % 20 {
        case 0, 1, 2, 3, 4, 5:
            var fields = fields
            if chance(50) { fields.shuffle(using: &random) }
            return (Self.encode(fields), "repeat")
        case 6:
            return (Self.encode(mutateValue(fields)), "one field redrawn")
        case 7:
            var bytes = Self.encode(fields)
            if !bytes.isEmpty { bytes[Int(random.next() % UInt64(bytes.count))] ^= 1 << UInt8(random.next() % 8) }
            return (bytes, "bit flip")
        case 8:
            let bytes = Self.encode(fields)
            return (Array(bytes.prefix(Int(random.next() % UInt64(bytes.count + 1)))), "truncation")
        case 9:
            guard let field = fields.randomElement(using: &random) else { return ([], "empty") }
            return (Self.encode(fields + [field]), "field \(field.number) duplicated")
        case 10:
            let number = Int(pick([0, 16, 17, 31, 100, 536_870_911] as [UInt64]))
            let value: Value = pick([.varint(1), .bytes([1, 2]), .fixed64(0)])
            return (Self.encode(fields + [Field(number: number, value: value)]), "unknown field \(number)")
        case 11:
            let bad: [UInt8] = pick([[0xff], [0xc3, 0x28], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xc0, 0xaf], [0xe2, 0x82]])
            return (Self.encode(replacingString(fields, with: { $0 + bad })), "invalid UTF-8")
        case 12:
            return (Self.encode(replacingString(fields, with: { $0 + [0] + $0 })), "NUL byte")
        case 13:
            let name = pick(["1a", "__x", "a-b", "", "ä", "a.b", "a b"])
            return (Self.encode(fields + [Field(number: 7, value: .bytes(Self.entry(name, "v")))]), "label name \(name)")
        case 14:
            let long = String(repeating: "x", count: Int(pick([12, 13, 16, 17, 48, 49, 1025, 16_385] as [UInt64])))
            var result = fields
            switch random.next() % 4 {
            case 0: result.append(Field(number: 7, value: .bytes(Self.entry("node", long))))
            case 1: result.append(Field(number: 8, value: .bytes(Self.entry("note", long))))
            case 2: result.append(Field(number: 7, value: .bytes(Self.entry(long, "v"))))
            default: result = replacingString(fields, with: { _ in Array(long.utf8) })
            }
            return (Self.encode(result), "oversize \(long.count)")
        case 15:
            var result = fields
            for _ in 0..<Int(random.next() % 40) {
                result.append(Field(number: pick([7, 8]), value: .bytes(Self.entry("l\(random.next() % 50)", pick(["", "v"])))))
            }
            return (Self.encode(result), "many or empty entries")
        case 16:
            // Odd but valid encodings: padded varints, multi-byte tags, entries value first or without value.
            var bytes: [UInt8] = []
            for field in fields {
                switch (field.value, random.next() % 4) {
                case (.bytes(let data), 0) where data.count < 128: bytes += Self.varint(UInt64(field.number << 3 | 2)) + [UInt8(data.count) | 0x80, 0x00] + data
                case (.varint(let value), 1): bytes += [UInt8(field.number << 3) | 0x80, 0x00] + Self.varint(value)
                case (.varint(let value), 2): bytes += Self.varint(UInt64(field.number << 3)) + [UInt8(value & 0x7f) | 0x80, 0x80, 0x00]
                default: bytes += Self.encode(field)
                }
            }
            let entryForms: [[UInt8]] = [[0x12, 0x01, 0x76, 0x0a, 0x01, 0x61], [0x0a, 0x01, 0x61], [0x0a, 0x01, 0x61, 0x12, 0x00, 0x18, 0x01],
                                         [0x12, 0x01, 0x76], [0x0a, 0x01, 0x61, 0x0a, 0x01, 0x62]]
            let form = pick(entryForms)
            bytes += Self.varint(UInt64(pick([7, 8] as [Int]) << 3 | 2)) + Self.varint(UInt64(form.count)) + form
            return (bytes, "odd encodings")
        case 17:
            var result = fields.filter { $0.number != 3 }
            result.append(Field(number: 3, value: .varint(pick([1, 2, 1 << 35]))))
            return (Self.encode(result), "status changed")
        case 18:
            var bytes = Self.encode(fields)
            let position = Int(random.next() % UInt64(bytes.count + 1))
            if chance(50) || bytes.isEmpty {
                bytes.insert(UInt8(truncatingIfNeeded: random.next()), at: position)
            } else {
                bytes.remove(at: min(position, bytes.count - 1))
            }
            return (bytes, "byte inserted or removed")
        default:
            var result = fields.filter { ![2, 9, 10, 11, 12].contains($0.number) }
            result.append(Field(number: pick([2, 9, 12]), value: .varint(pick([5, 99, UInt64.max, 1 << 63, Self.preparedMs + 100_000_000]))))
            result.append(Field(number: pick([10, 11]), value: .fixed64(pick([Double.nan, .infinity, 1e308, -1] as [Double]).bitPattern)))
            return (Self.encode(result), "values out of range")
        }
    }

    /// Changes one string field or label/annotation value (or adds one).
    mutating func replacingString(_ fields: [Field], with change: ([UInt8]) -> [UInt8]) -> [Field] {
        var result = fields
        let candidates = result.indices.filter { if case .bytes = result[$0].value { return true } else { return false } }
        guard let index = candidates.randomElement(using: &random), case .bytes(let bytes) = result[index].value else {
            return result + [Field(number: 1, value: .bytes(change(Array("t".utf8))))]
        }
        if result[index].number == 7 || result[index].number == 8 {
            // Inside the entry: the key or the value.
            let key = chance(50)
            let name = Array(bytes.dropFirst(2).prefix(Int(bytes.count > 1 ? bytes[1] : 0)))
            let rest = Array(bytes.dropFirst(2 + name.count))
            let value = rest.count > 2 ? Array(rest.dropFirst(2)) : []
            let (newName, newValue) = key ? (change(name), value) : (name, change(value))
            result[index].value = .bytes(Self.encode([Field(number: 1, value: .bytes(newName)), Field(number: 2, value: .bytes(newValue))]))
        } else {
            result[index].value = .bytes(change(bytes))
        }
        return result
    }
}

