public import struct Foundation.Date

/// An alert as the store keeps it: one per identity, however many events
/// reported it.
public struct Alert: Sendable, Equatable, Codable {
    public var fingerprint: Fingerprint
    public var labels: LabelSet
    /// Packed (`Annotations`, docs/ARCHITECTURE.md, Memory per alert).
    public var annotations: Annotations
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
        self.annotations = Annotations(event.alertAnnotations)
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
        absorb(AlertRepeat(receivedAt: receivedAt, occurredAt: event.occurredAt(receivedAt: receivedAt),
                           currentValue: event.currentValue, thresholdValue: event.thresholdValue, iteration: event.iteration))
        let newAnnotations = event.alertAnnotations
        if !newAnnotations.isEmpty, !annotations.equals(newAnnotations) { annotations = Annotations(newAnnotations) }
        if !event.generatorURL.isEmpty { generatorURL = event.generatorURL }
    }

    /// What a repeat changes apart from annotations and the generator URL:
    /// the one place both `absorb` and the duplicate fast path
    /// (`AlertStore.absorbRepeat`) update an alert.
    @inline(__always)
    mutating func absorb(_ repeated: AlertRepeat) {
        repeatCount += 1
        lastSeen = repeated.receivedAt
        if repeated.occurredAt < startsAt { startsAt = repeated.occurredAt }
        if let value = repeated.currentValue { currentValue = value }
        if let value = repeated.thresholdValue { thresholdValue = value }
        if let value = repeated.iteration { iteration = value }
    }

    /// `absorb(_:)` if `unchanged(self)`; the check and the update are one
    /// in-place access to the stored alert (no copy of its labels or annotations).
    @inline(__always)
    mutating func absorbIfUnchanged(_ repeated: AlertRepeat, _ unchanged: (borrowing Alert) -> Bool) -> Bool {
        guard unchanged(self) else { return false }
        absorb(repeated)
        return true
    }

    mutating func refresh(currentValue: Double?, iteration: Int64?, at now: Date) {
        repeatCount += 1
        lastSeen = now
        if let currentValue { self.currentValue = currentValue }
        if let iteration { self.iteration = iteration }
    }
}

/// The scalar part of a repeated event, as `Alert.absorb` folds it in:
/// built by the duplicate fast path without an `AlertEvent`
/// (docs/ARCHITECTURE.md, Data flow, step 1).
public struct AlertRepeat: Sendable {
    public var receivedAt: Date
    /// `occurred_at_unix_ms` as a time, or `receivedAt` when it is 0 (`AlertEvent.occurredAt(receivedAt:)`).
    public var occurredAt: Date
    public var currentValue: Double?
    public var thresholdValue: Double?
    public var iteration: Int64?

    public init(receivedAt: Date, occurredAt: Date, currentValue: Double?, thresholdValue: Double?, iteration: Int64?) {
        self.receivedAt = receivedAt
        self.occurredAt = occurredAt
        self.currentValue = currentValue
        self.thresholdValue = thresholdValue
        self.iteration = iteration
    }
}
