public import AlertCore
public import Logging
import Synchronization

/// The in-memory notification sink: every configured integration with its
/// own queue and worker (docs/ARCHITECTURE.md, Delivery). A slow or dead
/// receiver delays only its own queue — never ingest, the engine, or other
/// receivers.
///
/// Long-lived across reloads: `configure` builds the integrations of a new
/// configuration and retires the previous ones, which get a grace period to
/// deliver what they hold. The durable outbox delivers through it too, with
/// `deliver(_:to:heartbeatInterval:heartbeat:)`, one message at a time.
///
/// Threading: every method may be called from any task; `run()` runs the
/// integrations of every configuration until `shutdown(grace:)`.
public final class Notifiers: NotificationSink {
    public let statistics: DeliveryStatistics
    /// Recent outcomes per integration (both modes; the outbox adds dead letters).
    public let history = NotificationHistory()
    public var isDurable: Bool { false }

    private let logger: Logger
    private let lookup: @Sendable (Fingerprint) -> Alert?
    private let makeEmail: @Sendable (EmailConfiguration, TemplateLibrary, String) -> (any Integration)?
    private let onGivenUp: (@Sendable (AlertCore.Notification) -> Void)?

    private struct State {
        var current: IntegrationSet?
        /// Sets not yet picked up by `run()` (closed by `shutdown` if it never ran).
        var unstarted: [IntegrationSet] = []
        var generation = 0
        var running = false
        var shutDown = false
    }

    private let state = Mutex(State())
    private let configured: AsyncStream<IntegrationSet>.Continuation
    private let configurations: AsyncStream<IntegrationSet>
    private let runEnded: AsyncStream<Void>.Continuation
    private let runEnd: AsyncStream<Void>

    /// - Parameters:
    ///   - lookup: the live state of an alert, for the Alertmanager forwarders.
    ///   - makeEmail: builds the email integration (injected so this module
    ///     does not decide how SMTP is spoken).
    ///   - onGivenUp: told about each notification given up for good (the
    ///     notification log entry is put back, so the next flush decides again).
    public init(logger: Logger, lookup: @escaping @Sendable (Fingerprint) -> Alert?,
                makeEmail: @escaping @Sendable (EmailConfiguration, TemplateLibrary, String) -> (any Integration)? = { _, _, _ in nil },
                onGivenUp: (@Sendable (AlertCore.Notification) -> Void)? = nil) {
        self.statistics = DeliveryStatistics()
        self.logger = logger
        self.lookup = lookup
        self.makeEmail = makeEmail
        self.onGivenUp = onGivenUp
        (configurations, configured) = AsyncStream.makeStream(of: IntegrationSet.self)
        (runEnd, runEnded) = AsyncStream.makeStream(of: Void.self)
    }

    /// Builds the integrations of `receivers` and makes them current; the
    /// previous ones stop taking notifications and get `grace` to deliver
    /// what they hold. A receiver that cannot be built (an unreadable client
    /// certificate) throws, and the previous integrations stay current.
    public func configure(receivers: [ReceiverConfiguration], templates: TemplateLibrary, retryPolicy: RetryPolicy, externalURL: String,
                          grace: Duration = .seconds(10)) throws(NotifyError) {
        let makeEmail = self.makeEmail
        install(try IntegrationSet.build(receivers: receivers, templates: templates, retryPolicy: retryPolicy, externalURL: externalURL,
                                         statistics: statistics, history: history, logger: logger, lookup: lookup,
                                         makeEmail: { makeEmail($0, templates, externalURL) }, onGivenUp: onGivenUp), grace: grace)
    }

    /// Makes `integrations` (by receiver, each with its index among its
    /// kind) current, as `configure` does: for tests with integrations
    /// that are not built from a configuration.
    func configure(integrations: [String: [(any Integration, Int)]], retryPolicy: RetryPolicy, grace: Duration = .seconds(10)) {
        install(IntegrationSet(integrations: integrations, retryPolicy: retryPolicy, statistics: statistics, history: history,
                               logger: logger, onGivenUp: onGivenUp), grace: grace)
    }

    private func install(_ set: IntegrationSet, grace: Duration) {
        let previous: IntegrationSet?? = state.withLock { state in
            guard !state.shutDown else { return .none }
            defer {
                state.current = set
                state.unstarted.append(set)
                state.generation += 1
            }
            return .some(state.current)
        }
        guard case .some(let previous) = previous else {
            // Shut down already (a SIGHUP during shutdown): release its clients, deliver nothing.
            Task { await set.close() }
            return
        }
        configured.yield(set)
        previous?.retire(grace: grace)
    }

    /// Counts `configure` calls: an outbox delivery that started under one
    /// configuration and failed under the next is tried again, not given up.
    public var generation: Int { state.withLock { $0.generation } }

    // MARK: NotificationSink

    public func submit(_ notifications: [AlertCore.Notification]) async -> Int {
        let current = state.withLock { $0.current }
        for notification in notifications { current?.dispatch(notification) }
        return notifications.count
    }

    public func run() async {
        let start = state.withLock { state in
            guard !state.running, !state.shutDown else { return false }
            state.running = true
            return true
        }
        guard start else { return }
        await withDiscardingTaskGroup { group in
            for await set in configurations {
                state.withLock { $0.unstarted.removeAll { $0 === set } }
                group.addTask {
                    await set.run()
                    await set.close()
                }
            }
        }
        runEnded.finish()
    }

    public func shutdown(grace: Duration) async {
        let (current, running, unstarted) = state.withLock { state in
            state.shutDown = true
            defer { state.unstarted = [] }
            return (state.current, state.running, state.unstarted)
        }
        current?.retire(grace: grace)
        configured.finish()
        if running {
            for await _ in runEnd {}
        } else {
            // `run()` never started (a shutdown right after start-up): what
            // is queued is delivered here, within the same grace period.
            await withDiscardingTaskGroup { group in
                for set in unstarted {
                    set.retire(grace: grace)
                    group.addTask {
                        await set.run()
                        await set.close()
                    }
                }
            }
        }
    }

    // MARK: Delivery for the durable outbox

    /// The current integrations of `receiver` that take `notification`.
    public func addresses(of receiver: String, for notification: AlertCore.Notification? = nil) -> [IntegrationAddress] {
        state.withLock { $0.current }?.addresses(of: receiver, for: notification) ?? []
    }

    /// Delivers with the integration's retries, calling `heartbeat` while
    /// waiting between attempts. Nil when the current configuration has no
    /// such integration.
    public func deliver(_ notification: AlertCore.Notification, to address: IntegrationAddress, heartbeatInterval: Duration,
                        heartbeat: @escaping @Sendable () -> Void) async -> IntegrationWorker.Outcome? {
        guard let worker = state.withLock({ $0.current })?.worker(at: address) else { return nil }
        return await worker.deliver(notification, heartbeatInterval: heartbeatInterval, heartbeat: heartbeat)
    }
}
