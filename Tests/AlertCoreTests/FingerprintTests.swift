import AlertCore
import Testing

@Suite("Alertmanager-compatible fingerprints")
struct FingerprintTests {
    // Expected values were read from a real prometheus-alertmanager
    // (Debian 0.25) `GET /api/v2/alerts` after posting these label sets; the
    // integration suite re-checks the same property against a live one.
    @Test("equals Alertmanager's fingerprint for the same label set", arguments: [
        (["alertname": "process_crash", "cluster": "a", "severity": "critical", "source": "worker-7",
          "subject": "simulation_worker.process_crash"], "f413433408f7e56e"),
        (["alertname": "x"], "d240efc3896bf266"),
        (["alertname": "diverged_irrecoverably", "run": "ppo-42", "subject": "drl_training.diverged_irrecoverably",
          "zone": "é✓"], "4ce68036669bf385"),
    ])
    func matchesAlertmanager(labels: [String: String], expected: String) {
        #expect(LabelSet(labels).fingerprint.description == expected)
    }

    @Test("the empty label set hashes to the FNV-1a offset basis")
    func emptySet() {
        #expect(LabelSet().fingerprint.rawValue == 14_695_981_039_346_656_037)
        #expect(LabelSet().fingerprint.description == "cbf29ce484222325")
    }

    @Test("does not depend on the order labels arrive in")
    func orderIndependent() {
        let pairs = [("b", "2"), ("a", "1"), ("c", "3"), ("alertname", "x")]
        let reference = LabelSet(pairs).fingerprint
        for _ in 0..<20 {
            #expect(LabelSet(pairs.shuffled()).fingerprint == reference)
        }
    }

    @Test("the separator keeps name/value boundaries apart")
    func separatorMatters() {
        #expect(LabelSet(["ab": "c"]).fingerprint != LabelSet(["a": "bc"]).fingerprint)
        #expect(LabelSet(["a": "b", "c": "d"]).fingerprint != LabelSet(["a": "bcd"]).fingerprint)
    }

    @Test("prints 16 hex digits and parses back")
    func hexRoundTrip() {
        let small = Fingerprint(rawValue: 0xab)
        #expect(small.description == "00000000000000ab")
        #expect(Fingerprint(hex: small.description) == small)
        #expect(Fingerprint(hex: "xyz") == nil)
        #expect(Fingerprint(hex: "ab") == nil)
    }
}

@Suite("Label sets")
struct LabelSetTests {
    @Test("sorted by byte order, last duplicate wins")
    func sortingAndDuplicates() {
        let set = LabelSet([("b", "1"), ("B", "2"), ("a", "3"), ("b", "4")])
        #expect(set.labels.map(\.name) == ["B", "a", "b"])
        #expect(set["b"] == "4")
        #expect(set.count == 3)
    }

    @Test("subscript set and remove keep the order")
    func mutation() {
        var set = LabelSet(["b": "1"])
        set["a"] = "0"
        set["c"] = "2"
        #expect(set.labels.map(\.name) == ["a", "b", "c"])
        set["b"] = nil
        #expect(set.labels.map(\.name) == ["a", "c"])
        #expect(set == LabelSet(["c": "2", "a": "0"]))
    }
}
