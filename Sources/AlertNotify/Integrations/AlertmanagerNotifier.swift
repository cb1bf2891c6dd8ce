public import AlertCore
import Foundation
public import Logging
import Synchronization

/// `alertmanager_configs`: forwards alerts to Prometheus Alertmanager with
/// `POST /api/v2/alerts`, to every configured replica (replicas do not share
/// what they receive).
///
/// Alertmanager times out an alert whose `endsAt` passes, so firing alerts
/// are re-posted every `resend_interval` with `endsAt` = now + 4 ×
/// resend_interval (Prometheus' own convention) by `runResender()`, which
/// also checks the live alert state: an alert that resolved while muted
/// here is still ended there. Resolved alerts are posted with their real
/// `endsAt` and re-posted for `resolved_resend_period`. Labels are sent
/// unchanged, so Alertmanager computes the same fingerprints.
public final class AlertmanagerNotifier: Integration, Sendable {
    struct Tracked: Sendable {
        var alert: Alert
        var resolvedAt: Date?
    }

    public let configuration: AlertmanagerForwardConfiguration
    private let poster: HTTPPoster
    private let lookup: @Sendable (Fingerprint) -> Alert?
    private let logger: Logger
    private let tracked = Mutex<[Fingerprint: Tracked]>([:])
    public var kind: String { "alertmanager" }
    public var sendResolved: Bool { configuration.sendResolved }

    /// - Parameter lookup: the live state of an alert (the alert store), or nil once forgotten.
    public init(configuration: AlertmanagerForwardConfiguration, poster: HTTPPoster, logger: Logger,
                lookup: @escaping @Sendable (Fingerprint) -> Alert? = { _ in nil }) {
        self.configuration = configuration
        self.poster = poster
        self.lookup = lookup
        self.logger = logger
    }

    public func send(_ notification: AlertCore.Notification) async throws(NotifyError) {
        let now = Date()
        let resolved = configuration.sendResolved ? notification.resolved.map(\.alert) : []
        let alerts = notification.firing.map(\.alert) + resolved
        guard !alerts.isEmpty else { return }
        tracked.withLock { tracked in
            for alert in notification.firing.map(\.alert) { tracked[alert.fingerprint] = Tracked(alert: alert, resolvedAt: nil) }
            for alert in resolved { tracked[alert.fingerprint] = Tracked(alert: alert, resolvedAt: alert.endsAt ?? now) }
        }
        try await postToAll(alerts, now: now)
    }

    /// Re-posts tracked alerts every `resend_interval` until cancelled.
    public func runResender() async {
        while !Task.isCancelled {
            try? await Task.sleep(for: configuration.resendInterval)
            if Task.isCancelled { return }
            await resend(now: Date())
        }
    }

    /// One resend round.
    func resend(now: Date) async {
        let alerts: [Alert] = tracked.withLock { tracked in
            var result: [Alert] = []
            for (fingerprint, var entry) in tracked {
                if entry.resolvedAt == nil {
                    if let live = lookup(fingerprint), live.startsAt == entry.alert.startsAt {
                        entry.alert = live
                        if !live.isFiring { entry.resolvedAt = live.endsAt ?? now }
                    } else if lookup(fingerprint) == nil {
                        // Forgotten by the store (resolved and collected, or replaced): end it.
                        entry.alert.endsAt = entry.alert.endsAt ?? now
                        entry.resolvedAt = entry.alert.endsAt
                    }
                }
                if let resolvedAt = entry.resolvedAt, now.timeIntervalSince(resolvedAt) > configuration.resolvedResendPeriod.seconds {
                    tracked[fingerprint] = nil
                    continue
                }
                tracked[fingerprint] = entry
                result.append(entry.alert)
            }
            return result
        }
        guard !alerts.isEmpty else { return }
        do throws(NotifyError) {
            try await postToAll(alerts, now: now)
        } catch {
            logger.warning("re-posting alerts to Alertmanager failed; next round retries", metadata: [
                "reason": .string(error.reason), "error": .string(error.message),
            ])
        }
    }

    /// Fingerprints currently kept alive in Alertmanager.
    public var trackedFingerprints: [Fingerprint] {
        tracked.withLock { Array($0.keys) }.sorted()
    }

    private func postToAll(_ alerts: [Alert], now: Date) async throws(NotifyError) {
        let body = Self.body(alerts, now: now, resendInterval: configuration.resendInterval)
        var headers: [(String, String)] = []
        if let username = configuration.basicAuthUsername {
            let password = try configuration.basicAuthPassword?.value() ?? ""
            headers.append(("Authorization", "Basic " + Data("\(username):\(password)".utf8).base64EncodedString()))
        } else if let token = configuration.bearerToken {
            headers.append(("Authorization", "Bearer " + (try token.value())))
        }
        var failures: [NotifyError] = []
        for base in configuration.urls {
            let url = base.hasSuffix("/") ? base + "api/v2/alerts" : base + "/api/v2/alerts"
            do throws(NotifyError) {
                try await poster.post(url, json: body, headers: headers, timeout: configuration.timeout, what: "alerts")
            } catch {
                failures.append(error)
            }
        }
        // Posting again is harmless to Alertmanager, so any failure retries the lot.
        if let first = failures.first {
            throw NotifyError(failures.contains { $0.disposition == .retryable } ? .retryable : .permanent, reason: first.reason,
                              message: failures.map(\.message).joined(separator: "; "), retryAfter: failures.compactMap(\.retryAfter).max())
        }
    }

    static func body(_ alerts: [Alert], now: Date, resendInterval: Duration) -> Data {
        let firingEnd = now.addingTimeInterval(4 * resendInterval.seconds)
        let objects: [[String: Any]] = alerts.map { alert in
            var object: [String: Any] = [
                "labels": alert.labels.dictionary,
                "annotations": alert.annotations,
                "startsAt": WebhookNotifier.timestamp(alert.startsAt),
                "endsAt": WebhookNotifier.timestamp(alert.endsAt ?? firingEnd),
            ]
            // Alertmanager validates generatorURL as a URI: leave an empty one out.
            if !alert.generatorURL.isEmpty { object["generatorURL"] = alert.generatorURL }
            return object
        }
        return (try? JSONSerialization.data(withJSONObject: objects, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("[]".utf8)
    }
}
