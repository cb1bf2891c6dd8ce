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
    /// High availability (durable mode): the lease and the instance's name.
    public var ha = HASection()
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

    // The sections' keys, their meaning and reload behaviour are described
    // once, in ConfigSection.nats, .state, .server and .log (docs/ARCHITECTURE.md,
    // "Adding a config option"); the defaults are these types'.

    /// `nats:` — how to reach NATS and what to subscribe to.
    public struct NATSSection: Sendable {
        public var connection: NATSConnectionConfiguration
        public var subjects: [String]
        public var queueGroup: String?
        public var limits: EventLimits
        public var jetstream: JetStreamSection?
        public var control = ControlSection()

        public init(connection: NATSConnectionConfiguration = NATSConnectionConfiguration(), subjects: [String] = [], queueGroup: String? = nil, limits: EventLimits = .default) {
            self.connection = connection
            self.subjects = subjects
            self.queueGroup = queueGroup
            self.limits = limits
        }
    }

    /// `nats.control` — the request-reply API, the state-change events and
    /// service discovery over NATS (docs/ARCHITECTURE.md, Control plane).
    public struct ControlSection: Sendable, Equatable {
        public enum EventFormat: String, Sendable, CaseIterable {
            /// `alerting.v1.AlertStateEvent` / `NotificationStateEvent` (proto/alerting/v1/state_event.proto).
            case protobuf
            /// The same fields as JSON (proto3 JSON names).
            case json
        }

        public var enabled = true
        /// Subjects are `<prefix>.api.…` and `<prefix>.events.…`.
        public var prefix = "nats_alerter"
        public var eventFormat = EventFormat.protobuf
        /// Whether `silences.create` and `silences.expire` are answered. Off
        /// by default: on a NATS server without subject permissions anyone
        /// who may publish an event could otherwise mute every alert.
        public var silenceWrites = false

        public init() {}
    }

    /// `nats.jetstream` — the events stream and the durable consumer.
    public struct JetStreamSection: Sendable, Equatable {
        public var stream = EventStreamConfiguration()
        public var consumer = ConsumerConfiguration()
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
        public var jetstream = JetStreamStateStore.Settings()
        public var outbox = OutboxSection()

        public init(backend: Backend = .memory, maxActiveAlerts: Int = 1_000_000) {
            self.backend = backend
            self.maxActiveAlerts = maxActiveAlerts
        }
    }

    /// `ha:` — high availability of durable-mode instances sharing a bucket
    /// prefix (docs/ARCHITECTURE.md, High availability).
    public struct HASection: Sendable, Equatable {
        /// nil: `<hostname>-<pid>`.
        public var instance: String?
        /// Takeover after a crash within this (+ a poll interval); longer than a
        /// JetStream leader change (4–6 s measured on nats-server 2.9.10).
        public var leaseTTL: Duration = .seconds(9)
        public var renewInterval: Duration = .seconds(1)
        public var partitions = 1

        public init() {}
    }

    /// `state.jetstream.outbox` — the durable notification outbox (used with
    /// `state.backend: jetstream`). See `NotificationOutbox`.
    public struct OutboxSection: Sendable, Equatable {
        public var enabled = true
        public var ackWait: Duration = .seconds(30)
        public var maxDeliver = 20
        public var duplicateWindow: Duration = .seconds(3600)
        public var sentLogTTL: Duration = .seconds(86400)

        public init() {}
    }

    /// `server:` — the HTTP listener.
    public struct ServerSection: Sendable, Equatable {
        /// Alertmanager's is 9093, so 9094 by default.
        public var listenAddress: String = "127.0.0.1:9094"
        public var apiTokenFile: String?
        public var maxRequestBodyBytes: Int = 1 << 20
        public var allowedOrigins: [String] = []
        public var allowedHosts: [String] = []
        public var limits = APILimits()
        public var tls: ListenerTLSFiles?

        public init() {}

        public var host: String { String(listenAddress[..<(listenAddress.lastIndex(of: ":") ?? listenAddress.endIndex)]) }
        public var port: Int { Int(listenAddress[listenAddress.index(after: listenAddress.lastIndex(of: ":") ?? listenAddress.startIndex)...]) ?? 9094 }
    }

    /// `server.limits:` — caps on silences, named after Alertmanager's
    /// `--silences.max-silences` and `--silences.max-silence-size-bytes`.
    public struct APILimits: Sendable, Equatable {
        public var maxSilences = 10_000
        public var maxSilenceSizeBytes = 64 << 10
        public var maxMatchersPerSilence = 100
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
