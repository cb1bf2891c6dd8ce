public import AlertCore
public import AlertIngest
public import Logging
import Foundation
import ServiceLifecycle
import Synchronization

/// The NATS side of ingest: the connection, the JetStream context, and the
/// subscriptions that feed events into the alert store and transitions into
/// the engine loop (docs/ARCHITECTURE.md, Data flow).
///
/// `connect` runs before the service group starts. `subscribe` is the engine
/// loop's first step, once state is loaded; `drain` and `close` its last.
/// Handlers run on libnats' delivery threads; every blocking libnats call
/// here runs on the shared `BlockingPool`.
public final class NATSIngest: EventSource {
    public let connection: NATSConnection
    /// Present when ingest or state use JetStream.
    public let jetStream: JetStream?
    private let settings: AlerterConfig.NATSSection
    private let logger: Logger
    /// Durable mode is highly available: each subscribe recreates the event
    /// consumers at the previous one's ack floor + 1 (docs/ARCHITECTURE.md,
    /// High availability).
    private let fenceConsumers: Bool

    /// One subscription with the counters of its handler.
    public struct Subscribed: Sendable {
        public var subject: String
        public var subscription: any IngestSubscription
        public var counters: IngestCounters
    }

    private let subscribed = Mutex<[Subscribed]>([])
    /// The event consumers' batched acks, and what may stop them (HA).
    private let trackers = Mutex<[AckTracker]>([])
    private let acknowledgementGate = Mutex<(@Sendable () -> Bool)?>(nil)
    private let ackGapLog = LogInterval(.seconds(10))
    private let unavailableLog = LogInterval(.seconds(10))
    private let deadLettered = Mutex<[String: Int]>([:])

    /// Connects (libnats retries in the background when no server answers yet).
    /// - Parameter fenceConsumers: recreate the event consumers on subscribe
    ///   (high availability).
    public static func connect(_ settings: AlerterConfig.NATSSection, jetStream needsJetStream: Bool, fenceConsumers: Bool = false,
                               logger: Logger) async throws -> NATSIngest {
        let connection = try await runBlocking("NATS connect") { () throws(NATSError) -> NATSConnection in
            try NATSConnection(configuration: settings.connection, logger: logger)
        }
        let jetStream = needsJetStream ? try JetStream(connection: connection) : nil
        return NATSIngest(connection: connection, jetStream: jetStream, settings: settings, fenceConsumers: fenceConsumers, logger: logger)
    }

    private init(connection: NATSConnection, jetStream: JetStream?, settings: AlerterConfig.NATSSection, fenceConsumers: Bool, logger: Logger) {
        self.connection = connection
        self.jetStream = jetStream
        self.settings = settings
        self.fenceConsumers = fenceConsumers
        self.logger = logger
    }

    /// Subscribes to the configured subjects (and the rules' sample
    /// subjects). Events change `state.store` on the delivery threads and
    /// queue their transitions in `state.transitions`; when libnats closes
    /// the connection for good, the buffer is finished so the engine loop
    /// stops instead of sitting deaf.
    public func subscribe(_ state: AlertingState, clock: any WallClock) async throws {
        let connection = self.connection, settings = self.settings, logger = self.logger
        let transitions = state.transitions
        connection.onClosed { transitions.finish() }
        var deadLetter: EventIngestor.DeadLetter?
        if let jetstream = settings.jetstream, let subject = jetstream.deadLetterSubject {
            deadLetter = { [self] original, payload, rejection in
                self.deadLettered.withLock { $0[rejection.reason.rawValue, default: 0] += 1 }
                try? connection.publish(subject: subject, payload: payload, headers: [
                    ("Nats-Alerter-Reject-Reason", rejection.reason.rawValue),
                    ("Nats-Alerter-Reject-Detail", Self.headerValue(rejection.detail)),
                    ("Nats-Alerter-Original-Subject", original),
                ])
            }
        }
        if let jetstream = settings.jetstream, let jetStream {
            try await untilAnswered("JetStream stream set-up") { () throws(NATSError) in
                try jetStream.ensureStream(jetstream.stream, subscribed: settings.subjects)
            }
        }
        let rules = state.rules.isEmpty ? nil : state.rules
        for (index, subject) in settings.subjects.enumerated() {
            // One handler per subscription, so counters are per subscribed subject.
            let counters = IngestCounters()
            let ingestor = EventIngestor(store: state.store, transitions: transitions, counters: counters, limits: settings.limits,
                                         clock: clock, logger: logger, deadLetter: deadLetter, rules: rules)
            do {
                let subscription: any IngestSubscription
                if let jetstream = settings.jetstream, let jetStream {
                    var consumer = jetstream.consumer
                    consumer.batchedAcks = true
                    if settings.subjects.count > 1 { consumer.durable += "-\(index)" }
                    var deliveredBefore: UInt64 = 0
                    if fenceConsumers {
                        consumer.startSequence = try await fence(consumer.durable, of: jetstream.stream.name, jetStream)
                    } else {
                        let existing = try await moveToBatchedAcks(consumer.durable, of: jetstream.stream.name, jetStream)
                        consumer.startSequence = existing.start
                        deliveredBefore = existing.deliveredBefore
                    }
                    let durable = consumer.durable, ackGapLog = self.ackGapLog, stream = jetstream.stream.name
                    let start = consumer, delivered = deliveredBefore
                    let jetStreamConsumer = try await untilAnswered("JetStream event consumer") { () throws(NATSError) in
                        try JetStreamConsumer(
                            jetStream: jetStream, stream: stream, subject: subject, consumer: start, handler: ingestor,
                            deliveredBefore: delivered, onAckGap: {
                                if ackGapLog.admit() {
                                    logger.warning("JetStream delivery lost (slow consumer): event acks paused for 2 × ack_wait, until the server redelivers it (logged at most every 10 s)",
                                                   metadata: ["durable": .string(durable)])
                                }
                            })
                    }
                    if let tracker = jetStreamConsumer.acknowledgements {
                        if let gate = acknowledgementGate.withLock({ $0 }) { tracker.setGate(gate) }
                        trackers.withLock { $0.append(tracker) }
                    }
                    subscription = jetStreamConsumer
                } else {
                    subscription = try NATSSubscription(connection: connection, subject: subject, queueGroup: settings.queueGroup, handler: ingestor)
                }
                subscribed.withLock { $0.append(Subscribed(subject: subject, subscription: subscription, counters: counters)) }
            } catch {
                if connection.state == .closed, let reason = connection.lastError {
                    throw NATSError(operation: "subscribe to \(subject)", message: "NATS connection closed: \(reason)")
                }
                throw error
            }
        }
        // Metric samples for the rules: core NATS (a sample is a periodic
        // measurement; the rules' windows, not the samples, are what is kept).
        let sampleSubjects = state.rules.sampleSubjects
        for subject in sampleSubjects {
            let counters = IngestCounters()
            let ingestor = SampleIngestor(rules: state.rules, transitions: transitions, counters: counters,
                                          limits: settings.limits, clock: clock, logger: logger)
            let subscription = try NATSSubscription(connection: connection, subject: subject, queueGroup: settings.queueGroup, handler: ingestor)
            subscribed.withLock { $0.append(Subscribed(subject: subject, subscription: subscription, counters: counters)) }
        }
        // A round trip, so the server has every subscription before "subscribed"
        // is logged: libnats sends SUB from its flusher thread, and an event
        // published on another connection meanwhile would be missed. Not yet
        // connected (libnats retrying): the subscriptions go out on connect.
        let registered = await runBlocking("NATS flush") { () -> Bool in (try? connection.flush(timeout: .seconds(5))) != nil }
        if !registered {
            logger.warning("NATS did not confirm the subscriptions yet; they are registered when the connection is up")
        }
        var metadata: Logger.Metadata = ["subjects": .array(settings.subjects.map { .string($0) })]
        if !state.rules.isEmpty {
            metadata["rules"] = .stringConvertible(state.rules.rules.count)
            metadata["sample_subjects"] = .array(sampleSubjects.map { .string($0) })
        }
        if let jetstream = settings.jetstream {
            metadata["stream"] = .string(jetstream.stream.name)
            metadata["durable"] = .string(jetstream.consumer.durable)
        }
        if let group = settings.queueGroup { metadata["queue_group"] = .string(group) }
        logger.info("subscribed; waiting for events", metadata: metadata)
    }

    /// Every subscription with its counters, for metrics and the final log line.
    public var subscriptions: [Subscribed] { subscribed.withLock { $0 } }

    /// Events republished to the dead-letter subject, by reject reason.
    public var deadLetteredEvents: [String: Int] { deadLettered.withLock { $0 } }

    public var failure: String { connection.lastError ?? "closed by the client library" }

    public var summary: Logger.Metadata {
        var totals: [String: Int] = [:]
        let subscriptions = self.subscriptions
        for subscribed in subscriptions { totals.merge(subscribed.counters.snapshot) { $0 + $1 } }
        return [
            "counters": .dictionary(totals.mapValues { .stringConvertible($0) }),
            "nats_reconnects": .stringConvertible(connection.counters.reconnects),
            "slow_consumer_drops": .stringConvertible(subscriptions.reduce(Int64(0)) { $0 + $1.subscription.droppedCount }),
        ]
    }

    /// Drains every subscription: each message already received is handled
    /// before this returns. The connection stays open (state writes need it).
    public func drain() async {
        let all = subscriptions.map(\.subscription)
        let errors = await runBlocking("NATS subscription drain") { () -> [String] in
            var errors: [String] = []
            for subscription in all {
                do { try subscription.drain(timeout: .seconds(10)) } catch { errors.append("\(error)") }
            }
            return errors
        }
        for error in errors { logger.error("drain failed", metadata: ["error": .string(error)]) }
    }

    /// High availability: the event consumers' acks are sent only while
    /// `gate` says so (this instance owns the partition).
    public func gateAcknowledgements(_ gate: @escaping @Sendable () -> Bool) {
        acknowledgementGate.withLock { $0 = gate }
        for tracker in trackers.withLock({ $0 }) { tracker.setGate(gate) }
    }

    public func finishAcknowledgements() {
        for tracker in trackers.withLock({ $0 }) { tracker.close() }
    }

    /// Drains and closes the connection (the last step of shutdown).
    public func close() async {
        finishAcknowledgements()
        let connection = self.connection
        let failure = await runBlocking("NATS connection drain") { () -> String? in
            do { try connection.drain(timeout: .seconds(5)) } catch { return "\(error)" }
            return nil
        }
        if let failure { logger.error("closing the NATS connection failed", metadata: ["error": .string(failure)]) }
    }

    /// A JetStream call of the event consumers' set-up, on the blocking
    /// pool, tried again every second while nobody can answer it (a stream
    /// without a leader or quorum, a node away: `NATSError.isUnavailable`)
    /// until it succeeds or the service shuts down. A new HA owner must not
    /// exit here: the old one is gone, so nobody would consume the events
    /// (docs/ARCHITECTURE.md, High availability). A refusal (a stream that
    /// does not capture the subjects, a wrong configuration) is thrown.
    private func untilAnswered<T: Sendable>(_ operation: String, _ body: @escaping @Sendable () throws(NATSError) -> T) async throws -> T {
        var failures = 0
        while true {
            do throws(NATSError) {
                let result = try await runBlocking(operation, body)
                if failures > 0 {
                    logger.notice("event consumer available again", metadata: ["operation": .string(operation), "attempts": .stringConvertible(failures + 1)])
                }
                return result
            } catch {
                if !error.isUnavailable || Task.isCancelled || Task.isShuttingDownGracefully { throw error }
                if failures == 0 || unavailableLog.admit() {
                    logger.warning("event consumer not available: JetStream does not answer; trying again every second (logged at most every 10 s)", metadata: [
                        "operation": .string(operation), "error": .string("\(error)"), "attempts": .stringConvertible(failures + 1),
                    ])
                }
                failures += 1
                try? await Task.sleep(for: .seconds(1))
            }
        }
    }

    /// High availability (docs/ARCHITECTURE.md): deletes the durable an
    /// earlier owner consumed with (a paused process receives nothing more)
    /// and returns where the new one starts, its ack floor + 1 (events it
    /// had not acknowledged come back at once, not after `ack_wait`). The
    /// floor is read before the delete, each step retried on its own, so a
    /// retry never reads the floor of a consumer already deleted (nil: the
    /// whole stream again).
    private func fence(_ durable: String, of stream: String, _ jetStream: JetStream) async throws -> UInt64? {
        let floor = try await untilAnswered("JetStream consumer fence: ack floor") { () throws(NATSError) -> UInt64? in
            try jetStream.ackFloor(stream: stream, durable: durable)
        }
        if floor != nil {
            try await untilAnswered("JetStream consumer fence: delete") { () throws(NATSError) in
                try jetStream.deleteConsumer(stream: stream, durable: durable)
            }
        }
        if let floor {
            logger.info("event consumer recreated at the previous consumer's ack floor + 1", metadata: [
                "durable": .string(durable), "start_sequence": .stringConvertible(floor + 1),
            ])
        }
        return floor.map { $0 + 1 }
    }

    /// Without fencing (JetStream ingest, memory state): an event durable
    /// left by a version that acked each event (AckExplicit) cannot take
    /// AckAll in place, so it is deleted and recreated at its ack floor + 1
    /// (events acked above the floor come back as duplicates), once, with a
    /// log line. Not while a subscription is bound to it (another process
    /// consumes it): subscribing then fails as it always did. Returns the
    /// start sequence (nil: subscribe as usual) and, for an AckAll durable
    /// resumed as it is, the last consumer sequence it delivered.
    private func moveToBatchedAcks(_ durable: String, of stream: String, _ jetStream: JetStream) async throws -> (start: UInt64?, deliveredBefore: UInt64) {
        let state = try await untilAnswered("JetStream consumer ack policy") { () throws(NATSError) in
            try jetStream.consumerState(stream: stream, durable: durable)
        }
        guard let state else { return (nil, 0) }
        if state.acksAll || state.pushBound { return (nil, state.delivered) }
        try await untilAnswered("JetStream consumer ack policy: delete") { () throws(NATSError) in
            try jetStream.deleteConsumer(stream: stream, durable: durable)
        }
        logger.notice("event consumer moved to batched acks: the AckExplicit durable was recreated as AckAll at its ack floor + 1", metadata: [
            "durable": .string(durable), "start_sequence": .stringConvertible(state.ackFloor + 1),
        ])
        return (state.ackFloor + 1, 0)
    }

    /// A value for a NATS header: one line, at most 1,000 characters.
    static func headerValue(_ text: String) -> String {
        String(text.prefix(1000)).replacingOccurrences(of: "\r", with: " ").replacingOccurrences(of: "\n", with: " ")
    }
}
