public import AlertCore
public import AlertIngest
public import AlertNotify
public import Logging

/// The whole configuration file, validated. Top-level keys follow
/// Alertmanager's format (`global`, `route`, `receivers`, `inhibit_rules`,
/// `time_intervals`, `templates`) plus nats-alerter's own (`nats`, `state`,
/// `server`, `rules`, `rule_files`, `log`). See README "Configuration".
public struct AlerterConfig: Sendable {
    public var nats: NATSSection
    public var state: StateSection
    public var log: LogSection
    /// `server:` — the HTTP API and /metrics.
    public var server = ServerSection()
    /// Event-stream rules: `rules:` plus the files of `rule_files:`.
    public var rules: [EventRule] = []
    /// Rule alerts are resolved by their rules, not by `resolve_timeout`.
    public static let ruleAlertResolveTimeout: Duration = .seconds(10 * 365 * 86400)
    /// Routing, receivers' policies, inhibition, time intervals, timeouts.
    public var engine: EngineConfiguration
    /// The receivers' integrations, by receiver name.
    public var receivers: [String: ReceiverConfiguration] = [:]
    /// Built-in templates plus the files under `templates:`.
    public var templates: TemplateLibrary = try! TemplateLibrary()
    /// Retries of a failed delivery (`global.notification_deadline` bounds them).
    public var retryPolicy = RetryPolicy()
    /// `global.external_url`: the link back to this service in notifications.
    public var externalURL = ""
    /// The YAML text this config was read from (`/api/v2/status` shows it,
    /// secrets masked); nil when built in code.
    public var sourceYAML: String?
    /// Things that load but have no effect (unsupported Alertmanager
    /// integrations or options); printed by check-config, logged at start.
    public var notes: [String] = []
    /// Sections present in the file that this version
    /// reads but does not act on yet (they are kept so an existing
    /// Alertmanager config loads; check-config names them).
    public var acceptedButUnused: [String]

    public init(nats: NATSSection = NATSSection(), state: StateSection = StateSection(), log: LogSection = LogSection(),
                engine: EngineConfiguration = AlerterConfig.defaultEngine, acceptedButUnused: [String] = []) {
        self.nats = nats
        self.state = state
        self.log = log
        self.engine = engine
        self.acceptedButUnused = acceptedButUnused
    }

    /// Without `route`/`receivers`, every alert goes to one receiver, `log`,
    /// which only writes notifications to the log, with Alertmanager's timers.
    public static let defaultEngine = EngineConfiguration(
        route: RouteConfiguration(receiver: "log"), receivers: [ReceiverPolicy(name: "log")]
    )

    /// `nats:` — how to reach NATS and what to subscribe to.
    public struct NATSSection: Sendable {
        public var connection: NATSConnectionConfiguration
        /// Subjects carrying `AlertEvent`s; NATS wildcards allowed.
        public var subjects: [String]
        /// When set, replicas in the same group share the subjects' messages.
        public var queueGroup: String?
        public var limits: EventLimits
        /// `nats.jetstream`: consume through a stream with a durable consumer (at-least-once).
        public var jetstream: JetStreamSection?

        public init(connection: NATSConnectionConfiguration = NATSConnectionConfiguration(), subjects: [String] = [], queueGroup: String? = nil, limits: EventLimits = .default) {
            self.connection = connection
            self.subjects = subjects
            self.queueGroup = queueGroup
            self.limits = limits
        }
    }

    /// `nats.jetstream` — the events stream and the durable consumer.
    public struct JetStreamSection: Sendable, Equatable {
        public var stream = EventStreamConfiguration()
        public var consumer = ConsumerConfiguration()
        /// Rejected events are republished here with the reason in headers.
        public var deadLetterSubject: String?

        public init() {}
    }

    /// `state:` — where alert state lives.
    public struct StateSection: Sendable {
        public enum Backend: String, Sendable, CaseIterable {
            /// In process memory: lost on restart.
            case memory
            /// JetStream key-value buckets: kept across restarts, shared by replicas.
            case jetstream
        }

        public var backend: Backend
        public var maxActiveAlerts: Int
        /// `state.jetstream`: the buckets.
        public var jetstream = JetStreamStateStore.Settings()
        /// `state.jetstream.outbox`: the durable notification outbox.
        public var outbox = OutboxSection()

        public init(backend: Backend = .memory, maxActiveAlerts: Int = 1_000_000) {
            self.backend = backend
            self.maxActiveAlerts = maxActiveAlerts
        }
    }

    /// `state.jetstream.outbox` — the durable notification outbox (used with
    /// `state.backend: jetstream`). See `NotificationOutbox`.
    public struct OutboxSection: Sendable, Equatable {
        /// false: notifications are queued in memory (lost on a crash).
        public var enabled = true
        /// How long a delivery may go without an ack or an in-progress
        /// signal before JetStream hands it to another process.
        public var ackWait: Duration = .seconds(30)
        /// Deliveries of one notification (restarts included) before it is dead-lettered.
        public var maxDeliver = 20
        /// JetStream drops a re-published copy of a notification within this window.
        public var duplicateWindow: Duration = .seconds(3600)
        /// How long the sent log remembers a delivered notification.
        public var sentLogTTL: Duration = .seconds(86400)

        public init() {}
    }

    /// `server:` — the HTTP listener.
    public struct ServerSection: Sendable, Equatable {
        /// `host:port`; Alertmanager's is 9093, so 9094 by default.
        public var listenAddress: String = "127.0.0.1:9094"
        /// When set, mutating endpoints (silences, reload) need `Authorization: Bearer <token>`.
        public var apiTokenFile: String?
        /// Largest accepted request body.
        public var maxRequestBodyBytes: Int = 1 << 20
        /// `allowed_origins`: browser origins (`scheme://host[:port]`) besides
        /// the service's own that may call mutating endpoints. Empty: same-origin only.
        public var allowedOrigins: [String] = []
        /// `allowed_hosts`: `Host` header values (`name[:port]`) mutating requests may carry.
        /// Empty: the listen address (plus `localhost` and the loopback addresses
        /// when it is a loopback one); any host when it listens on all interfaces.
        public var allowedHosts: [String] = []
        /// `limits`: caps on what the API stores.
        public var limits = APILimits()
        /// `tls_server_config`: serve HTTPS with these files (re-read on reload).
        public var tls: ListenerTLSFiles?

        public init() {}

        public var host: String { String(listenAddress[..<(listenAddress.lastIndex(of: ":") ?? listenAddress.endIndex)]) }
        public var port: Int { Int(listenAddress[listenAddress.index(after: listenAddress.lastIndex(of: ":") ?? listenAddress.startIndex)...]) ?? 9094 }
    }

    /// `server.limits:` — caps on silences, named after Alertmanager's
    /// `--silences.max-silences` and `--silences.max-silence-size-bytes`.
    public struct APILimits: Sendable, Equatable {
        /// Silences held, expired ones included (as Alertmanager counts them);
        /// creating one more is refused. 0: no cap.
        public var maxSilences = 10_000
        /// Bytes of one silence: id, matchers' names and values, `createdBy`, comment. 0: no cap.
        public var maxSilenceSizeBytes = 64 << 10
        /// Matchers in one silence. 0: no cap.
        public var maxMatchersPerSilence = 100
        /// Bytes of a silence's comment. 0: no cap.
        public var maxCommentBytes = 8 << 10

        public init() {}
    }

    /// `server.tls_server_config:` — the listener's certificate and key (PEM).
    public struct ListenerTLSFiles: Sendable, Equatable {
        public var certFile: String
        public var keyFile: String

        public init(certFile: String, keyFile: String) {
            self.certFile = certFile
            self.keyFile = keyFile
        }
    }

    /// `log:` — log level and line format.
    public struct LogSection: Sendable {
        public enum Format: String, Sendable, CaseIterable {
            /// One JSON object per line (for log shippers).
            case json
            /// `time level message key=value…` for people at a terminal.
            case text
        }

        public var level: Logger.Level
        public var format: Format

        public init(level: Logger.Level = .info, format: Format = .json) {
            self.level = level
            self.format = format
        }
    }
}
