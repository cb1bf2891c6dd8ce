public import AlertCore
import AlertIngest
public import Foundation
import Logging
import Synchronization

/// Holds the duplicate fast path (`DuplicateFastPath`, docs/ARCHITECTURE.md,
/// Data flow, step 1) to the full path: the same events go to two
/// ingestors whose stores were prepared alike, one with the fast path and
/// one without, and everything they leave behind is compared — the route
/// and fingerprint, the store (firing and resolved alerts, every field),
/// the counters, the transitions handed on and the acknowledgements.
///
/// Run by `DuplicateFastPathEquivalenceTests` on generated payloads and by
/// the `fuzz-duplicate-path` libFuzzer target on mutated ones.
public enum DuplicatePathOracle {
    public struct Case: Sendable {
        /// Payloads both ingestors take first (at `preparedAt`), building the store state.
        public var prefix: [[UInt8]]
        /// The payload compared (at `receivedAt`).
        public var candidate: [UInt8]
        public var subject: String
        public var contentType: String?
        public var limits: EventLimits

        public init(prefix: [[UInt8]], candidate: [UInt8], subject: String = "system.error.critical",
                    contentType: String? = nil, limits: EventLimits = .default) {
            self.prefix = prefix
            self.candidate = candidate
            self.subject = subject
            self.contentType = contentType
            self.limits = limits
        }
    }

    public struct Verdict: Sendable {
        /// The fingerprint when the fast path took the candidate; nil when it fell back.
        public var fastPath: Fingerprint?
        /// The fingerprint the fast path reads from the candidate alone (`EventIngestor.wireFingerprint`).
        public var wire: Fingerprint?
        /// What differed between the two paths; empty when nothing did.
        public var mismatches: [String]
    }

    public static let preparedAt = Date(timeIntervalSince1970: 1_800_000_000)
    public static let receivedAt = preparedAt.addingTimeInterval(1.5)

    public static func compare(_ test: Case) -> Verdict {
        let fast = Side(limits: test.limits, fastPath: true)
        let full = Side(limits: test.limits, fastPath: false)
        for payload in test.prefix {
            fast.handle(payload, test, at: preparedAt)
            full.handle(payload, test, at: preparedAt)
        }
        // The transitions of the prefix are compared too, then cleared.
        var mismatches: [String] = []
        if fast.ingestor.transitions.drainNow().transitions != full.ingestor.transitions.drainNow().transitions {
            mismatches.append("prefix transitions differ")
        }
        let duplicatesBefore = full.ingestor.counters.duplicates.load(ordering: .relaxed)
        let fastRoute = fast.handle(test.candidate, test, at: receivedAt)
        let fullRoute = full.handle(test.candidate, test, at: receivedAt)
        var fingerprint: Fingerprint?
        if fullRoute != .decoded { mismatches.append("the full path took the fast path") }
        if case .wireDuplicate = fastRoute,
           full.ingestor.counters.duplicates.load(ordering: .relaxed) != duplicatesBefore + 1 {
            mismatches.append("fast path took an event the full path did not count as a duplicate")
        }
        // Whatever the store holds: a payload the fast path reads must be one
        // the full path accepts as is, with the fingerprint the fast path hashed.
        let wire = test.contentType == "application/json" ? nil : test.candidate.withUnsafeBytes {
            EventIngestor.wireFingerprint(payload: $0, subject: test.subject, limits: test.limits, receivedAt: receivedAt)
        }
        if case .wireDuplicate(let taken) = fastRoute, taken != wire {
            mismatches.append("fast path took \(taken), the payload alone gives \(wire.map(\.description) ?? "nil")")
        }
        if let taken = wire {
            if case .wireDuplicate = fastRoute { fingerprint = taken }
            let decoded = test.candidate.withUnsafeBytes { bytes in
                Result { () throws(EventRejection) -> AlertEvent in
                    let event = try ProtobufEventDecoder.decode(bytes, subject: test.subject)
                    try event.validate(test.limits)
                    return event
                }
            }
            switch decoded {
            case .success(var event):
                if !event.sanitize(receivedAt: receivedAt, limits: test.limits).isEmpty {
                    mismatches.append("fast path took an event that needed sanitizing")
                }
                if event.status != .firing { mismatches.append("fast path took a \(event.status)") }
                if event.fingerprint != taken { mismatches.append("fingerprint \(taken) on the fast path, \(event.fingerprint) decoded") }
            case .failure(let error):
                mismatches.append("fast path took an event the full path rejects: \(error.reason.rawValue)")
            }
        }
        mismatches += differences(fast, full)
        return Verdict(fastPath: fingerprint, wire: wire, mismatches: mismatches)
    }

    static func differences(_ fast: Side, _ full: Side) -> [String] {
        var found: [String] = []
        let (fastActive, fullActive) = (fast.ingestor.store.activeAlerts(), full.ingestor.store.activeAlerts())
        if fastActive != fullActive { found.append("firing alerts differ:\n  fast \(fastActive)\n  full \(fullActive)") }
        if fast.ingestor.store.resolvedAlerts() != full.ingestor.store.resolvedAlerts() { found.append("resolved alerts differ") }
        if fast.ingestor.counters.snapshot != full.ingestor.counters.snapshot {
            found.append("counters differ: fast \(fast.ingestor.counters.snapshot), full \(full.ingestor.counters.snapshot)")
        }
        if fast.ingestor.counters.adjustedByField != full.ingestor.counters.adjustedByField { found.append("adjustment counters differ") }
        let (fastTransitions, fullTransitions) = (fast.ingestor.transitions.drainNow(), full.ingestor.transitions.drainNow())
        if fastTransitions.transitions != fullTransitions.transitions { found.append("transitions differ") }
        if fastTransitions.acknowledgements.count != fullTransitions.acknowledgements.count { found.append("acknowledgements handed on differ") }
        if fast.acks.count.load(ordering: .relaxed) != full.acks.count.load(ordering: .relaxed) {
            found.append("acks differ: fast \(fast.acks.count.load(ordering: .relaxed)), full \(full.acks.count.load(ordering: .relaxed))")
        }
        return found
    }

    /// One ingestor with its own store, clock and acknowledgement counter.
    final class Side {
        let ingestor: EventIngestor
        let clock: SettableClock
        let acks = CountingAcknowledgement()

        init(limits: EventLimits, fastPath: Bool) {
            let clock = SettableClock()
            self.clock = clock
            ingestor = EventIngestor(store: AlertStore(limits: .init(maxActiveAlerts: 64)), transitions: AlertTransitionBuffer(),
                                     limits: limits, clock: clock, logger: Logger(label: "oracle", factory: { _ in SwiftLogNoOpLogHandler() }),
                                     duplicateFastPath: fastPath)
        }

        @discardableResult
        func handle(_ payload: [UInt8], _ test: Case, at time: Date) -> EventIngestor.Route {
            clock.time.withLock { $0 = time }
            return payload.withUnsafeBytes {
                ingestor.handle(payload: $0, subject: test.subject, contentType: test.contentType, acknowledgement: acks)
            }
        }
    }

    final class SettableClock: WallClock {
        let time = Mutex(DuplicatePathOracle.preparedAt)
        func now() -> Date { time.withLock { $0 } }
    }

    final class CountingAcknowledgement: Acknowledgeable {
        let count = Atomic<Int>(0)
        func ack() { count.add(1, ordering: .relaxed) }
    }

    /// The fuzz target's input: a subject choice, a prefix payload and the
    /// candidate. Byte 0 picks the subject and the limits, bytes 1–2 the
    /// prefix length (little-endian); the prefix is applied twice (so its
    /// alert is firing or resolved, with a repeat count), then the candidate.
    public static func fuzzCase(_ bytes: UnsafeRawBufferPointer) -> Case? {
        guard bytes.count >= 3 else { return nil }
        let selector = bytes[0]
        let length = min(Int(bytes[1]) | Int(bytes[2]) << 8, bytes.count - 3)
        let prefix = [UInt8](bytes[3..<(3 + length)])
        let candidate = [UInt8](bytes[(3 + length)...])
        let subjects = ["system.error.critical", "a", "sim.ünïcødé", "x.\u{7f}"]
        let tight = EventLimits(maxPayloadBytes: 400, maxLabels: 4, maxLabelNameBytes: 12, maxLabelValueBytes: 16, maxAnnotations: 3,
                                maxAnnotationValueBytes: 48, maxClockSkew: .seconds(60))
        return Case(prefix: [prefix, prefix], candidate: candidate, subject: subjects[Int(selector & 3)],
                    contentType: selector & 4 == 0 ? nil : "application/x-protobuf", limits: selector & 8 == 0 ? .default : tight)
    }

    /// The fuzz target's check: a mismatch is a finding (it traps).
    public static func fuzz(_ bytes: UnsafeRawBufferPointer) {
        guard let test = fuzzCase(bytes) else { return }
        let verdict = compare(test)
        if !verdict.mismatches.isEmpty {
            fatalError("duplicate fast path differs from the full path: \(verdict.mismatches.joined(separator: "; "))")
        }
    }
}
