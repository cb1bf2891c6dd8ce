import AlertCore
import struct Foundation.Date

/// The duplicate fast path (docs/ARCHITECTURE.md, Data flow, step 1): most
/// events in a storm repeat an alert that is already firing, with nothing
/// new to record. This decides that from the payload's wire bytes — the
/// fields read in place (`AlertEventWire`), the fingerprint hashed from the
/// label byte ranges, the store looked up and the repeat folded in under
/// its shard lock (`AlertStore.absorbRepeat`) — with no Swift `String`, no
/// dictionary, no array and no heap allocation.
///
/// It only ever takes an event the full path would accept with the same
/// fingerprint and the same effect: a FIRING protobuf event that passes
/// every validation, needs no sanitizing, and repeats a firing alert whose
/// annotations and generator URL it would not change. For anything else it
/// returns nil and changes nothing; the caller decodes the event as always.
/// `DuplicateFastPathEquivalenceTests` and the `fuzz-duplicate-path` target
/// hold both paths to that.
enum DuplicateFastPath {
    /// Label entries read per event (on the stack); more takes the full path.
    static let labelCapacity = 40
    /// Annotation entries read per event (on the stack); more takes the full path.
    static let annotationCapacity = 32

    /// Absorbs `payload` as a repeat of a firing alert and returns its
    /// fingerprint, or returns nil having changed nothing.
    /// - Parameters:
    ///   - subject: the NATS subject's bytes (the `subject` label, and
    ///     `alertname` when the event has no alert type).
    ///   - store: nil only checks the payload: the fingerprint of an event
    ///     the fast path would look up (for the equivalence tests).
    static func absorb(
        _ payload: UnsafeRawBufferPointer, subject: UnsafeRawBufferPointer, limits: EventLimits,
        store: AlertStore?, receivedAt: Date
    ) -> Fingerprint? {
        // `String(cString:)` would repair an invalid subject; the bytes
        // hashed here must be the label's.
        guard AlertEventWire.isUTF8(subject) else { return nil }
        return withUnsafeTemporaryAllocation(of: WireEntry.self, capacity: labelCapacity) { labels in
            withUnsafeTemporaryAllocation(of: WireEntry.self, capacity: annotationCapacity) { annotations in
                guard let event = AlertEventWire.read(payload, limits: limits, labels: labels, annotations: annotations),
                      let repeated = repeatOf(event, receivedAt: receivedAt, limits: limits) else { return nil }
                let base = payload.baseAddress!
                let labelEntries = UnsafeMutableBufferPointer(rebasing: labels[0..<event.labelCount])
                let annotationEntries = UnsafeBufferPointer(rebasing: annotations[0..<event.annotationCount])
                guard let fingerprint = fingerprint(event, labels: labelEntries, base: base, subject: subject),
                      let expected = ExpectedAnnotations(event, annotationEntries, base: base) else { return nil }
                guard let store else { return fingerprint }
                let generatorURL = bytes(base, event.generatorURL)
                let absorbed = store.absorbRepeat(of: fingerprint, repeated) { alert in
                    if generatorURL.count > 0 && !equal(alert.generatorURL, generatorURL) { return false }
                    return expected.match(alert.annotations)
                }
                return absorbed ? fingerprint : nil
            }
        }
    }

    /// The repeat's times and values, or nil when `AlertEvent.sanitize` would
    /// replace any of them (the full path counts and logs that).
    static func repeatOf(_ event: AlertEventWire, receivedAt: Date, limits: EventLimits) -> AlertRepeat? {
        let occurredAt: Date
        if event.occurredAtUnixMs == 0 {
            occurredAt = receivedAt
        } else {
            // The same arithmetic as `AlertEvent.sanitize` (negative values
            // never get here: `AlertEventWire` reads at most 63 bits).
            let received = receivedAt.timeIntervalSince1970 * 1000
            let latest = received + limits.maxClockSkew.seconds * 1000
            guard Double(event.occurredAtUnixMs) <= latest else { return nil }
            occurredAt = Date(timeIntervalSince1970: Double(event.occurredAtUnixMs) / 1000)
        }
        if let value = event.currentValue, !value.isFinite { return nil }
        if let value = event.thresholdValue, !value.isFinite { return nil }
        return AlertRepeat(receivedAt: receivedAt, occurredAt: occurredAt, currentValue: event.currentValue,
                           thresholdValue: event.thresholdValue, iteration: event.iteration)
    }

    /// `AlertEvent.fingerprint` from the wire: the `dedup_key`'s, or the
    /// label set's (`AlertEvent.alertLabels`: the event's labels, with
    /// `alertname`, `severity`, `source` and `subject` winning over
    /// same-named ones when set, empty values left out), hashed in name
    /// order. Sorts `labels` in place; nil when a label name repeats (the
    /// full path keeps the last; not worth replicating here).
    static func fingerprint(
        _ event: AlertEventWire, labels: UnsafeMutableBufferPointer<WireEntry>,
        base: UnsafeRawPointer, subject: UnsafeRawBufferPointer
    ) -> Fingerprint? {
        // Insertion sort by name: a handful of labels, no allocation.
        if labels.count > 1 {
            for index in 1..<labels.count {
                let moving = labels[index]
                let name = bytes(base, moving.name)
                var position = index
                while position > 0 {
                    let order = AlertEventWire.compare(bytes(base, labels[position - 1].name), name)
                    if order == 0 { return nil }
                    if order < 0 { break }
                    labels[position] = labels[position - 1]
                    position -= 1
                }
                labels[position] = moving
            }
        }
        var hasher = LabelHasher()
        if event.dedupKey.count > 0 {
            hasher.add(name: raw("__dedup_key__"), value: bytes(base, event.dedupKey))
            return hasher.fingerprint
        }
        // The derived labels, in name order: alertname < severity < source < subject.
        let alertType = bytes(base, event.alertType)
        let derivedNames = (raw("alertname"), raw("severity"), raw("source"), raw("subject"))
        let derivedValues = (alertType.count > 0 ? alertType : subject, severityValue(event.severity), bytes(base, event.source), subject)
        func derived(_ index: Int) -> (name: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) {
            switch index {
            case 0: (derivedNames.0, derivedValues.0)
            case 1: (derivedNames.1, derivedValues.1)
            case 2: (derivedNames.2, derivedValues.2)
            default: (derivedNames.3, derivedValues.3)
            }
        }
        var next = 0
        for entry in labels {
            let name = bytes(base, entry.name)
            var overridden = false
            while next < 4 {
                let label = derived(next)
                let order = AlertEventWire.compare(label.name, name)
                if order > 0 { break }
                next += 1
                if label.value.count > 0 {
                    hasher.add(name: label.name, value: label.value)
                    if order == 0 { overridden = true }
                }
                if order == 0 { break }
            }
            let value = bytes(base, entry.value)
            if !overridden && value.count > 0 { hasher.add(name: name, value: value) }
        }
        while next < 4 {
            let label = derived(next)
            if label.value.count > 0 { hasher.add(name: label.name, value: label.value) }
            next += 1
        }
        return hasher.fingerprint
    }

    /// `Severity.labelValue` as bytes; empty for unspecified.
    static func severityValue(_ severity: UInt8) -> UnsafeRawBufferPointer {
        switch severity {
        case 1: raw("info")
        case 2: raw("warning")
        case 3: raw("error")
        case 4: raw("critical")
        default: UnsafeRawBufferPointer(start: nil, count: 0)
        }
    }

    /// The annotations the event would give the alert (`AlertEvent.alertAnnotations`:
    /// its own, with `summary` and `description` winning when set), as ranges.
    struct ExpectedAnnotations {
        let entries: UnsafeBufferPointer<WireEntry>
        let base: UnsafeRawPointer
        let summary: UnsafeRawBufferPointer
        let description: UnsafeRawBufferPointer
        /// How many distinct names: the size of the dictionary the full path builds.
        let count: Int

        /// Nil when a name repeats.
        init?(_ event: AlertEventWire, _ entries: UnsafeBufferPointer<WireEntry>, base: UnsafeRawPointer) {
            self.entries = entries
            self.base = base
            summary = DuplicateFastPath.bytes(base, event.summary)
            description = DuplicateFastPath.bytes(base, event.description)
            var count = entries.count
            var hasSummary = false
            var hasDescription = false
            for index in entries.indices {
                let name = DuplicateFastPath.bytes(base, entries[index].name)
                for other in entries.indices where other > index {
                    if AlertEventWire.compare(name, DuplicateFastPath.bytes(base, entries[other].name)) == 0 { return nil }
                }
                if AlertEventWire.compare(name, DuplicateFastPath.raw("summary")) == 0 { hasSummary = true }
                if AlertEventWire.compare(name, DuplicateFastPath.raw("description")) == 0 { hasDescription = true }
            }
            if summary.count > 0 && !hasSummary { count += 1 }
            if description.count > 0 && !hasDescription { count += 1 }
            self.count = count
        }

        /// Whether `Alert.absorb` would leave `stored` as it is: the event
        /// brings no annotations, or exactly these (byte-equal names and
        /// values, read from the packed `Annotations` in place: a bijection
        /// of byte-equal names and values is dictionary equality, never less).
        func match(_ stored: Annotations) -> Bool {
            if count == 0 { return true }
            guard stored.count == count else { return false }
            return stored.allEntries { name, value in
                guard let expected = expectedValue(of: name) else { return false }
                return value.count == expected.count && AlertEventWire.compare(value, expected) == 0
            }
        }

        private func expectedValue(of name: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer? {
            if summary.count > 0 && AlertEventWire.compare(name, DuplicateFastPath.raw("summary")) == 0 { return summary }
            if description.count > 0 && AlertEventWire.compare(name, DuplicateFastPath.raw("description")) == 0 { return description }
            for entry in entries where AlertEventWire.compare(name, DuplicateFastPath.bytes(base, entry.name)) == 0 {
                return DuplicateFastPath.bytes(base, entry.value)
            }
            return nil
        }
    }

    @inline(__always)
    static func bytes(_ base: UnsafeRawPointer, _ span: WireSpan) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: base + Int(span.start), count: Int(span.count))
    }

    @inline(__always)
    static func raw(_ text: StaticString) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount)
    }

    /// Byte equality of a stored string and a range (what the full path's
    /// `String` comparison implies, never less).
    static func equal(_ string: String, _ bytes: UnsafeRawBufferPointer) -> Bool {
        string.utf8.withContiguousStorageIfAvailable { stored in
            stored.count == bytes.count && AlertEventWire.compare(UnsafeRawBufferPointer(stored), bytes) == 0
        } ?? false
    }
}
