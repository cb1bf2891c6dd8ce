public import struct Foundation.Date

/// How bad an event is (the `severity` label). Mirrors `alerting.v1.Severity`.
public enum Severity: Int32, Sendable, CaseIterable, Codable {
    case unspecified = 0
    case info = 1
    case warning = 2
    case error = 3
    case critical = 4

    /// The label value; nil for `.unspecified`, which sets no label.
    public var labelValue: String? {
        switch self {
        case .unspecified: nil
        case .info: "info"
        case .warning: "warning"
        case .error: "error"
        case .critical: "critical"
        }
    }

    /// The proto enum value name, as proto3 JSON prints it.
    public var protoName: String {
        switch self {
        case .unspecified: "SEVERITY_UNSPECIFIED"
        case .info: "SEVERITY_INFO"
        case .warning: "SEVERITY_WARNING"
        case .error: "SEVERITY_ERROR"
        case .critical: "SEVERITY_CRITICAL"
        }
    }

    /// Accepts the proto name (`SEVERITY_CRITICAL`) or the label value (`critical`), any case.
    public init?(name: String) {
        let lowered = name.lowercased()
        guard let match = Self.allCases.first(where: {
            $0.protoName.lowercased() == lowered || ($0.labelValue ?? "unspecified") == lowered
        }) else { return nil }
        self = match
    }
}

/// Whether an event's condition holds. Mirrors `alerting.v1.Status`.
public enum EventStatus: Int32, Sendable, CaseIterable, Codable {
    case firing = 0
    case resolved = 1

    public var protoName: String {
        switch self {
        case .firing: "STATUS_FIRING"
        case .resolved: "STATUS_RESOLVED"
        }
    }

    /// Accepts the proto name (`STATUS_RESOLVED`) or the short form (`resolved`), any case.
    public init?(name: String) {
        let lowered = name.lowercased()
        switch lowered {
        case "status_firing", "firing": self = .firing
        case "status_resolved", "resolved": self = .resolved
        default: return nil
        }
    }
}

/// One decoded `alerting.v1.AlertEvent`, plus where and when it arrived.
///
/// A plain value: built on the ingest thread, handed to the alert store.
public struct AlertEvent: Sendable, Equatable {
    public var alertType: String
    public var severity: Severity
    public var status: EventStatus
    public var source: String
    public var summary: String
    public var description: String
    public var labels: [String: String]
    public var annotations: [String: String]
    /// Milliseconds since the Unix epoch; 0 = when received.
    public var occurredAtUnixMs: Int64
    public var currentValue: Double?
    public var thresholdValue: Double?
    public var iteration: Int64?
    /// Empty = identity by labels.
    public var dedupKey: String
    public var eventID: String
    public var generatorURL: String
    /// The NATS subject the event arrived on (the `subject` label).
    public var subject: String

    public init(
        alertType: String = "",
        severity: Severity = .unspecified,
        status: EventStatus = .firing,
        source: String = "",
        summary: String = "",
        description: String = "",
        labels: [String: String] = [:],
        annotations: [String: String] = [:],
        occurredAtUnixMs: Int64 = 0,
        currentValue: Double? = nil,
        thresholdValue: Double? = nil,
        iteration: Int64? = nil,
        dedupKey: String = "",
        eventID: String = "",
        generatorURL: String = "",
        subject: String = ""
    ) {
        self.alertType = alertType
        self.severity = severity
        self.status = status
        self.source = source
        self.summary = summary
        self.description = description
        self.labels = labels
        self.annotations = annotations
        self.occurredAtUnixMs = occurredAtUnixMs
        self.currentValue = currentValue
        self.thresholdValue = thresholdValue
        self.iteration = iteration
        self.dedupKey = dedupKey
        self.eventID = eventID
        self.generatorURL = generatorURL
        self.subject = subject
    }

    /// The alert's labels (README, "Publishing events"): `alertname` (the alert type, else
    /// the subject), `severity`, `source`, `subject`, then the event's own
    /// labels. A field the event sets wins over a same-named entry of
    /// `labels`; an entry of `labels` fills a field the event left empty.
    public var alertLabels: LabelSet {
        var pairs: [(String, String)] = []
        pairs.reserveCapacity(labels.count + 4)
        for (name, value) in labels {
            pairs.append((name, value))
        }
        // Appended last so they win in LabelSet's "last value wins".
        let alertname = alertType.isEmpty ? subject : alertType
        if !alertname.isEmpty { pairs.append(("alertname", alertname)) }
        if let severity = severity.labelValue { pairs.append(("severity", severity)) }
        if !source.isEmpty { pairs.append(("source", source)) }
        if !subject.isEmpty { pairs.append(("subject", subject)) }
        return LabelSet(pairs)
    }

    /// The alert's annotations: `summary`, `description`, then the event's
    /// own annotations (the named fields win).
    public var alertAnnotations: [String: String] {
        var result = annotations
        if !summary.isEmpty { result["summary"] = summary }
        if !description.isEmpty { result["description"] = description }
        return result
    }

    /// The alert's identity: the label-set fingerprint, or, when `dedup_key`
    /// is set, the fingerprint of the label set `{__dedup_key__="<key>"}` (a
    /// reserved name, so it cannot collide with a real label set).
    public var fingerprint: Fingerprint {
        if dedupKey.isEmpty {
            return alertLabels.fingerprint
        }
        return LabelSet([("__dedup_key__", dedupKey)]).fingerprint
    }

    /// When the condition was observed: `occurred_at_unix_ms`, or `receivedAt` when 0.
    public func occurredAt(receivedAt: Date) -> Date {
        occurredAtUnixMs == 0 ? receivedAt : Date(timeIntervalSince1970: Double(occurredAtUnixMs) / 1000)
    }
}
