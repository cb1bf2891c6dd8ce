import AlertCore
@testable import AlertIngest
import CNats
import Logging
import Testing

/// Feeds one real libnats message (built with natsMsg_Create, headers and
/// all) to the handler, as the delivery thread would.
func deliver(_ ingestor: EventIngestor, subject: String = "system.error.critical", payload: [UInt8], contentType: String? = nil) {
    _ = libnatsOpened
    var msg: OpaquePointer?
    let status = payload.withUnsafeBytes { buffer in
        natsMsg_Create(&msg, subject, nil, buffer.baseAddress?.assumingMemoryBound(to: CChar.self), Int32(buffer.count))
    }
    precondition(status == NATS_OK)
    if let contentType { precondition(natsMsgHeader_Set(msg, "Content-Type", contentType) == NATS_OK) }
    ingestor.handle(NATSMessage(msg: msg!))
    natsMsg_Destroy(msg)
}

/// libnats must be opened before messages are created outside a connection.
let libnatsOpened: Bool = nats_Open(-1) == NATS_OK

func makeIngestor(limits: EventLimits = .default, maxActive: Int = 1000) -> EventIngestor {
    EventIngestor(
        store: AlertStore(limits: .init(maxActiveAlerts: maxActive)), transitions: AlertTransitionBuffer(),
        limits: limits, logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
    )
}

@Suite("Event ingest handler")
struct EventIngestorTests {
    let crash = AlertEvent(alertType: "process_crash", severity: .critical, source: "w-7")

    @Test("protobuf by default, JSON with its Content-Type; duplicates stay on the callback thread")
    func formatsAndDuplicates() {
        let ingestor = makeIngestor()
        deliver(ingestor, payload: ProtobufEventEncoder.encode(crash))
        deliver(ingestor, payload: JSONEventEncoder.encode(crash), contentType: "application/json; charset=utf-8")
        deliver(ingestor, payload: ProtobufEventEncoder.encode(crash), contentType: "application/x-protobuf")
        #expect(ingestor.counters.received.load(ordering: .relaxed) == 3)
        #expect(ingestor.counters.decoded.load(ordering: .relaxed) == 3)
        #expect(ingestor.counters.fired.load(ordering: .relaxed) == 1)
        #expect(ingestor.counters.duplicates.load(ordering: .relaxed) == 2)
        let batch = ingestor.transitions.drainNow()
        #expect(batch.count == 1)
        guard case .fired(let alert) = batch.first else {
            Issue.record("expected one firing transition")
            return
        }
        #expect(alert.labels["subject"] == "system.error.critical")
    }

    @Test("a resolve is forwarded; a resolve of an unknown alert is only counted")
    func resolves() {
        let ingestor = makeIngestor()
        var resolved = crash
        resolved.status = .resolved
        deliver(ingestor, payload: ProtobufEventEncoder.encode(resolved))
        deliver(ingestor, payload: ProtobufEventEncoder.encode(crash))
        deliver(ingestor, payload: ProtobufEventEncoder.encode(resolved))
        #expect(ingestor.counters.resolvesOfUnknown.load(ordering: .relaxed) == 1)
        #expect(ingestor.counters.resolved.load(ordering: .relaxed) == 1)
        let kinds = ingestor.transitions.drainNow().map { transition -> String in
            switch transition {
            case .fired: "fired"
            case .resolved: "resolved"
            default: "other"
            }
        }
        #expect(kinds == ["fired", "resolved"])
    }

    @Test("each kind of bad input is counted under its reason and nothing else is lost")
    func rejections() {
        let ingestor = makeIngestor(limits: EventLimits(maxPayloadBytes: 512, maxLabels: 2))
        let valid = ProtobufEventEncoder.encode(crash)
        deliver(ingestor, payload: [UInt8](repeating: 0x41, count: 513))
        deliver(ingestor, payload: Array(valid.prefix(valid.count - 2)))
        deliver(ingestor, payload: Array("{oops".utf8), contentType: "application/json")
        deliver(ingestor, payload: valid, contentType: "text/plain")
        deliver(ingestor, payload: [0x10, 0x63])
        deliver(ingestor, payload: ProtobufEventEncoder.encode(AlertEvent(alertType: "x", labels: ["a": "1", "b": "2", "c": "3"])))
        deliver(ingestor, payload: ProtobufEventEncoder.encode(AlertEvent(alertType: "x", labels: ["bad-name": "1"])))
        deliver(ingestor, payload: [])
        deliver(ingestor, payload: valid)
        let counters = ingestor.counters
        #expect(counters.rejectedByReason == [
            .payloadTooLarge: 1, .invalidProtobuf: 1, .invalidJSON: 1, .unsupportedContentType: 1,
            .unknownEnumValue: 1, .tooManyLabels: 1, .invalidLabelName: 1, .emptyPayload: 1,
        ])
        #expect(counters.received.load(ordering: .relaxed) == 9)
        #expect(counters.fired.load(ordering: .relaxed) == 1)
        #expect(ingestor.store.activeCount == 1)
    }

    @Test("at the active-alert cap the refusal is forwarded for logging")
    func capacity() {
        let ingestor = makeIngestor(maxActive: 1)
        deliver(ingestor, payload: ProtobufEventEncoder.encode(crash))
        deliver(ingestor, payload: ProtobufEventEncoder.encode(AlertEvent(alertType: "other")))
        #expect(ingestor.counters.refusedAtCapacity.load(ordering: .relaxed) == 1)
        guard case .refusedAtCapacity = ingestor.transitions.drainNow().last else {
            Issue.record("expected a refusal")
            return
        }
    }
}

@Suite("Transition buffer")
struct AlertTransitionBufferTests {
    @Test("a waiting consumer gets everything appended, in order, in batches")
    func batches() async {
        let buffer = AlertTransitionBuffer()
        let producer = Task.detached {
            for index in 0..<1000 { buffer.append(.duplicate(Fingerprint(rawValue: UInt64(index)))) }
            buffer.finish()
        }
        var received: [UInt64] = []
        while true {
            let batch = await buffer.nextBatch()
            if batch.isEmpty { break }
            for case .duplicate(let fingerprint) in batch { received.append(fingerprint.rawValue) }
        }
        await producer.value
        #expect(received == (0..<1000).map(UInt64.init))
    }

    @Test("past capacity items are dropped and counted, never queued without bound")
    func bounded() {
        let buffer = AlertTransitionBuffer(capacity: 3)
        for index in 0..<5 { buffer.append(.duplicate(Fingerprint(rawValue: UInt64(index)))) }
        #expect(buffer.drainNow().count == 3)
        #expect(buffer.droppedCount == 2)
    }

    @Test("cancelling the consumer wakes it with an empty batch")
    func cancellation() async {
        let buffer = AlertTransitionBuffer()
        let consumer = Task { await buffer.nextBatch() }
        try? await Task.sleep(for: .milliseconds(20))
        consumer.cancel()
        #expect(await consumer.value.isEmpty)
    }
}
