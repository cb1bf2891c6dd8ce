import Foundation
import Histogram
import Hummingbird
import Synchronization

/// A webhook receiver that measures publish → receive latency from the
/// `published_at_ns` annotation the load generator puts in probe events.
struct LatencyReceiver {
    let port: Int

    func run() async throws {
        let histogram = Mutex(Histogram<UInt64>(highestTrackableValue: 120_000_000, numberOfSignificantValueDigits: .three))
        let router = Router()
        router.post("/hook") { request, _ -> HTTPResponse.Status in
            let body = try await request.body.collect(upTo: 16 << 20)
            let now = wallNanos()
            guard let object = try? JSONSerialization.jsonObject(with: Data(buffer: body)) as? [String: Any],
                  let alerts = object["alerts"] as? [[String: Any]] else { return .badRequest }
            for alert in alerts {
                guard let stamp = (alert["annotations"] as? [String: String])?["published_at_ns"], let sent = UInt64(stamp), now > sent else { continue }
                _ = histogram.withLock { $0.record((now - sent) / 1_000) }
            }
            return .ok
        }
        router.get("/stats") { _, _ -> String in
            histogram.withLock { h in
                #"{"count":\#(h.totalCount),"p50_us":\#(h.valueAtPercentile(50)),"p99_us":\#(h.valueAtPercentile(99)),"p999_us":\#(h.valueAtPercentile(99.9)),"max_us":\#(h.max)}"#
            }
        }
        router.get("/reset") { _, _ -> HTTPResponse.Status in
            histogram.withLock { $0.reset() }
            return .ok
        }
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)))
        try await app.runService()
    }
}
