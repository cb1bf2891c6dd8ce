import AlertCore
import Foundation
import Synchronization

/// The NATS service protocol ("micro", ADR-32) for the control plane's
/// endpoints: the replies to `$SRV.PING`, `$SRV.INFO` and `$SRV.STATS` (and
/// their `.<name>` and `.<name>.<id>` forms), with per-endpoint request
/// counts. libnats 3.4 has no micro API, so these are plain subscriptions
/// (docs/ARCHITECTURE.md, Control plane). Thread-safe.
final class ServiceDiscovery: Sendable {
    /// The service's name: the prefix with what a micro name may not hold replaced by `_`.
    let name: String
    /// This instance's id: random, new at each start.
    let id: String
    let version = AlerterMetrics.version
    private let endpoints: [(name: String, subject: String)]
    private let queueGroup: String?
    private let startedAt: Date

    private struct Counters {
        var requests = 0
        var errors = 0
        var lastError = ""
        var processingNanoseconds: Int64 = 0
    }

    private let counters = Mutex<[String: Counters]>([:])

    init(prefix: String, queueGroup: String?, endpoints: [(name: String, subject: String)], startedAt: Date) {
        name = String(prefix.map { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") ? $0 : "_" })
        id = UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(22).uppercased()
        self.endpoints = endpoints
        self.queueGroup = queueGroup
        self.startedAt = startedAt
    }

    /// Every subject a discovery request may come on.
    var subjects: [String] {
        ["PING", "INFO", "STATS"].flatMap { verb in ["$SRV.\(verb)", "$SRV.\(verb).\(name)", "$SRV.\(verb).\(name).\(id)"] }
    }

    func record(_ endpoint: String, elapsed: Duration, error: String?) {
        let nanoseconds = elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000
        counters.withLock { counters in
            counters[endpoint, default: Counters()].requests += 1
            counters[endpoint]!.processingNanoseconds += nanoseconds
            if let error {
                counters[endpoint]!.errors += 1
                counters[endpoint]!.lastError = error
            }
        }
    }

    /// The JSON reply to a discovery request on `subject`; nil for a subject not ours.
    func reply(to subject: String) -> [UInt8]? {
        let verb = subject.split(separator: ".").dropFirst().first.map(String.init) ?? ""
        let data: Data?
        switch verb {
        case "PING":
            data = try? AlertmanagerJSONEncoder.data(Ping(name: name, id: id, version: version))
        case "INFO":
            data = try? AlertmanagerJSONEncoder.data(Info(name: name, id: id, version: version,
                                                          endpoints: endpoints.map { .init(name: $0.name, subject: $0.subject, queue_group: queueGroup) }))
        case "STATS":
            let counters = self.counters.withLock { $0 }
            data = try? AlertmanagerJSONEncoder.data(Stats(name: name, id: id, version: version, started: APIJSON.timestamp(startedAt),
                                                           endpoints: endpoints.map { endpoint in
                let c = counters[endpoint.name] ?? Counters()
                return .init(name: endpoint.name, subject: endpoint.subject, queue_group: queueGroup, num_requests: c.requests,
                             num_errors: c.errors, last_error: c.lastError, processing_time: c.processingNanoseconds,
                             average_processing_time: c.requests == 0 ? 0 : c.processingNanoseconds / Int64(c.requests))
            }))
        default:
            data = nil
        }
        return data.map { [UInt8]($0) }
    }

    // The micro v1 schemas' field names (snake_case, as the protocol writes them).

    private struct Ping: Encodable {
        var type = "io.nats.micro.v1.ping_response"
        var name: String
        var id: String
        var version: String
        var metadata: [String: String] = [:]
    }

    private struct Info: Encodable {
        struct Endpoint: Encodable {
            var name: String
            var subject: String
            var queue_group: String?
            var metadata: [String: String] = [:]
        }

        var type = "io.nats.micro.v1.info_response"
        var name: String
        var id: String
        var version: String
        var metadata: [String: String] = [:]
        var description = "nats-alerter: alerts from NATS events; request-reply API (README, NATS control plane)"
        var endpoints: [Endpoint]
    }

    private struct Stats: Encodable {
        struct Endpoint: Encodable {
            var name: String
            var subject: String
            var queue_group: String?
            var num_requests: Int
            var num_errors: Int
            var last_error: String
            var processing_time: Int64
            var average_processing_time: Int64
        }

        var type = "io.nats.micro.v1.stats_response"
        var name: String
        var id: String
        var version: String
        var metadata: [String: String] = [:]
        var started: String
        var endpoints: [Endpoint]
    }
}
