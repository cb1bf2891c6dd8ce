import AlertCore
import Foundation
public import Hummingbird
import NIOCore

/// The HTTP face: health, readiness, /metrics, reload, and the Alertmanager
/// API v2 subset that amtool and dashboards use.
public enum APIRouter {
    public static func build(runtime: AlerterRuntime, metrics: AlerterMetrics) -> Router<APIRequestContext> {
        let router = Router(context: APIRequestContext.self)
        let server = runtime.config.server
        let maxBody = server.maxRequestBodyBytes
        router.add(middleware: MutationGuard(server: server))

        router.get("/-/healthy") { _, _ in "OK\n" }
        router.get("/-/ready") { _, _ -> Response in
            let (ready, reason) = runtime.readiness
            return Response(status: ready ? .ok : .serviceUnavailable, headers: [.contentType: "text/plain"],
                            body: .init(byteBuffer: ByteBuffer(string: (ready ? "OK" : reason) + "\n")))
        }
        router.get("/metrics") { _, _ -> Response in
            let text = await metrics.scrape()
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                            body: .init(byteBuffer: ByteBuffer(string: text)))
        }
        router.post("/-/reload") { request, _ -> ReloadResponse in
            try authorize(request, runtime)
            switch await runtime.reload() {
            case .success(let notes):
                return ReloadResponse(notes: notes)
            case .failure(let error):
                throw APIError(.badRequest, "configuration refused; the running configuration stays:\n" + error.issues.map(\.description).joined(separator: "\n"))
            }
        }

        // MARK: Alertmanager API v2
        let api = router.group("api/v2")
        api.get("status") { _, _ in
            AlertmanagerStatus(config: runtime.config, startedAt: runtime.startedAt)
        }
        api.get("receivers") { _, _ in
            await runtime.engine.configuration.receivers.keys.sorted().map(Receiver.init(name:))
        }
        api.get("alerts") { request, _ -> [GettableAlert] in
            let query = try AlertQuery(request)
            return try await alertObjects(runtime, query: query, alerts: runtime.store.activeAlerts())
        }
        api.get("alerts/groups") { request, _ -> [AlertGroup] in
            let query = try AlertQuery(request)
            var result: [AlertGroup] = []
            for group in await runtime.engine.groups {
                let alerts = group.fingerprints.compactMap { runtime.store.alert($0) }.filter(\.isFiring)
                let objects = try await alertObjects(runtime, query: query, alerts: alerts)
                if objects.isEmpty { continue }
                if let receiver = query.receiver, !receiver.matches(group.receiver) { continue }
                result.append(AlertGroup(labels: group.labels.dictionary, receiver: Receiver(name: group.receiver), alerts: objects))
            }
            return result
        }
        api.get("silences") { request, _ -> [GettableSilence] in
            let filter = try AlertQuery.matchers(request.uri.queryParameters.getAll("filter"))
            let now = runtime.clock.now()
            return runtime.silencer.list(at: now, matching: filter).map { GettableSilence($0, now: now) }
        }
        api.post("silences") { request, _ -> PostSilenceResponse in
            try authorize(request, runtime)
            let body = try await collect(request, maxBody)
            let limits = server.limits
            let silence = try APIJSON.postableSilence(body, limits: limits)
            if limits.maxSilences > 0 {
                let now = runtime.clock.now()
                let updatesLive = runtime.silencer.silence(id: silence.id).map { $0.state(at: now) != .expired } ?? false
                let held = runtime.silencer.count(at: now).values.reduce(0, +)
                if !updatesLive && held >= limits.maxSilences {
                    throw APIError(.badRequest, "too many silences: \(held) held, expired ones included (limit: \(limits.maxSilences), server.limits.max_silences); expired silences are removed after their retention")
                }
            }
            do throws(SilenceError) {
                let id = try runtime.silencer.upsert(silence, now: runtime.clock.now())
                return PostSilenceResponse(silenceID: id)
            } catch {
                throw APIError(error)
            }
        }
        api.get("silence/:id") { _, context -> GettableSilence in
            let id = try context.parameters.require("id")
            guard let silence = runtime.silencer.silence(id: id) else { throw APIError(.notFound, "silence \(id) not found") }
            return GettableSilence(silence, now: runtime.clock.now())
        }
        api.delete("silence/:id") { request, context -> Response in
            try authorize(request, runtime)
            let id = try context.parameters.require("id")
            do throws(SilenceError) {
                try runtime.silencer.expire(id: id, now: runtime.clock.now())
            } catch where error.kind == .alreadyExpired {
                // Alertmanager answers 200: the silence is expired, as asked.
            } catch {
                throw APIError(error)
            }
            return Response(status: .ok)
        }
        return router
    }

    static func alertObjects(_ runtime: AlerterRuntime, query: AlertQuery, alerts: [Alert]) async throws -> [GettableAlert] {
        let now = runtime.clock.now()
        let candidates = alerts.filter { alert in query.filter.allSatisfy { $0.matches(alert.labels) } }
        let status = await runtime.engine.status(of: candidates, at: now)
        let configuration = await runtime.engine.configuration
        return candidates.compactMap { alert in
            guard let entry = status[alert.fingerprint] else { return nil }
            let silenced = !entry.silencedBy.isEmpty, inhibited = !entry.inhibitedBy.isEmpty
            if !query.active && !silenced && !inhibited { return nil }
            if !query.silenced && silenced { return nil }
            if !query.inhibited && inhibited { return nil }
            if let receiver = query.receiver, !entry.receivers.contains(where: { receiver.matches($0) }) { return nil }
            let endsAt = alert.lastSeen.addingTimeInterval(configuration.resolveTimeout(for: alert).seconds)
            return GettableAlert(alert, receivers: entry.receivers, silencedBy: entry.silencedBy, inhibitedBy: entry.inhibitedBy, endsAt: endsAt)
        }
    }

    /// Mutating endpoints need the bearer token when `server.api_token_file` is set.
    static func authorize(_ request: Request, _ runtime: AlerterRuntime) throws {
        guard let file = runtime.config.server.apiTokenFile else { return }
        guard let token = try? String(contentsOfFile: file, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines), !token.isEmpty else {
            throw APIError(.internalServerError, "the API token file cannot be read")
        }
        let presented = request.headers[.authorization] ?? ""
        guard presented.hasPrefix("Bearer "), constantTimeEqual(String(presented.dropFirst(7)), token) else {
            throw APIError(.unauthorized, "this endpoint needs Authorization: Bearer <token> (server.api_token_file)")
        }
    }

    static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        var difference = x.count ^ y.count
        for index in 0..<max(x.count, y.count) {
            difference |= Int((index < x.count ? x[index] : 0) ^ (index < y.count ? y[index] : 0))
        }
        return difference == 0
    }

    static func collect(_ request: Request, _ limit: Int) async throws -> Data {
        do {
            let buffer = try await request.body.collect(upTo: limit)
            return Data(buffer: buffer)
        } catch {
            throw APIError(.contentTooLarge, "the request body is larger than \(limit) bytes (server.max_request_body_bytes)")
        }
    }
}
