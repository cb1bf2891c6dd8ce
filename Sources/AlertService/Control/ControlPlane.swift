import AlertCore
import AlertIngest
import Foundation
import Logging
public import ServiceLifecycle
import Synchronization

/// The NATS face of the API (docs/ARCHITECTURE.md, Control plane): the
/// request-reply endpoints under `<prefix>.api.…`, answered with the JSON of
/// the HTTP API (the same response types, `AlertQuery`, `SilenceWrites`),
/// and the NATS service protocol's `$SRV.PING|INFO|STATS` for discovery.
///
/// Threading: libnats delivers requests on the subscriptions' threads; a
/// request that reads the engine or writes hops into a `Task` (a control
/// path, not the event hot path), and the answer is published to the
/// request's reply subject. Discovery requests are answered on the delivery
/// thread. Every request gets an answer: a result, or
/// `{"error": {"code": …, "message": …}}` with the micro services' error
/// headers.
///
/// Lifetime: a `Service` placed before the engine loop in the group, so it
/// stops after the loop (whose last step closes the connection): requests are
/// answered while the loop drains, and silence writes are refused (503) once
/// the silencer is closed after the final state write.
public final class ControlPlane: Service, Sendable {
    /// One request-reply endpoint: its name in `$SRV.INFO`, and its subject after the prefix.
    enum Endpoint: String, CaseIterable, Sendable {
        case alertsList = "alerts.list"
        case alertsGet = "alerts.get"
        case alertsResolve = "alerts.resolve"
        case silencesList = "silences.list"
        case silencesCreate = "silences.create"
        case silencesExpire = "silences.expire"

        var name: String { rawValue.replacingOccurrences(of: ".", with: "_") }
    }

    private let runtime: Alerter
    private let settings: AlerterConfig.ControlSection
    private let queueGroup: String?
    private let silences: SilenceWrites
    /// `server.max_request_body_bytes` at start, as for the HTTP API.
    private let maxBodyBytes: Int
    let discovery: ServiceDiscovery
    private let subscriptions = Mutex<[NATSSubscription]>([])

    public init(alerter: Alerter) {
        let config = alerter.config
        self.runtime = alerter
        self.settings = config.nats.control
        self.queueGroup = config.nats.queueGroup
        self.silences = SilenceWrites(runtime: alerter, limits: config.server.limits)
        self.maxBodyBytes = config.server.maxRequestBodyBytes
        self.discovery = ServiceDiscovery(prefix: config.nats.control.prefix, queueGroup: config.nats.queueGroup,
                                          endpoints: Endpoint.allCases.map { ($0.name, "\(config.nats.control.prefix).api.\($0.rawValue)") },
                                          startedAt: alerter.clock.now())
    }

    public func run() async throws {
        if settings.enabled, let connection = runtime.ingest?.connection {
            try subscribe(connection)
            runtime.logger.info("NATS control plane answering", metadata: [
                "prefix": .string(settings.prefix), "service": .string(discovery.name), "id": .string(discovery.id),
            ])
        }
        // Until shutdown; the engine loop, stopped before this, closed the connection.
        try? await gracefulShutdown()
        let all = subscriptions.withLock { subscriptions in
            defer { subscriptions = [] }
            return subscriptions
        }
        await runBlocking("control plane drain") {
            for subscription in all { try? subscription.drain(timeout: .seconds(2)) }
        }
    }

    private func subscribe(_ connection: NATSConnection) throws {
        var made: [NATSSubscription] = []
        for endpoint in Endpoint.allCases {
            made.append(try NATSSubscription(connection: connection, subject: "\(settings.prefix).api.\(endpoint.rawValue)", queueGroup: queueGroup,
                                             handler: RequestHandler(plane: self, endpoint: endpoint, connection: connection)))
        }
        for subject in discovery.subjects {
            made.append(try NATSSubscription(connection: connection, subject: subject,
                                             handler: DiscoveryHandler(discovery: discovery, connection: connection)))
        }
        subscriptions.withLock { $0 = made }
    }

    /// This instance is an HA standby (another owns the partition).
    var isStandby: Bool { runtime.ownership?.ownedElsewhere ?? false }

    /// The answer to one request: the JSON result, or a structured error.
    func answer(_ endpoint: Endpoint, _ body: Data) async -> (payload: [UInt8], error: APIError?) {
        let start = ContinuousClock.now
        let result: Result<Data, APIError>
        do {
            guard body.count <= maxBodyBytes else {
                throw APIError(.contentTooLarge, "the request body is larger than \(maxBodyBytes) bytes (server.max_request_body_bytes)")
            }
            result = .success(try await perform(endpoint, body))
        } catch let error as APIError {
            result = .failure(error)
        } catch {
            result = .failure(APIError(.internalServerError, "\(error)"))
        }
        discovery.record(endpoint.name, elapsed: start.duration(to: .now), error: result.failureMessage)
        switch result {
        case .success(let data): return ([UInt8](data), nil)
        case .failure(let error): return (Self.errorBody(error), error)
        }
    }

    private func perform(_ endpoint: Endpoint, _ body: Data) async throws -> Data {
        if endpoint == .silencesCreate || endpoint == .silencesExpire, !settings.silenceWrites {
            throw APIError(.forbidden, "silence writes over NATS are off (nats.control.silence_writes); "
                + "restrict \(settings.prefix).api.silences.* with NATS permissions, then turn them on")
        }
        switch endpoint {
        case .alertsList:
            let query = try AlertQuery(body: try Self.object(body))
            return try AlertmanagerJSONEncoder.data(await runtime.gettableAlerts(runtime.store.activeAlerts(), query: query))
        case .alertsGet:
            let text = try Self.identifier(body, key: "fingerprint")
            guard let fingerprint = Fingerprint(hex: text), let alert = runtime.store.alert(fingerprint),
                  let listed = await runtime.gettableAlerts([alert], query: try AlertQuery(body: [:])).first else {
                throw APIError(.notFound, "alert \(text) not found")
            }
            return try AlertmanagerJSONEncoder.data(listed)
        case .alertsResolve:
            return try AlertmanagerJSONEncoder.data(try resolve(try Self.object(body)))
        case .silencesList:
            let object = try Self.object(body)
            guard object["filter"] == nil || object["filter"] is [String] else { throw APIError(.badRequest, "filter: a list of matcher strings") }
            return try AlertmanagerJSONEncoder.data(try silences.list(filter: object["filter"] as? [String] ?? []))
        case .silencesCreate:
            return try AlertmanagerJSONEncoder.data(try silences.create(body))
        case .silencesExpire:
            let id = try Self.identifier(body, key: "id")
            try silences.expire(id: id)
            return try AlertmanagerJSONEncoder.data(ExpireSilenceResponse(silenceID: id))
        }
    }

    /// Resolves a firing alert as a RESOLVED event for it would: through the
    /// store and the transition buffer, so the engine notifies and journals it.
    private func resolve(_ object: [String: Any]) throws -> ResolveAlertResponse {
        let fingerprint: Fingerprint
        if let text = object["fingerprint"] as? String {
            guard let parsed = Fingerprint(hex: text) else { throw APIError(.badRequest, "fingerprint: \"\(text)\" is not 16 hex digits") }
            fingerprint = parsed
        } else if let key = (object["dedup_key"] ?? object["dedupKey"]) as? String, !key.isEmpty {
            fingerprint = AlertEvent(dedupKey: key).fingerprint
        } else {
            throw APIError(.badRequest, "fingerprint or dedup_key: one is required")
        }
        // Only the owner consumes transitions: a standby (ready, but not
        // running the engine) refuses, and a resolve must go to the owner.
        guard runtime.loop.isRunning else {
            throw APIError(.serviceUnavailable, "not resolving here: \(runtime.loop.readiness.reason)")
        }
        let now = runtime.clock.now()
        let event = AlertEvent(status: .resolved, subject: "\(settings.prefix).api.alerts.resolve")
        let transitions = runtime.state.transitions
        switch runtime.store.apply(event, as: fingerprint, receivedAt: now, handOff: { transitions.offer($0, acknowledgement: nil) }) {
        case .resolved(let alert)?:
            return ResolveAlertResponse(fingerprint: alert.fingerprint.description, endsAt: APIJSON.timestamp(alert.endsAt ?? now))
        case nil:
            throw APIError(.serviceUnavailable, "the engine's transition buffer is full; try again")
        default:
            throw APIError(.notFound, "no firing alert with fingerprint \(fingerprint)")
        }
    }

    /// The body as a JSON object; an empty body is an empty object.
    static func object(_ body: Data) throws(APIError) -> [String: Any] {
        if body.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) { return [:] }
        guard let object = (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] else {
            throw APIError(.badRequest, "the body is not a JSON object")
        }
        return object
    }

    /// An id given as the whole body (plain text) or as `{"<key>": "…"}`.
    static func identifier(_ body: Data, key: String) throws(APIError) -> String {
        let text = String(decoding: body, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        if text.hasPrefix("{") {
            guard let value = try object(body)[key] as? String, !value.isEmpty else { throw APIError(.badRequest, "\(key): required, a string") }
            return value
        }
        guard !text.isEmpty else { throw APIError(.badRequest, "\(key): required (the body, or {\"\(key)\": \"…\"})") }
        return text
    }

    /// `{"error": {"code": 400, "message": "…"}}`.
    static func errorBody(_ error: APIError) -> [UInt8] {
        let body = ErrorReply(error: .init(code: Int(error.status.code), message: error.message))
        return (try? [UInt8](AlertmanagerJSONEncoder.data(body))) ?? Array(#"{"error":{"code":500,"message":"unencodable error"}}"#.utf8)
    }
}

/// The reply to `<prefix>.api.silences.expire`.
struct ExpireSilenceResponse: Encodable {
    var silenceID: String
}

/// The reply to `<prefix>.api.alerts.resolve`: the alert ended and when.
struct ResolveAlertResponse: Encodable {
    var fingerprint: String
    var endsAt: String
}

/// A control-plane error reply.
struct ErrorReply: Encodable {
    struct Body: Encodable {
        var code: Int
        var message: String
    }

    var error: Body
}

extension Result where Failure == APIError {
    fileprivate var failureMessage: String? {
        if case .failure(let error) = self { return error.message }
        return nil
    }
}

/// Copies a request off libnats' buffer and answers it from a task.
private final class RequestHandler: NATSMessageHandler {
    let plane: ControlPlane
    let endpoint: ControlPlane.Endpoint
    let connection: NATSConnection

    init(plane: ControlPlane, endpoint: ControlPlane.Endpoint, connection: NATSConnection) {
        self.plane = plane
        self.endpoint = endpoint
        self.connection = connection
    }

    func handle(_ message: borrowing NATSMessage) {
        // A publish without a reply subject asks for nothing and gets nothing.
        guard let reply = message.replySubject else { return }
        // Every instance of an HA group hears the request; a standby leaves a
        // resolve to the owner, whose answer is then the one the requester
        // gets (docs/ARCHITECTURE.md, High availability).
        if endpoint == .alertsResolve, plane.isStandby { return }
        let body = Data(message.payload)
        let (plane, endpoint, connection) = (self.plane, self.endpoint, self.connection)
        Task {
            let (payload, error) = await plane.answer(endpoint, body)
            var headers = [("Content-Type", "application/json")]
            if let error {
                headers += [("Nats-Service-Error-Code", String(error.status.code)), ("Nats-Service-Error", NATSIngest.headerValue(error.message))]
            }
            try? connection.publish(subject: reply, payload: payload, headers: headers)
        }
    }
}

/// Answers `$SRV.PING|INFO|STATS` on the delivery thread (no engine read).
private final class DiscoveryHandler: NATSMessageHandler {
    let discovery: ServiceDiscovery
    let connection: NATSConnection

    init(discovery: ServiceDiscovery, connection: NATSConnection) {
        self.discovery = discovery
        self.connection = connection
    }

    func handle(_ message: borrowing NATSMessage) {
        guard let reply = message.replySubject, let payload = discovery.reply(to: message.subject) else { return }
        try? connection.publish(subject: reply, payload: payload, headers: [("Content-Type", "application/json")])
    }
}
