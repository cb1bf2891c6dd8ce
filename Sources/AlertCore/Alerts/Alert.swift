public import struct Foundation.Date

/// An alert as the store keeps it: one per identity, however many events
/// reported it.
public struct Alert: Sendable, Equatable, Codable {
    public var fingerprint: Fingerprint
    public var labels: LabelSet
    public var annotations: [String: String]
    /// When the condition was first observed (the earliest event's time).
    public var startsAt: Date
    /// When it resolved; nil while firing.
    public var endsAt: Date?
    /// When an event for it last arrived.
    public var lastSeen: Date
    /// How many events reported it after the first.
    public var repeatCount: Int
    public var generatorURL: String
    public var currentValue: Double?
    public var thresholdValue: Double?
    public var iteration: Int64?

    public var isFiring: Bool { endsAt == nil }

    public init(event: AlertEvent, fingerprint: Fingerprint, receivedAt: Date) {
        self.fingerprint = fingerprint
        self.labels = event.alertLabels
        self.annotations = event.alertAnnotations
        self.startsAt = event.occurredAt(receivedAt: receivedAt)
        self.endsAt = nil
        self.lastSeen = receivedAt
        self.repeatCount = 0
        self.generatorURL = event.generatorURL
        self.currentValue = event.currentValue
        self.thresholdValue = event.thresholdValue
        self.iteration = event.iteration
    }

    /// Folds a repeat of this alert in: counts it, keeps the earliest start,
    /// and takes the newest annotations and values.
    mutating func absorb(_ event: AlertEvent, receivedAt: Date) {
        repeatCount += 1
        lastSeen = receivedAt
        let occurred = event.occurredAt(receivedAt: receivedAt)
        if occurred < startsAt { startsAt = occurred }
        let newAnnotations = event.alertAnnotations
        if !newAnnotations.isEmpty, newAnnotations != annotations { annotations = newAnnotations }
        if !event.generatorURL.isEmpty { generatorURL = event.generatorURL }
        if let value = event.currentValue { currentValue = value }
        if let value = event.thresholdValue { thresholdValue = value }
        if let value = event.iteration { iteration = value }
    }

    mutating func refresh(currentValue: Double?, iteration: Int64?, at now: Date) {
        repeatCount += 1
        lastSeen = now
        if let currentValue { self.currentValue = currentValue }
        if let iteration { self.iteration = iteration }
    }
}
