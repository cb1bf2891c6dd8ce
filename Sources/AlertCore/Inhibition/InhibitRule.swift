/// One `inhibit_rules` entry: while an alert matching `sourceMatchers` fires,
/// alerts matching `targetMatchers` that have the same values for the
/// `equal` labels are muted.
public struct InhibitRule: Sendable, Equatable {
    public var sourceMatchers: Matchers
    public var targetMatchers: Matchers
    /// Label names whose values must be equal on source and target (an
    /// absent label counts as the empty value, as in Alertmanager).
    public var equal: [String]

    public init(sourceMatchers: [Matcher], targetMatchers: [Matcher], equal: [String] = []) {
        self.sourceMatchers = Matchers(sourceMatchers)
        self.targetMatchers = Matchers(targetMatchers)
        self.equal = equal
    }
}

/// Decides inhibition (Alertmanager's `inhibit/inhibit.go`).
///
/// Keeps, per rule, the firing alerts that match its source side, updated
/// from the store's transitions, so deciding costs one pass over the sources
/// of the rules whose target side matches — not over every alert.
/// Not thread-safe: owned by the engine.
public struct Inhibitor: Sendable {
    public private(set) var rules: [InhibitRule]
    private var sources: [[Fingerprint: LabelSet]]

    public init(rules: [InhibitRule]) {
        self.rules = rules
        self.sources = Array(repeating: [:], count: rules.count)
    }

    /// Records that an alert fires (or fires again).
    public mutating func alertFired(_ fingerprint: Fingerprint, labels: LabelSet) {
        for (index, rule) in rules.enumerated() where rule.sourceMatchers.matches(labels) {
            sources[index][fingerprint] = labels
        }
    }

    /// Records that an alert stopped firing.
    public mutating func alertResolved(_ fingerprint: Fingerprint) {
        for index in sources.indices {
            sources[index][fingerprint] = nil
        }
    }

    /// The fingerprints of the firing alerts that inhibit an alert with these
    /// labels; empty when it is not inhibited. An alert never inhibits
    /// itself: when the target also matches a rule's source side, sources
    /// that also match the target side are ignored for that rule.
    public func inhibitors(of labels: LabelSet, fingerprint: Fingerprint) -> [Fingerprint] {
        var result: [Fingerprint] = []
        for (index, rule) in rules.enumerated() where rule.targetMatchers.matches(labels) {
            let excludeTwoSided = rule.sourceMatchers.matches(labels)
            for (sourceFingerprint, sourceLabels) in sources[index] where sourceFingerprint != fingerprint {
                // Byte equality, as Go compares strings.
                guard rule.equal.allSatisfy({ (sourceLabels[$0] ?? "").utf8.elementsEqual((labels[$0] ?? "").utf8) }) else { continue }
                if excludeTwoSided && rule.targetMatchers.matches(sourceLabels) { continue }
                result.append(sourceFingerprint)
                break
            }
        }
        return Array(Set(result)).sorted()
    }
}
