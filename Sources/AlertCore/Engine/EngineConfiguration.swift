/// One integration of a receiver (an entry of one of its `*_configs`
/// lists), as the engine sees it: its own notification log and its own
/// `send_resolved`, as Alertmanager's per-integration pipeline stage.
public struct IntegrationPolicy: Sendable, Equatable {
    /// `webhook`, `slack`, `email`, `alertmanager`.
    public var kind: String
    /// Position among the receiver's integrations of this kind.
    public var index: Int
    public var sendResolved: Bool

    public init(kind: String, index: Int, sendResolved: Bool) {
        self.kind = kind
        self.index = index
        self.sendResolved = sendResolved
    }

    /// `webhook/0`: the integration part of a notification log key.
    public var name: String { "\(kind)/\(index)" }
}

/// What a receiver wants from the engine (the notifiers own the rest).
public struct ReceiverPolicy: Sendable, Equatable {
    public var name: String
    /// Whether resolved alerts are sent (Alertmanager's `send_resolved`), for
    /// a receiver given without integrations.
    public var sendResolved: Bool
    /// Its integrations; each is deduplicated and notified on its own. Empty:
    /// the receiver is one unnamed destination (it only logs).
    public var integrations: [IntegrationPolicy]

    public init(name: String, sendResolved: Bool = true, integrations: [IntegrationPolicy] = []) {
        self.name = name
        self.sendResolved = sendResolved
        self.integrations = integrations
    }
}

/// Everything the engine needs from the configuration, validated.
public struct EngineConfiguration: Sendable {
    public var route: RouteConfiguration
    public var receivers: [String: ReceiverPolicy]
    public var inhibitRules: [InhibitRule]
    public var timeIntervals: [String: NamedTimeInterval]
    /// Alertmanager's `global.resolve_timeout`: an alert not reported for
    /// this long resolves by itself.
    public var resolveTimeout: Duration
    /// Per alert type (`alertname`) overrides of `resolveTimeout`.
    public var resolveTimeoutByAlertType: [String: Duration]
    /// How long resolved alerts stay visible before they are forgotten.
    public var resolvedRetention: Duration
    /// How long expired silences are kept (Alertmanager: 120h).
    public var silenceRetention: Duration

    public init(
        route: RouteConfiguration = RouteConfiguration(receiver: "default"),
        receivers: [ReceiverPolicy] = [ReceiverPolicy(name: "default")],
        inhibitRules: [InhibitRule] = [],
        timeIntervals: [NamedTimeInterval] = [],
        resolveTimeout: Duration = .seconds(300),
        resolveTimeoutByAlertType: [String: Duration] = [:],
        resolvedRetention: Duration = .seconds(900),
        silenceRetention: Duration = .seconds(120 * 3600)
    ) {
        self.route = route
        self.receivers = Dictionary(receivers.map { ($0.name, $0) }, uniquingKeysWith: { $1 })
        self.inhibitRules = inhibitRules
        self.timeIntervals = Dictionary(timeIntervals.map { ($0.name, $0) }, uniquingKeysWith: { $1 })
        self.resolveTimeout = resolveTimeout
        self.resolveTimeoutByAlertType = resolveTimeoutByAlertType
        self.resolvedRetention = resolvedRetention
        self.silenceRetention = silenceRetention
    }

    /// The resolve timeout that applies to an alert.
    public func resolveTimeout(for alert: Alert) -> Duration {
        alert.labels["alertname"].flatMap { resolveTimeoutByAlertType[$0] } ?? resolveTimeout
    }
}
