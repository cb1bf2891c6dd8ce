import AlertCore
import AlertIngest
import Foundation
import Logging
import Synchronization
import Testing

/// Batched acks (docs/ARCHITECTURE.md, Durability, step 2) on a real
/// nats-server: the event consumer is AckAll, and one ack covers every lower
/// stream sequence, so a held event must hold the consumer's ack floor.
@Suite("Batched acks: AckAll event consumer on a real nats-server", .serialized)
struct BatchedAckTests {
    static let stream = "EVENTS"
    static let durable = "alerter"

    func event(_ source: String) -> [UInt8] {
        ProtobufEventEncoder.encode(AlertEvent(alertType: "disk_full", source: source))
    }

    @Test("a held new alert keeps the ack floor below it while later duplicates and a terminated bad event are done; after a restart it is redelivered, processed and acked")
    func heldEventHoldsTheFloor() async throws {
        let directory = try makeTemporaryDirectory("batched-acks")
        defer { try? FileManager.default.removeItem(at: directory) }
        let nats = try await NATSServer.start(in: directory)
        defer { nats.kill() }
        let connection = try await runBlocking { () throws(NATSError) in
            try NATSConnection(configuration: .init(servers: [nats.url], name: "batched-acks"), logger: quietLogger)
        }
        defer { connection.close() }
        let jetStream = try JetStream(connection: connection)
        try jetStream.ensureStream(EventStreamConfiguration(name: Self.stream), subscribed: ["system.>"])
        // 1–3: new alerts a, b, c; 4–9: duplicates of each; 10: not protobuf (terminated).
        for source in ["a", "b", "c", "a", "b", "c", "c", "b", "a"] {
            try connection.publish(subject: "system.disk", payload: event(source))
        }
        try connection.publish(subject: "system.disk", payload: Array("not protobuf".utf8))
        try connection.flush()

        // First run: the engine records a and b; c's effect is never recorded (held).
        var consumer = ConsumerConfiguration(durable: Self.durable, ackWait: .seconds(30), batchedAcks: true)
        let firstBuffer = AlertTransitionBuffer()
        let first = EventIngestor(store: AlertStore(), transitions: firstBuffer, logger: quietLogger)
        var firstConsumer: JetStreamConsumer? = try JetStreamConsumer(jetStream: jetStream, stream: Self.stream, subject: "system.>",
                                                                      consumer: consumer, handler: first)
        #expect(await waitUntil(timeout: .seconds(10)) { first.counters.received.load(ordering: .relaxed) == 10 })
        var held: TransitionBatch? = firstBuffer.drainNow()
        #expect(held?.acknowledgements.count == 3)
        held?.acknowledgements[0].ack()
        held?.acknowledgements[1].ack()
        #expect(await waitUntil(timeout: .seconds(5)) { (try? jetStream.ackFloor(stream: Self.stream, durable: Self.durable)) == 2 })
        // Everything above c is done, yet nothing past it is acked.
        try await Task.sleep(for: .milliseconds(300))
        #expect(try jetStream.ackFloor(stream: Self.stream, durable: Self.durable) == 2)
        #expect(firstConsumer?.acknowledgements?.floor == 2)
        let pending = try #require(try jetStream.consumerState(stream: Self.stream, durable: Self.durable))
        #expect(pending.acksAll)
        #expect(pending.ackPending == 8)

        // The process dies with c still held (the subscription destroyed, not
        // drained: libnats deletes a consumer its subscribe created when the
        // subscription is drained); c's delivery is released unacked.
        firstConsumer?.acknowledgements?.close()
        firstConsumer = nil
        held = nil
        try await Task.sleep(for: .milliseconds(100))
        #expect(try jetStream.ackFloor(stream: Self.stream, durable: Self.durable) == 2)

        // Restart as the service does (NATSIngest fencing): the durable
        // recreated at its ack floor + 1, with a and b restored from state.
        let floor = try #require(try jetStream.ackFloor(stream: Self.stream, durable: Self.durable))
        try jetStream.deleteConsumer(stream: Self.stream, durable: Self.durable)
        consumer.startSequence = floor + 1
        let secondBuffer = AlertTransitionBuffer()
        let second = EventIngestor(store: AlertStore(), transitions: secondBuffer, logger: quietLogger)
        for source in ["a", "b"] {
            let decoded = try event(source).withUnsafeBytes { bytes in try ProtobufEventDecoder.decode(bytes, subject: "system.disk") }
            second.apply(decoded)
        }
        _ = secondBuffer.drainNow()
        let secondConsumer = try JetStreamConsumer(jetStream: jetStream, stream: Self.stream, subject: "system.>", consumer: consumer, handler: second)
        #expect(await waitUntil(timeout: .seconds(10)) { second.counters.received.load(ordering: .relaxed) == 8 })
        let redelivered = secondBuffer.drainNow()
        #expect(redelivered.transitions.count == 1)
        if case .fired(let alert)? = redelivered.transitions.first {
            #expect(alert.labels["source"] == "c")
        } else {
            Issue.record("c was not redelivered as a new alert: \(redelivered.transitions)")
        }
        #expect(second.counters.duplicates.load(ordering: .relaxed) == 6)
        // Still held: nothing from c on is acked (a consumer created at
        // sequence 3 reports floor 0 until its first ack, on 2.9.10).
        try await Task.sleep(for: .milliseconds(300))
        let heldFloor = try jetStream.consumerState(stream: Self.stream, durable: Self.durable)
        #expect((heldFloor?.ackFloor ?? 99) < 3, "\(String(describing: heldFloor)), tracker floor \(String(describing: secondConsumer.acknowledgements?.floor))")
        // Recorded: one ack covers c, the duplicates and the bad event.
        redelivered.acknowledgements.forEach { $0.ack() }
        #expect(await waitUntil(timeout: .seconds(5)) { (try? jetStream.ackFloor(stream: Self.stream, durable: Self.durable)) == 10 })
        #expect(try jetStream.consumerState(stream: Self.stream, durable: Self.durable)?.ackPending == 0)
        withExtendedLifetime(secondConsumer) {}
    }
}
