import AlertCore
import AlertIngest
import AlertTestSupport
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing

/// The built binary in durable mode under a long stream of hostile payloads
/// through a real nats-server (issue 13's soak). The suite runs 100,000
/// payloads; `NATS_ALERTER_SOAK_PAYLOADS` sets another count
/// (`scripts/fuzz.sh --soak [COUNT]`, default 1,000,000; figures in README
/// "Reliability").
@Suite("Soak: hostile payloads through JetStream", .serialized)
struct SoakTests {
    static var payloadCount: Int {
        ProcessInfo.processInfo.environment["NATS_ALERTER_SOAK_PAYLOADS"].flatMap { Int($0) } ?? 100_000
    }

    /// One valid event in ten; the rest rotate through the hostile kinds.
    static let validEvery = 10
    /// Distinct valid alerts (each sent many times: the rest are duplicates).
    static let distinctValid = 500

    /// The hostile payload number `index`, with its Content-Type header (nil: none).
    static func hostile(_ index: Int, _ random: inout SeededGenerator, template: [UInt8]) -> ([UInt8], String?) {
        switch index % 12 {
        case 0: return (random.bytes(1 + random.below(300)), nil)
        case 1:
            var flipped = template
            for _ in 0..<(1 + random.below(3)) { flipped[random.below(flipped.count)] ^= UInt8(1 << random.below(8)) }
            return (flipped, nil)
        case 2: return (Array(template.prefix(1 + random.below(template.count - 1))), nil)
        case 3:
            let depth = 100 + random.below(900)
            return (Array(("{\"alertType\":\"deep\",\"labels\":" + String(repeating: "{\"a\":", count: depth) + "1" + String(repeating: "}", count: depth) + "}").utf8),
                    "application/json")
        case 4:
            let numbers = ["\"occurredAtUnixMs\":\"9223372036854775807\"", "\"occurredAtUnixMs\":\"-9223372036854775807\"", "\"currentValue\":\"NaN\"",
                           "\"thresholdValue\":\"Infinity\"", "\"occurredAtUnixMs\":\"95617584000000\"", "\"currentValue\":1e999",
                           "\"iteration\":\"99999999999999999999999\"", "\"occurredAtUnixMs\":1.5e300"]
            return (Array("{\"alertType\":\"soak_numbers\",\(numbers[random.below(numbers.count)]),\"source\":\"n\(random.below(20))\"}".utf8), "application/json")
        case 5: return ([0x7b, 0x22, 0x61, 0x6c, 0x65, 0x72, 0x74, 0x54, 0x79, 0x70, 0x65, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0xc3, 0x28, 0x22, 0x7d], "application/json")
        case 6: return ([0x0a, 0x04, 0xed, 0xa0, 0x80, 0x41, 0x10, 0x04], nil)
        case 7:
            let labels = Dictionary(uniqueKeysWithValues: (0..<(40 + random.below(200))).map { ("l\($0)", String(repeating: "v", count: 1 + random.below(100))) })
            return (ProtobufEventEncoder.encode(AlertEvent(alertType: "soak_oversized", labels: labels)), nil)
        case 8:
            let types = ["text/csv", "application/json; charset=latin1", "application/xml", "APPLICATION/JSON", "application/x-protobuf", "multipart/form-data"]
            return (template, types[random.below(types.count)])
        case 9: return (Array("{\"alertType\": ".utf8), "application/json")
        case 10: return (Array(repeating: 0x0a, count: 8_200 + random.below(2_000)), nil)  // over max_payload_bytes
        default: return (Array("[\(random.next())]".utf8), "application/json")
        }
    }

    static func valid(_ index: Int) -> ([UInt8], String?) {
        let event = AlertEvent(alertType: "soak_valid", severity: .error, source: "s\(index % distinctValid)", subject: "")
        return index % 2 == 0 ? (ProtobufEventEncoder.encode(event), nil) : (JSONEventEncoder.encode(event), "application/json")
    }

    static func residentKilobytes(_ pid: Int32) -> Int? {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }) else { return nil }
        return Int(line.split(separator: " ", omittingEmptySubsequences: true)[1])
    }

    static func metric(_ text: String, _ name: String) -> Int {
        text.split(separator: "\n").filter { $0.hasPrefix(name + "{") }.reduce(0) { total, line in
            total + (Double(line.split(separator: " ").last ?? "0").map { Int($0) } ?? 0)
        }
    }

    @Test("hostile payloads interleaved with valid events: the process stays up, decoded + rejected = received, every valid alert present, RSS bounded")
    func soak() async throws {
        let total = Self.payloadCount
        let directory = try makeTemporaryDirectory("soak")
        defer { try? FileManager.default.removeItem(at: directory) }
        let nats = try await NATSServer.start(in: directory)
        defer { nats.kill() }
        let port = freeLoopbackPort()
        let alerter = try AlerterProcess(config: """
            nats:
              servers: ["\(nats.url)"]
              subjects: ["system.>"]
              jetstream: {stream: EVENTS, durable: alerter}
              limits: {max_payload_bytes: 8192}
            state: {backend: jetstream}
            server: {listen_address: "127.0.0.1:\(port)"}
            route: {receiver: oncall, group_by: ['...'], group_wait: 0s, group_interval: 1s, repeat_interval: 1h}
            receivers: [{name: oncall}]
            log: {level: warning}
            """, directory: directory)
        defer { alerter.process.kill() }
        #expect(await alerter.waitUntilReady(timeout: .seconds(20)))
        let pid = alerter.process.pid
        let baseline = try #require(Self.residentKilobytes(pid))

        let publisher = try await runBlocking { () throws(NATSError) in
            try NATSConnection(configuration: .init(servers: [nats.url], name: "soak-publisher"), logger: quietLogger)
        }
        let template = ProtobufEventEncoder.encode(AlertEvent(alertType: "soak_template", severity: .critical, source: "node-7",
                                                              labels: ["team": "db", "zone": "b"], currentValue: 93.5, thresholdValue: 90))
        var random = SeededGenerator(state: 0x5EED)
        var validSent = 0
        var peak = baseline
        let started = ContinuousClock.now
        for index in 0..<total {
            let (payload, contentType): ([UInt8], String?)
            if index % Self.validEvery == 0 {
                (payload, contentType) = Self.valid(validSent)
                validSent += 1
            } else {
                (payload, contentType) = Self.hostile(index, &random, template: template)
            }
            try publisher.publish(subject: "system.soak", payload: payload, headers: contentType.map { [("Content-Type", $0)] } ?? [])
            if index % 500 == 499 {
                try await runBlocking { () throws(NATSError) in try publisher.flush(timeout: .seconds(30)) }
            }
            if index % 20_000 == 0 {
                #expect(alerter.process.isRunning, "the service died after \(index) payloads")
                if !alerter.process.isRunning { return }
                peak = max(peak, Self.residentKilobytes(pid) ?? 0)
            }
        }
        try await runBlocking { () throws(NATSError) in try publisher.flush(timeout: .seconds(30)) }
        let published = started.duration(to: .now)

        // Wait (bounded) until the service has received every payload.
        var metrics = ""
        let deadline = ContinuousClock.now + .seconds(60 + total / 300)
        while ContinuousClock.now < deadline {
            metrics = (try? String(contentsOf: URL(string: "http://127.0.0.1:\(port)/metrics")!, encoding: .utf8)) ?? metrics
            let received = Self.metric(metrics, "nats_alerter_events_received_total")
            let settled = Self.metric(metrics, "nats_alerter_events_decoded_total") + Self.metric(metrics, "nats_alerter_events_rejected_total") == received
            if received >= total && settled { break }
            peak = max(peak, Self.residentKilobytes(pid) ?? 0)
            try await Task.sleep(for: .milliseconds(500))
        }
        let processed = started.duration(to: .now)
        peak = max(peak, Self.residentKilobytes(pid) ?? 0)
        let received = Self.metric(metrics, "nats_alerter_events_received_total")
        let decoded = Self.metric(metrics, "nats_alerter_events_decoded_total")
        let rejected = Self.metric(metrics, "nats_alerter_events_rejected_total")
        let seconds = Double(processed.components.seconds) + Double(processed.components.attoseconds) / 1e18
        print("soak: \(total) payloads (\(validSent) valid), published in \(published), processed in \(processed) "
            + "(\(Int(Double(total) / seconds)) payloads/s); decoded \(decoded), rejected \(rejected); "
            + "RSS \(baseline / 1024) MB at start, peak \(peak / 1024) MB")

        #expect(alerter.process.isRunning)
        #expect(received == total, "received \(received) of \(total)")
        #expect(decoded + rejected == received, "decoded \(decoded) + rejected \(rejected) != received \(received)")
        #expect(decoded >= validSent)
        #expect(rejected >= (total - validSent) / 2, "most hostile payloads are rejected: \(rejected)")
        // Bounded: memory does not follow the payload count (the store holds
        // a few thousand alerts at most; a leak of even 1 KB per payload would show).
        #expect(peak - baseline < 300 * 1024, "RSS grew from \(baseline / 1024) MB to \(peak / 1024) MB")

        let filter = "filter=" + "alertname=\"soak_valid\"".addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
        let (data, _) = try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(port)/api/v2/alerts?\(filter)")!)
        let alerts = try #require(try JSONSerialization.jsonObject(with: data) as? [[String: Any]])
        let sources = Set(alerts.compactMap { ($0["labels"] as? [String: String])?["source"] })
        #expect(sources == Set((0..<min(Self.distinctValid, validSent)).map { "s\($0)" }), "\(sources.count) of \(min(Self.distinctValid, validSent)) valid alerts present")
        publisher.close()
    }
}
