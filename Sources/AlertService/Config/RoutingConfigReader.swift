import AlertCore
import AlertNotify
import Foundation
import Yams

/// Reads the Alertmanager-format sections — `global`, `route`, `receivers`,
/// `inhibit_rules`, `time_intervals` — into the engine's configuration, so
/// an operator's existing Alertmanager routing loads unchanged.
struct RoutingConfigReader {
    static func readGlobal(_ node: Node, _ r: inout YAMLReader, into engine: inout EngineConfiguration, defaults: inout GlobalNotifyDefaults,
                           base: String, notes: inout [String]) {
        notes += ConfigSection.global.read(node, "global", into: &defaults, &r, ConfigContext(baseDirectory: base))
        if let timeout = defaults.resolveTimeout { engine.resolveTimeout = timeout }
    }

    static func readRoute(_ node: Node, _ path: String, _ r: inout YAMLReader, isRoot: Bool) -> RouteConfiguration {
        var route = RouteConfiguration()
        ConfigSection.route.read(node, path, into: &route, &r, .withoutFiles)
        if isRoot {
            if route.receiver == nil || route.receiver?.isEmpty == true { r.fail(path, "the root route must name a receiver", node) }
            if !route.matchers.isEmpty { r.fail(path, "the root route must not have matchers (match, match_re, matchers)", node) }
            if route.continueMatching { r.fail(path, "the root route cannot have continue: true", node) }
            if !route.muteTimeIntervals.isEmpty || !route.activeTimeIntervals.isEmpty {
                r.fail(path, "the root route cannot have mute_time_intervals or active_time_intervals", node)
            }
        }
        return route
    }

    static func readMatchers(_ node: Node, _ path: String, _ r: inout YAMLReader) -> [Matcher] {
        var result: [Matcher] = []
        for (index, item) in r.sequence(node, path).enumerated() {
            guard let text = r.string(item, "\(path)[\(index)]") else { continue }
            do {
                result.append(contentsOf: try MatcherParser.parseMatchers(text))
            } catch {
                r.fail("\(path)[\(index)]", "\(error)", item)
            }
        }
        return result
    }

    /// Alertmanager's older `match`/`match_re` form: label name to value, sorted by name.
    static func labelMatchers(_ node: Node, _ path: String, _ type: Matcher.MatchType, _ r: inout YAMLReader) -> [Matcher] {
        r.mapping(node, path).sorted(by: { $0.0 < $1.0 }).compactMap { name, item in
            r.string(item, "\(path).\(name)").flatMap { makeMatcher(name, type, $0, "\(path).\(name)", &r) }
        }
    }

    static func makeMatcher(_ name: String, _ type: Matcher.MatchType, _ value: String, _ path: String, _ r: inout YAMLReader) -> Matcher? {
        guard isLabelName(name) else {
            r.fail(path, "\"\(name)\" is not a valid label name")
            return nil
        }
        do {
            return try Matcher(name: name, type: type, value: value)
        } catch {
            r.fail(path, "\(error)")
            return nil
        }
    }

    static func isLabelName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, first.isASCII, first.properties.isAlphabetic || first == "_" else { return false }
        return name.unicodeScalars.allSatisfy { $0.isASCII && ($0.properties.isAlphabetic || $0.properties.numericType != nil || $0 == "_") }
    }

    // MARK: receivers

    static func readReceivers(_ node: Node, _ r: inout YAMLReader, defaults: GlobalNotifyDefaults, base: String, notes: inout [String]) -> [ReceiverConfiguration] {
        var receivers: [ReceiverConfiguration] = []
        var names = Set<String>()
        let reader = ReceiverConfigReader(base: base, defaults: defaults)
        for (index, item) in r.sequence(node, "receivers").enumerated() {
            guard let receiver = reader.read(item, "receivers[\(index)]", &r, notes: &notes) else { continue }
            if !names.insert(receiver.name).inserted {
                r.fail("receivers[\(index)].name", "receiver \"\(receiver.name)\" is defined twice", item)
            }
            receivers.append(receiver)
        }
        return receivers
    }

    // MARK: inhibit_rules

    static func readInhibitRules(_ node: Node, _ r: inout YAMLReader) -> [InhibitRule] {
        r.sequence(node, "inhibit_rules").enumerated().map { index, item in
            var rule = InhibitRule(sourceMatchers: [], targetMatchers: [])
            ConfigSection.inhibitRule.read(item, "inhibit_rules[\(index)]", into: &rule, &r, .withoutFiles)
            if rule.sourceMatchers.isEmpty { r.fail("inhibit_rules[\(index)]", "needs source_matchers (or source_match/source_match_re)", item) }
            if rule.targetMatchers.isEmpty { r.fail("inhibit_rules[\(index)]", "needs target_matchers (or target_match/target_match_re)", item) }
            return rule
        }
    }

    // MARK: time_intervals

    static func readTimeIntervals(_ node: Node, _ section: String, _ r: inout YAMLReader) -> [NamedTimeInterval] {
        r.sequence(node, section).enumerated().compactMap { index, item in
            var interval = NamedTimeInterval(name: "", intervals: [])
            ConfigSection.namedTimeInterval.read(item, "\(section)[\(index)]", into: &interval, &r, .withoutFiles)
            guard !interval.name.isEmpty else {
                r.fail("\(section)[\(index)]", "a time interval needs a name", item)
                return nil
            }
            return interval
        }
    }

    static func clock(_ minutes: Int) -> String {
        String(format: "%02d:%02d", minutes / 60, minutes % 60)
    }

    // MARK: cross-references

    static func validateReferences(_ engine: EngineConfiguration, routeNode: Node?, _ r: inout YAMLReader) {
        func walk(_ route: RouteConfiguration, _ path: String) {
            if let receiver = route.receiver, !receiver.isEmpty, engine.receivers[receiver] == nil {
                r.fail("\(path).receiver", "receiver \"\(receiver)\" is not defined in receivers")
            }
            for name in route.muteTimeIntervals where engine.timeIntervals[name] == nil {
                r.fail("\(path).mute_time_intervals", "time interval \"\(name)\" is not defined in time_intervals")
            }
            for name in route.activeTimeIntervals where engine.timeIntervals[name] == nil {
                r.fail("\(path).active_time_intervals", "time interval \"\(name)\" is not defined in time_intervals")
            }
            for (index, child) in route.routes.enumerated() { walk(child, "\(path).routes[\(index)]") }
        }
        if routeNode != nil { walk(engine.route, "route") }
    }
}
