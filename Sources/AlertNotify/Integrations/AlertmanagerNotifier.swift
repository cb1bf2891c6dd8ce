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
        /// Alertmanager refused this alert on its own: not re-posted until it changes.
        var refused = false
    }

    public let configuration: AlertmanagerForwardConfiguration
    private let poster: HTTPPoster
    private let lookup: @Sendable (Fingerprint) -> Alert?
    private let logger: Logger
    private let tracked = Mutex<[Fingerprint: Tracked]>([:])
    private let rejections: (statistics: DeliveryStatistics, receiver: String)?
    public var kind: String { "alertmanager" }
    public var sendResolved: Bool { configuration.sendResolved }

    /// - Parameter lookup: the live state of an alert (the alert store), or nil once forgotten.
    public init(configuration: AlertmanagerForwardConfiguration, poster: HTTPPoster, logger: Logger,
                lookup: @escaping @Sendable (Fingerprint) -> Alert? = { _ in nil },
                rejections: (statistics: DeliveryStatistics, receiver: String)? = nil) {
        self.rejections = rejections
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
                if entry.refused {
                    // Refused by Alertmanager on its own; a changed alert is tried again.
                    guard let live = lookup(fingerprint), !Self.samePost(live, entry.alert) else {
                        if lookup(fingerprint) == nil { tracked[fingerprint] = nil }
                        continue
                    }
                    entry.alert = live
                    entry.refused = false
                    if !live.isFiring { entry.resolvedAt = live.endsAt ?? now }
                }
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

    /// Posts `alerts` to every configured Alertmanager. A batch refused with
    /// a 4xx is split in halves until the alerts Alertmanager refuses on
    /// their own are found: those are dropped (logged, counted, not re-posted
    /// until they change) and every other alert still reaches Alertmanager —
    /// one bad alert must not let all the others expire there.
    private func postToAll(_ alerts: [Alert], now: Date) async throws(NotifyError) {
        var headers: [(String, String)] = []
        if let username = configuration.basicAuthUsername {
            let password = try configuration.basicAuthPassword?.value() ?? ""
            headers.append(("Authorization", "Basic " + Data("\(username):\(password)".utf8).base64EncodedString()))
        } else if let token = configuration.bearerToken {
            headers.append(("Authorization", "Bearer " + (try token.value())))
        }
        var failures: [NotifyError] = []
        var refused: [Fingerprint: String] = [:]
        for base in configuration.urls {
            let url = base.hasSuffix("/") ? base + "api/v2/alerts" : base + "/api/v2/alerts"
            do throws(NotifyError) {
                try await postIsolating(alerts[...], url: url, headers: headers, now: now, refused: &refused)
            } catch {
                failures.append(error)
            }
        }
        if !refused.isEmpty { markRefused(refused) }
        // Posting again is harmless to Alertmanager, so any failure retries the lot.
        if let first = failures.first {
            throw NotifyError(failures.contains { $0.disposition == .retryable } ? .retryable : .permanent, reason: first.reason,
                              message: failures.map(\.message).joined(separator: "; "), retryAfter: failures.compactMap(\.retryAfter).max())
        }
    }

    /// One POST; when Alertmanager refuses the content of more than one
    /// alert (`refusesContent`), each half on its own. A single alert refused permanently lands in `refused`.
    /// Retryable failures (5xx, 429, network) are thrown as they are.
    private func postIsolating(_ alerts: ArraySlice<Alert>, url: String, headers: [(String, String)], now: Date,
                               refused: inout [Fingerprint: String]) async throws(NotifyError) {
        let body = Self.body(Array(alerts), now: now, resendInterval: configuration.resendInterval)
        do throws(NotifyError) {
            try await poster.post(url, json: body, headers: headers, timeout: configuration.timeout, what: "alerts")
        } catch where error.disposition == .permanent && Self.refusesContent(error.httpStatus) {
            if alerts.count == 1, let alert = alerts.first {
                refused[alert.fingerprint] = error.message
                return
            }
            let middle = alerts.startIndex + alerts.count / 2
            try await postIsolating(alerts[..<middle], url: url, headers: headers, now: now, refused: &refused)
            try await postIsolating(alerts[middle...], url: url, headers: headers, now: now, refused: &refused)
        }
    }

    /// Answers that refuse what was posted (400, 413, 422), where splitting
    /// the batch finds the alerts at fault. Not 401, 403, 404 and the like:
    /// those refuse every alert alike (credentials, URL), and splitting would
    /// only multiply the requests.
    static func refusesContent(_ status: Int?) -> Bool {
        status == 400 || status == 413 || status == 422
    }

    /// Whether two states of an alert make the same POST (repeats bump only `lastSeen` and the count).
    static func samePost(_ a: Alert, _ b: Alert) -> Bool {
        a.labels == b.labels && a.annotations == b.annotations && a.startsAt == b.startsAt && a.endsAt == b.endsAt && a.generatorURL == b.generatorURL
    }

    private func markRefused(_ refused: [Fingerprint: String]) {
        tracked.withLock { tracked in
            for fingerprint in refused.keys { tracked[fingerprint]?.refused = true }
        }
        if let (statistics, receiver) = rejections {
            statistics.update(DeliveryStatistics.Key(receiver: receiver, integration: kind)) { $0.alertsRejected += refused.count }
        }
        for (fingerprint, message) in refused.sorted(by: { $0.key < $1.key }) {
            logger.error("Alertmanager refused one alert; dropped it and kept the others", metadata: [
                "fingerprint": .string(fingerprint.description), "error": .string(String(message.prefix(500))),
            ])
        }
    }

    /// The `POST /api/v2/alerts` body, normalised to what Alertmanager
    /// accepts: `startsAt` never after now (a publisher's clock may run
    /// ahead), `endsAt` never before `startsAt`, and `generatorURL` only when
    /// it is an absolute http(s) URI (Alertmanager refuses the whole POST for
    /// one that is not; the alert goes without it).
    static func body(_ alerts: [Alert], now: Date, resendInterval: Duration) -> Data {
        let firingEnd = now.addingTimeInterval(4 * resendInterval.seconds)
        let objects: [[String: Any]] = alerts.map { alert in
            let startsAt = min(alert.startsAt, now)
            let endsAt = max(alert.endsAt ?? firingEnd, startsAt)
            var object: [String: Any] = [
                "labels": alert.labels.dictionary,
                "annotations": alert.annotations.dictionary,
                "startsAt": WebhookNotifier.timestamp(startsAt),
                "endsAt": WebhookNotifier.timestamp(endsAt),
            ]
            if let url = SafeURL.absoluteHTTP(alert.generatorURL) { object["generatorURL"] = url }
            return object
        }
        return (try? JSONSerialization.data(withJSONObject: objects, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("[]".utf8)
    }
}
