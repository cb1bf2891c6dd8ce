import AlertCore
import AlertIngest
import Foundation
import Logging
import Testing

/// Ingest under bad input, through a real nats-server: the real connection
/// and subscription types, the real handler, on libnats' delivery thread.
@Suite("Bad input through a real nats-server")
struct GarbageFloodTests {
    @Test("10,000 garbage payloads interleaved with valid events: every valid one processed, every bad one counted by reason")
    func garbageFlood() async throws {
        let directory = try makeTemporaryDirectory("garbage")
        defer { try? FileManager.default.removeItem(at: directory) }
        let nats = try await NATSServer.start(in: directory)
        defer { nats.kill() }

        let logger = Logger(label: "garbage-test", factory: { _ in SwiftLogNoOpLogHandler() })
        let limits = EventLimits(maxPayloadBytes: 2048, maxLabels: 8)
        let ingestor = EventIngestor(store: AlertStore(), transitions: AlertTransitionBuffer(), limits: limits, logger: logger)
        let url = nats.url
        let consumer = try await runBlocking { () throws(NATSError) in
            try NATSConnection(configuration: .init(servers: [url], name: "garbage-consumer"), logger: logger)
        }
        let subscription = try NATSSubscription(connection: consumer, subject: "system.error.>", handler: ingestor)
        try await runBlocking { () throws(NATSError) in try consumer.flush() }
        let publisher = try await runBlocking { () throws(NATSError) in
            try NATSConnection(configuration: .init(servers: [url], name: "garbage-publisher"), logger: logger)
        }

        // Eight kinds of garbage, each a distinct reason, in rotation.
        let valid = ProtobufEventEncoder.encode(AlertEvent(alertType: "probe", source: "x", labels: ["n": "0"]))
        let garbage: [(RejectReason, [UInt8], String?)] = [
            (.invalidProtobuf, Array(valid.prefix(valid.count - 3)), nil),
            (.invalidJSON, Array("{\"alertType\": ".utf8), "application/json"),
            (.payloadTooLarge, [UInt8](repeating: 0x0a, count: 4096), nil),
            (.unsupportedContentType, valid, "text/csv"),
            (.unknownEnumValue, [0x10, 0x2a], nil),
            (.invalidUTF8, [0x0a, 0x02, 0xc3, 0x28], nil),
            (.tooManyLabels, ProtobufEventEncoder.encode(AlertEvent(alertType: "x", labels: Dictionary(uniqueKeysWithValues: (0..<9).map { ("l\($0)", "v") })))
                , nil),
            (.invalidLabelName, ProtobufEventEncoder.encode(AlertEvent(alertType: "x", labels: ["0bad": "v"])), nil),
        ]
        let garbageCount = 10_000
        let distinctAlerts = 1_000
        var expected: [RejectReason: Int] = [:]
        var validSent = 0
        for index in 0..<garbageCount {
            let (reason, payload, contentType) = garbage[index % garbage.count]
            expected[reason, default: 0] += 1
            try publisher.publish(subject: "system.error.garbage", payload: payload, headers: contentType.map { [("Content-Type", $0)] } ?? [])
            if index % 5 == 0 {
                // 2,000 valid events: 1,000 distinct alerts, each twice; half as JSON.
                let alert = validSent % distinctAlerts
                let event = AlertEvent(alertType: "worker_crash", severity: .error, source: "worker-\(alert)", subject: "")
                if validSent % 2 == 0 {
                    try publisher.publish(subject: "system.error.valid", payload: ProtobufEventEncoder.encode(event))
                } else {
                    try publisher.publish(subject: "system.error.valid", payload: JSONEventEncoder.encode(event), headers: [("Content-Type", "application/json")])
                }
                validSent += 1
            }
        }
        try await runBlocking { () throws(NATSError) in try publisher.flush(timeout: .seconds(10)) }
        let total = garbageCount + validSent
        let counters = ingestor.counters
        let allSeen = await waitUntil(timeout: .seconds(60)) { counters.received.load(ordering: .relaxed) >= total }
        #expect(allSeen, "received \(counters.received.load(ordering: .relaxed)) of \(total)")

        #expect(validSent == 2_000)
        #expect(counters.rejectedByReason == expected)
        #expect(counters.rejectedTotal == garbageCount)
        #expect(counters.decoded.load(ordering: .relaxed) == validSent)
        #expect(counters.fired.load(ordering: .relaxed) == distinctAlerts)
        #expect(counters.duplicates.load(ordering: .relaxed) == validSent - distinctAlerts)
        #expect(ingestor.store.activeCount == distinctAlerts)
        #expect(subscription.droppedCount == 0)
        #expect(consumer.counters.slowConsumerErrors == 0)
        publisher.close()
        try await runBlocking { () throws(NATSError) in try subscription.drain(timeout: .seconds(5)) }
    }
}
