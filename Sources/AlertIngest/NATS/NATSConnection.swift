import CNats
public import Logging
import Synchronization
import Foundation

/// The state of the link to NATS, as libnats reports it.
public enum NATSConnectionState: String, Sendable {
    case connecting, connected, reconnecting, disconnected, draining, closed
}

/// Observes connection events; called on libnats' callback thread.
public struct NATSConnectionCounters: Sendable {
    public var reconnects: Int
    public var disconnects: Int
    public var slowConsumerErrors: Int
    public var asyncErrors: Int
}

/// One connection to NATS: owns the `natsConnection` and the `natsOptions` it
/// was made from. Public API never exposes a C pointer.
///
/// Threading: libnats is thread-safe; every method may be called from any
/// thread. The blocking ones (`connect`, `flush`, `drain`) must not run on
/// the Swift cooperative pool — callers use `runBlocking` (the shared
/// `BlockingPool`). Connection events (disconnected, reconnected, closed,
/// asynchronous errors) arrive on libnats' own callback thread and are logged
/// and counted by `ConnectionEvents`.
///
/// Lifetime: `options` must outlive `connection` (libnats clones them, but we
/// keep ours until the end for clarity); `events` is retained once for the C
/// side and released by the closed callback, which libnats calls exactly once
/// after the connection closes, so no callback can find it freed.
public final class NATSConnection: Sendable {
    nonisolated(unsafe) let connection: OpaquePointer
    nonisolated(unsafe) private let options: OpaquePointer
    let events: ConnectionEvents
    public let configuration: NATSConnectionConfiguration
    private let destroyed = Atomic<Bool>(false)

    /// Connects. With `retryOnFailedConnect` (the default) this returns as
    /// soon as the first attempt fails and keeps retrying in the background;
    /// `state` tells when the link is up. Blocking: call off the cooperative pool.
    public init(configuration: NATSConnectionConfiguration, logger: Logger) throws(NATSError) {
        self.configuration = configuration
        var opts: OpaquePointer?
        try check(natsOptions_Create(&opts), "natsOptions_Create")
        guard let opts else { throw NATSError(operation: "natsOptions_Create", message: "no options returned") }
        self.options = opts
        let events = ConnectionEvents(logger: logger)
        self.events = events
        let closure = Unmanaged.passRetained(events).toOpaque()
        // Once libnats holds a connection, its closed callback (called exactly
        // once) owns the release of `closure`; before that, we do.
        var callbacksOwnClosure = false
        do throws(NATSError) {
            try Self.apply(configuration, to: opts, closure: closure)
            // First one plain attempt, so a refusal that retrying cannot fix
            // (credentials, TLS) fails now with libnats' own reason. Only when
            // no server answered at all do we retry in the background.
            var nc: OpaquePointer?
            var status = natsConnection_Connect(&nc, opts)
            if status == NATS_NO_SERVER && configuration.retryOnFailedConnect {
                try check(natsOptions_SetRetryOnFailedConnect(opts, true, natsAlerterOnConnected, closure), "retry on failed connect")
                status = natsConnection_Connect(&nc, opts)
            }
            if status == NATS_NOT_YET_CONNECTED, let nc, Self.settlesClosed(nc, within: min(configuration.connectTimeout, .milliseconds(250))) {
                // libnats gave up at once (e.g. the server refused our
                // credentials): no background retry is going on.
                let reason = Self.lastError(of: nc) ?? "connection closed"
                callbacksOwnClosure = true
                natsConnection_Destroy(nc)
                throw NATSError(operation: "connect to \(configuration.servers.map(redactURL).joined(separator: ","))", message: reason)
            } else if status == NATS_NOT_YET_CONNECTED, let nc {
                logger.warning("no NATS server answered yet; retrying in the background", metadata: [
                    "servers": .string(configuration.servers.map(redactURL).joined(separator: ",")),
                ])
                self.connection = nc
            } else if status == NATS_OK, let nc {
                self.connection = nc
            } else {
                throw NATSError("connect to \(configuration.servers.map(redactURL).joined(separator: ","))", status)
            }
        } catch {
            if !callbacksOwnClosure {
                Unmanaged<ConnectionEvents>.fromOpaque(closure).release()
            }
            natsOptions_Destroy(opts)
            throw error
        }
        if state == .connected {
            logger.info("connected to NATS", metadata: ["server": .string(connectedURL ?? "?")])
        }
    }

    private static func apply(_ config: NATSConnectionConfiguration, to opts: OpaquePointer, closure: UnsafeMutableRawPointer) throws(NATSError) {
        try withCStringArray(config.servers) { (array, count) throws(NATSError) in
            try check(natsOptions_SetServers(opts, array, Int32(count)), "nats.servers")
        }
        try check(natsOptions_SetName(opts, config.name), "nats.name")
        switch config.authentication {
        case .none:
            break
        case .userPassword(let user, let password):
            try check(natsOptions_SetUserInfo(opts, user, password), "nats.user")
        case .token(let token):
            try check(natsOptions_SetToken(opts, token), "nats.token")
        case .credentialsFile(let path):
            try check(natsOptions_SetUserCredentialsFromFiles(opts, path, nil), "nats.credentials_file \(path)")
        case .nkey(let publicKey, let seedFile):
            try check(natsOptions_SetNKeyFromSeed(opts, publicKey, seedFile), "nats.nkey_seed_file \(seedFile)")
        }
        if let tls = config.tls {
            try check(natsOptions_SetSecure(opts, true), "nats.tls")
            if let ca = tls.caFile {
                try check(natsOptions_LoadCATrustedCertificates(opts, ca), "nats.tls.ca_file \(ca)")
            }
            if let cert = tls.certFile, let key = tls.keyFile {
                try check(natsOptions_LoadCertificatesChain(opts, cert, key), "nats.tls.cert_file/key_file")
            }
            if let name = tls.serverName {
                try check(natsOptions_SetExpectedHostname(opts, name), "nats.tls.server_name")
            }
            if tls.insecureSkipVerify {
                try check(natsOptions_SkipServerVerification(opts, true), "nats.tls.insecure_skip_verify")
            }
        }
        try check(natsOptions_SetMaxReconnect(opts, Int32(clamping: config.maxReconnectAttempts)), "nats.reconnect.max_attempts")
        try check(natsOptions_SetReconnectWait(opts, config.reconnectWait.milliseconds), "nats.reconnect.wait")
        try check(natsOptions_SetTimeout(opts, config.connectTimeout.milliseconds), "nats.connect_timeout")
        try check(natsOptions_SetMaxPendingMsgs(opts, Int32(clamping: config.pendingMessagesLimit)), "nats.pending_messages_limit")
        try check(natsOptions_SetDisconnectedCB(opts, natsAlerterOnDisconnected, closure), "disconnected callback")
        try check(natsOptions_SetReconnectedCB(opts, natsAlerterOnReconnected, closure), "reconnected callback")
        try check(natsOptions_SetClosedCB(opts, natsAlerterOnClosed, closure), "closed callback")
        try check(natsOptions_SetErrorHandler(opts, natsAlerterOnAsyncError, closure), "error handler")
    }

    deinit {
        destroy()
        natsOptions_Destroy(options)
    }

    public var state: NATSConnectionState {
        switch natsConnection_Status(connection) {
        case NATS_CONN_STATUS_CONNECTED: .connected
        case NATS_CONN_STATUS_CONNECTING: .connecting
        case NATS_CONN_STATUS_RECONNECTING: .reconnecting
        case NATS_CONN_STATUS_DRAINING_SUBS, NATS_CONN_STATUS_DRAINING_PUBS: .draining
        case NATS_CONN_STATUS_CLOSED: .closed
        default: .disconnected
        }
    }

    public var counters: NATSConnectionCounters { events.counters }

    /// The connection's own last error (libnats keeps one per connection).
    public var lastError: String? { Self.lastError(of: connection) }

    /// After a "not yet connected" start, waits briefly for the first
    /// background attempt: true if libnats closed the connection (a refusal
    /// that retrying cannot fix), false once connected or still retrying.
    private static func settlesClosed(_ nc: OpaquePointer, within limit: Duration) -> Bool {
        let deadline = ContinuousClock.now.advanced(by: limit)
        while ContinuousClock.now < deadline {
            if natsConnection_IsClosed(nc) { return true }
            if natsConnection_Status(nc) == NATS_CONN_STATUS_CONNECTED { return false }
            nats_Sleep(10)
        }
        return natsConnection_IsClosed(nc)
    }

    static func lastError(of nc: OpaquePointer) -> String? {
        var text: UnsafePointer<CChar>?
        let status = natsConnection_GetLastError(nc, &text)
        guard status != NATS_OK else { return nil }
        if let text, text.pointee != 0 { return String(cString: text) }
        return String(cString: natsStatus_GetText(status))
    }

    /// Called once, on libnats' callback thread, when the connection closes
    /// for good (after a drain, a close, or when libnats gives up).
    public func onClosed(_ handler: @escaping @Sendable () -> Void) {
        events.setClosedHandler(handler)
    }

    /// The URL of the server currently connected to, without credentials.
    public var connectedURL: String? {
        var buffer = [CChar](repeating: 0, count: 512)
        guard natsConnection_GetConnectedUrl(connection, &buffer, buffer.count) == NATS_OK else { return nil }
        let url = String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return url.isEmpty ? nil : redactURL(url)
    }

    /// Sends buffered publishes and waits for the server's PONG. Blocking.
    public func flush(timeout: Duration = .seconds(5)) throws(NATSError) {
        try check(natsConnection_FlushTimeout(connection, timeout.milliseconds), "flush")
    }

    /// Publishes `+ACK` to a JetStream message's reply subject (batched
    /// acks, `AckTracker`). Into libnats' buffer; a failure (the connection
    /// closed) leaves the message unacknowledged, to be redelivered.
    public func acknowledge(_ reply: String) {
        _ = natsConnection_Publish(connection, reply, "+ACK", 4)
    }

    /// Publishes one message with optional headers.
    public func publish(subject: String, payload: [UInt8], headers: [(String, String)] = []) throws(NATSError) {
        var msg: OpaquePointer?
        let status = payload.withUnsafeBufferPointer { buffer in
            buffer.baseAddress!.withMemoryRebound(to: CChar.self, capacity: max(buffer.count, 1)) { data in
                natsMsg_Create(&msg, subject, nil, buffer.isEmpty ? nil : data, Int32(buffer.count))
            }
        }
        try check(status, "publish to \(subject)")
        guard let msg else { throw NATSError(operation: "publish to \(subject)", message: "no message created") }
        defer { natsMsg_Destroy(msg) }
        for (name, value) in headers {
            try check(natsMsgHeader_Add(msg, name, value), "header \(name)")
        }
        try check(natsConnection_PublishMsg(connection, msg), "publish to \(subject)")
    }

    /// Sends a request and waits for the first reply (libnats' request over
    /// a shared inbox): the reply's payload and headers. Blocking, up to
    /// `timeout`; `NATS_NO_RESPONDERS` and timeouts are thrown.
    public func request(subject: String, payload: [UInt8], headers: [(String, String)] = [],
                        timeout: Duration = .seconds(5)) throws(NATSError) -> (payload: [UInt8], headers: [String: String]) {
        var msg: OpaquePointer?
        let status = payload.withUnsafeBufferPointer { buffer in
            natsMsg_Create(&msg, subject, nil, buffer.isEmpty ? nil : UnsafeRawPointer(buffer.baseAddress!).assumingMemoryBound(to: CChar.self),
                           Int32(buffer.count))
        }
        try check(status, "request to \(subject)")
        guard let msg else { throw NATSError(operation: "request to \(subject)", message: "no message created") }
        defer { natsMsg_Destroy(msg) }
        for (name, value) in headers {
            try check(natsMsgHeader_Add(msg, name, value), "header \(name)")
        }
        var reply: OpaquePointer?
        try check(natsConnection_RequestMsg(&reply, connection, msg, timeout.milliseconds), "request to \(subject)")
        guard let reply else { throw NATSError(operation: "request to \(subject)", message: "no reply") }
        defer { natsMsg_Destroy(reply) }
        var replyHeaders: [String: String] = [:]
        var keys: UnsafeMutablePointer<UnsafePointer<CChar>?>?
        var count: Int32 = 0
        if natsMsgHeader_Keys(reply, &keys, &count) == NATS_OK, let keys {
            for index in 0..<Int(count) {
                guard let key = keys[index] else { continue }
                let name = String(cString: key)
                replyHeaders[name] = MessageAccess.header(reply, name)
            }
            free(keys)
        }
        return ([UInt8](MessageAccess.payload(reply)), replyHeaders)
    }

    /// Drains every subscription (messages already received are handled,
    /// no new ones accepted) and then closes. Blocking, up to `timeout`.
    public func drain(timeout: Duration) throws(NATSError) {
        let status = natsConnection_DrainTimeout(connection, timeout.milliseconds)
        if status != NATS_OK && status != NATS_CONNECTION_CLOSED && status != NATS_NOT_YET_CONNECTED {
            throw NATSError("drain", status)
        }
        // DrainTimeout is asynchronous: wait until the connection reports closed.
        let deadline = ContinuousClock.now.advanced(by: timeout + .seconds(1))
        while state != .closed, ContinuousClock.now < deadline {
            nats_Sleep(10)
        }
    }

    /// Closes now (idempotent). Pending messages are dropped; prefer `drain`.
    public func close() {
        natsConnection_Close(connection)
    }

    private func destroy() {
        guard !destroyed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        natsConnection_Destroy(connection)
    }
}

/// Strips `user:password@` from a URL so it can be logged.
func redactURL(_ url: String) -> String {
    guard let schemeEnd = url.range(of: "://"), let at = url.range(of: "@", range: schemeEnd.upperBound..<url.endIndex) else {
        return url
    }
    return String(url[..<schemeEnd.upperBound]) + "redacted@" + String(url[at.upperBound...])
}

/// Calls `body` with a C array of C strings that live for the call.
func withCStringArray<R, E: Error>(_ strings: [String], _ body: (UnsafeMutablePointer<UnsafePointer<CChar>?>, Int) throws(E) -> R) throws(E) -> R {
    let duplicates = strings.map { strdup($0) }
    defer { duplicates.forEach { free($0) } }
    var pointers = duplicates.map { UnsafePointer($0) }
    return try pointers.withUnsafeMutableBufferPointer { (buffer) throws(E) -> R in
        try body(buffer.baseAddress!, buffer.count)
    }
}

/// Connection events from libnats, logged and counted. Shared with the C side
/// through an `Unmanaged` pointer (see `NATSConnection`).
final class ConnectionEvents: Sendable {
    let logger: Logger
    private let state = Mutex(NATSConnectionCounters(reconnects: 0, disconnects: 0, slowConsumerErrors: 0, asyncErrors: 0))
    private let slowConsumerLog = LogInterval(.seconds(10))
    private let closedHandler = Mutex<(@Sendable () -> Void)?>(nil)

    func setClosedHandler(_ handler: @escaping @Sendable () -> Void) {
        closedHandler.withLock { $0 = handler }
    }

    init(logger: Logger) {
        self.logger = logger
    }

    var counters: NATSConnectionCounters { state.withLock { $0 } }

    func connected(_ nc: OpaquePointer?) {
        logger.info("connected to NATS", metadata: ["server": .string(Self.url(nc) ?? "?")])
    }

    func disconnected(_ nc: OpaquePointer?) {
        // libnats reports a disconnect on a deliberate close or drain too.
        if let nc, natsConnection_IsClosed(nc) || natsConnection_IsDraining(nc) {
            logger.debug("disconnected from NATS (closing)")
            return
        }
        state.withLock { $0.disconnects += 1 }
        logger.warning("disconnected from NATS; reconnecting")
    }

    func reconnected(_ nc: OpaquePointer?) {
        state.withLock { $0.reconnects += 1 }
        logger.info("reconnected to NATS", metadata: ["server": .string(Self.url(nc) ?? "?")])
    }

    func closed() {
        logger.info("NATS connection closed")
        closedHandler.withLock { $0 }?()
    }

    func asyncError(_ status: natsStatus, subscription: OpaquePointer?) {
        if status == NATS_SLOW_CONSUMER {
            state.withLock { $0.slowConsumerErrors += 1 }
            // Slow-consumer errors come per dropped batch: log at most every 10 s.
            if slowConsumerLog.admit() {
                var dropped: Int64 = 0
                if let subscription { natsSubscription_GetDropped(subscription, &dropped) }
                logger.error("slow consumer: NATS dropped messages because the handler fell behind", metadata: [
                    "dropped_total": .stringConvertible(dropped),
                ])
            }
        } else {
            state.withLock { $0.asyncErrors += 1 }
            logger.error("NATS asynchronous error", metadata: ["error": .string(String(cString: natsStatus_GetText(status)))])
        }
    }

    private static func url(_ nc: OpaquePointer?) -> String? {
        guard let nc else { return nil }
        var buffer = [CChar](repeating: 0, count: 512)
        guard natsConnection_GetConnectedUrl(nc, &buffer, buffer.count) == NATS_OK else { return nil }
        return redactURL(String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self))
    }
}

// MARK: - C callbacks (exact C signatures; context through Unmanaged)

private func natsAlerterOnConnected(_ nc: OpaquePointer?, _ closure: UnsafeMutableRawPointer?) {
    guard let closure else { return }
    Unmanaged<ConnectionEvents>.fromOpaque(closure).takeUnretainedValue().connected(nc)
}

private func natsAlerterOnDisconnected(_ nc: OpaquePointer?, _ closure: UnsafeMutableRawPointer?) {
    guard let closure else { return }
    Unmanaged<ConnectionEvents>.fromOpaque(closure).takeUnretainedValue().disconnected(nc)
}

private func natsAlerterOnReconnected(_ nc: OpaquePointer?, _ closure: UnsafeMutableRawPointer?) {
    guard let closure else { return }
    Unmanaged<ConnectionEvents>.fromOpaque(closure).takeUnretainedValue().reconnected(nc)
}

/// Called exactly once when the connection closes: drops the C side's reference.
private func natsAlerterOnClosed(_ nc: OpaquePointer?, _ closure: UnsafeMutableRawPointer?) {
    guard let closure else { return }
    let events = Unmanaged<ConnectionEvents>.fromOpaque(closure)
    events.takeUnretainedValue().closed()
    events.release()
}

private func natsAlerterOnAsyncError(_ nc: OpaquePointer?, _ sub: OpaquePointer?, _ status: natsStatus, _ closure: UnsafeMutableRawPointer?) {
    guard let closure else { return }
    Unmanaged<ConnectionEvents>.fromOpaque(closure).takeUnretainedValue().asyncError(status, subscription: sub)
}
