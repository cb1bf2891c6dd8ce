import AlertCore
import AsyncHTTPClient
import Logging
import NIOSSL
import Synchronization

/// One configuration's integrations: every receiver's integrations, each
/// with its own queue and worker, plus the Alertmanager forwarders' resend
/// loops and the HTTP clients they share. `Notifiers` runs the current set
/// and retires it when a reload brings the next one.
final class IntegrationSet: Sendable {
    /// Workers by receiver name.
    private let workers: [String: [IntegrationWorker]]
    private let forwarders: [AlertmanagerNotifier]
    private let clients: [HTTPClient]
    private let retirement: AsyncStream<Duration>
    private let retired: AsyncStream<Duration>.Continuation

    /// - Parameters:
    ///   - integrations: each receiver's integrations, each with its index
    ///     among its kind (the engine's `IntegrationPolicy.index`).
    ///   - clients: released by `close()`.
    ///   - onGivenUp: told about each notification given up for good (the
    ///     notification-log entry is put back).
    init(integrations: [String: [(any Integration, Int)]], forwarders: [AlertmanagerNotifier] = [], clients: [HTTPClient] = [],
         retryPolicy: RetryPolicy, statistics: DeliveryStatistics, history: NotificationHistory? = nil, logger: Logger,
         onGivenUp: (@Sendable (AlertCore.Notification) -> Void)?) {
        var workers: [String: [IntegrationWorker]] = [:]
        for (receiver, list) in integrations {
            workers[receiver] = list.map { integration, index in
                IntegrationWorker(receiver: receiver, integration: integration, index: index, policy: retryPolicy, statistics: statistics,
                                  logger: logger, onGivenUp: onGivenUp, history: history)
            }
        }
        self.workers = workers
        (retirement, retired) = AsyncStream.makeStream(of: Duration.self)
        self.forwarders = forwarders
        self.clients = clients
    }

    /// The integrations of `receivers`, built from their configuration.
    ///
    /// - Parameters:
    ///   - lookup: the live state of an alert, for the Alertmanager forwarders.
    ///   - makeEmail: builds the email integration (kept injectable so this
    ///     type does not depend on how SMTP is spoken).
    /// - Throws: when a client certificate cannot be read; the HTTP clients
    ///   made so far are shut down.
    static func build(
        receivers: [ReceiverConfiguration], templates: TemplateLibrary, retryPolicy: RetryPolicy, externalURL: String,
        statistics: DeliveryStatistics, history: NotificationHistory?, logger: Logger, lookup: @escaping @Sendable (Fingerprint) -> Alert?,
        makeEmail: (EmailConfiguration) -> (any Integration)?, onGivenUp: (@Sendable (AlertCore.Notification) -> Void)?
    ) throws(NotifyError) -> IntegrationSet {
        let shared = HTTPClient(eventLoopGroupProvider: .singleton)
        var clients = [shared]
        func client(for tls: TLSSettings?) throws(NotifyError) -> HTTPClient {
            guard let tls else { return shared }
            var configuration = TLSConfiguration.makeClientConfiguration()
            if let ca = tls.caFile { configuration.trustRoots = .file(ca) }
            if tls.insecureSkipVerify { configuration.certificateVerification = .none }
            if let cert = tls.certFile, let key = tls.keyFile {
                do {
                    configuration.certificateChain = try NIOSSLCertificate.fromPEMFile(cert).map { NIOSSLCertificateSource.certificate($0) }
                    configuration.privateKey = .privateKey(try NIOSSLPrivateKey(file: key, format: .pem))
                } catch {
                    throw NotifyError(.permanent, reason: "config", message: "cannot load client certificate \(cert): \(error)")
                }
            }
            let dedicated = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(tlsConfiguration: configuration))
            clients.append(dedicated)
            return dedicated
        }
        let rateLimiter = RateLimiter(interval: .seconds(1))
        var integrations: [String: [(any Integration, Int)]] = [:]
        var forwarders: [AlertmanagerNotifier] = []
        do throws(NotifyError) {
            for receiver in receivers {
                var built: [(any Integration, Int)] = []
                for (index, config) in receiver.alertmanager.enumerated() {
                    let forwarder = AlertmanagerNotifier(configuration: config, poster: HTTPPoster(client: try client(for: config.tls)), logger: logger,
                                                         lookup: lookup, rejections: (statistics, receiver.name))
                    forwarders.append(forwarder)
                    built.append((forwarder, index))
                }
                for (index, config) in receiver.slack.enumerated() {
                    built.append((SlackNotifier(configuration: config, templates: templates, poster: HTTPPoster(client: shared),
                                                rateLimiter: rateLimiter, externalURL: externalURL), index))
                }
                for (index, config) in receiver.webhook.enumerated() {
                    built.append((WebhookNotifier(configuration: config, poster: HTTPPoster(client: shared), externalURL: externalURL), index))
                }
                for (index, config) in receiver.email.enumerated() {
                    if let email = makeEmail(config) { built.append((email, index)) }
                }
                integrations[receiver.name] = built
            }
        } catch {
            // An HTTP client must be shut down before it is released.
            Task { [clients] in for client in clients { try? await client.shutdown() } }
            throw error
        }
        return IntegrationSet(integrations: integrations, forwarders: forwarders, clients: clients, retryPolicy: retryPolicy,
                              statistics: statistics, history: history, logger: logger, onGivenUp: onGivenUp)
    }

    /// Hands a notification to its integration (to each integration of its
    /// receiver when it names none). Never blocks.
    func dispatch(_ notification: AlertCore.Notification) {
        for worker in workers[notification.receiver] ?? [] where worker.accepts(notification) {
            worker.enqueue(notification)
        }
    }

    /// The integrations of `receiver` that take `notification`.
    func addresses(of receiver: String, for notification: AlertCore.Notification? = nil) -> [IntegrationAddress] {
        (workers[receiver] ?? []).filter { notification.map($0.accepts) ?? true }.map(\.address)
    }

    func worker(at address: IntegrationAddress) -> IntegrationWorker? {
        workers[address.receiver]?.first { $0.address == address }
    }

    /// Runs the workers and the resenders. Returns once the set is retired
    /// and every queue is delivered, or the retirement's grace period is
    /// over (workers still retrying are cancelled then); the resenders stop
    /// with it.
    func run() async {
        let workers = self.workers.values.flatMap { $0 }
        let forwarders = self.forwarders
        let retirement = self.retirement
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                await withTaskGroup(of: Void.self) { inner in
                    for worker in workers { inner.addTask { await worker.run() } }
                }
            }
            group.addTask {
                await withTaskGroup(of: Void.self) { inner in
                    for forwarder in forwarders { inner.addTask { await forwarder.runResender() } }
                    await inner.waitForAll()
                }
                // Without forwarders this returns at once; wait for cancellation instead.
                while !Task.isCancelled { try? await Task.sleep(for: .seconds(3600)) }
            }
            group.addTask {
                for await grace in retirement {
                    try? await Task.sleep(for: grace)
                    return
                }
                while !Task.isCancelled { try? await Task.sleep(for: .seconds(3600)) }
            }
            await group.next()
            group.cancelAll()
        }
    }

    /// Stops taking notifications: workers deliver what is queued, for at
    /// most `grace`.
    func retire(grace: Duration) {
        retired.yield(grace)
        retired.finish()
        for worker in workers.values.flatMap({ $0 }) { worker.finish() }
    }

    /// Releases the HTTP clients (after `run` returned).
    func close() async {
        for client in clients {
            try? await client.shutdown()
        }
    }
}
