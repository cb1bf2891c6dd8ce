import AlertCore
import AlertNotify
import Foundation
import Yams

/// Reads the Alertmanager-format sections — `global`, `route`, `receivers`,
/// `inhibit_rules`, `time_intervals` — into the engine's configuration, so
/// an operator's existing Alertmanager routing loads unchanged.
struct RoutingConfigReader {
    static let routeKeys: Set<String> = [
        "receiver", "group_by", "continue", "match", "match_re", "matchers", "group_wait", "group_interval",
        "repeat_interval", "mute_time_intervals", "active_time_intervals", "routes",
        // nats-alerter's additions:
        "subjects", "send_resolved_when_muted",
    ]
    static let inhibitKeys: Set<String> = [
        "source_matchers", "target_matchers", "source_match", "source_match_re", "target_match", "target_match_re", "equal",
    ]
    static let globalKeys: Set<String> = [
        "resolve_timeout", "http_config", "smtp_from", "smtp_hello", "smtp_smarthost", "smtp_auth_username",
        "smtp_auth_password", "smtp_auth_password_file", "smtp_auth_secret", "smtp_auth_identity", "smtp_require_tls",
        "smtp_tls_config", "slack_api_url", "slack_api_url_file", "victorops_api_key", "victorops_api_key_file",
        "victorops_api_url", "pagerduty_url", "opsgenie_api_key", "opsgenie_api_key_file", "opsgenie_api_url",
        "wechat_api_url", "wechat_api_secret", "wechat_api_corp_id", "telegram_api_url", "webex_api_url",
        // nats-alerter's additions:
        "notification_deadline", "external_url",
    ]

    // MARK: global

    /// Alertmanager's global options nats-alerter reads; the other
    /// `globalKeys` load with a note naming them.
    static let globalKeysWithEffect: Set<String> = [
        "resolve_timeout", "smtp_from", "smtp_hello", "smtp_smarthost", "smtp_auth_username", "smtp_auth_password",
        "smtp_auth_password_file", "smtp_auth_identity", "smtp_require_tls", "slack_api_url", "slack_api_url_file",
        "notification_deadline", "external_url",
    ]

    static func readGlobal(_ node: Node, _ r: inout YAMLReader, into engine: inout EngineConfiguration, defaults: inout GlobalNotifyDefaults,
                           base: String, notes: inout [String]) {
        var password: String?, passwordFile: String?, slack: String?, slackFile: String?
        for (key, value) in r.mapping(node, "global", allowed: globalKeys) {
            let path = "global.\(key)"
            switch key {
            case "resolve_timeout":
                if let timeout = r.duration(value, path, allowZero: false) { engine.resolveTimeout = timeout }
            case "smtp_from": defaults.smtpFrom = r.string(value, path)
            case "smtp_smarthost": defaults.smtpSmarthost = r.string(value, path)
            case "smtp_hello": defaults.smtpHello = r.string(value, path)
            case "smtp_auth_username": defaults.smtpAuthUsername = r.string(value, path)
            case "smtp_auth_password": password = r.string(value, path)
            case "smtp_auth_password_file": passwordFile = r.string(value, path)
            case "smtp_auth_identity": defaults.smtpAuthIdentity = r.string(value, path)
            case "smtp_require_tls": defaults.smtpRequireTLS = r.bool(value, path)
            case "slack_api_url": slack = r.string(value, path)
            case "slack_api_url_file": slackFile = r.string(value, path)
            case "notification_deadline": defaults.notificationDeadline = r.duration(value, path, allowZero: false)
            case "external_url": defaults.externalURL = r.string(value, path)
            default:
                if !globalKeysWithEffect.contains(key) {
                    notes.append("\(path): Alertmanager option without effect in nats-alerter; ignored")
                }
            }
        }
        defaults.smtpAuthPassword = ReceiverConfigReader.secret(password, passwordFile, "global.smtp_auth_password", base: base, &r)
        defaults.slackAPIURL = ReceiverConfigReader.secret(slack, slackFile, "global.slack_api_url", base: base, &r)
    }

    // MARK: route

    static func readRoute(_ node: Node, _ path: String, _ r: inout YAMLReader, isRoot: Bool) -> RouteConfiguration {
        var route = RouteConfiguration()
        for (key, value) in r.mapping(node, path, allowed: routeKeys) {
            let itemPath = "\(path).\(key)"
            switch key {
            case "receiver":
                route.receiver = r.string(value, itemPath)
            case "group_by":
                let names = r.strings(value, itemPath)
                if names.contains("...") {
                    if names.count > 1 { r.fail(itemPath, "'...' (group by all labels) cannot be combined with other labels", value) }
                    route.groupBy = .all
                } else {
                    for (index, name) in names.enumerated() where !isLabelName(name) {
                        r.fail("\(itemPath)[\(index)]", "\"\(name)\" is not a valid label name", value)
                    }
                    if Set(names).count != names.count { r.fail(itemPath, "duplicated label in group_by", value) }
                    route.groupBy = .labels(names)
                }
            case "continue":
                route.continueMatching = r.bool(value, itemPath) ?? false
            case "match":
                for (name, item) in r.mapping(value, itemPath).sorted(by: { $0.0 < $1.0 }) {
                    guard let text = r.string(item, "\(itemPath).\(name)") else { continue }
                    if let matcher = makeMatcher(name, .equal, text, "\(itemPath).\(name)", &r) { route.matchers.append(matcher) }
                }
            case "match_re":
                for (name, item) in r.mapping(value, itemPath).sorted(by: { $0.0 < $1.0 }) {
                    guard let text = r.string(item, "\(itemPath).\(name)") else { continue }
                    if let matcher = makeMatcher(name, .regexMatch, text, "\(itemPath).\(name)", &r) { route.matchers.append(matcher) }
                }
            case "matchers":
                route.matchers.append(contentsOf: readMatchers(value, itemPath, &r))
            case "group_wait":
                route.groupWait = r.duration(value, itemPath)
            case "group_interval":
                route.groupInterval = r.duration(value, itemPath, allowZero: false)
            case "repeat_interval":
                if case .scalar(let scalar) = value, scalar.string == "never" {
                    route.repeatInterval = .never
                } else if let interval = r.duration(value, itemPath, allowZero: false) {
                    route.repeatInterval = .every(interval)
                }
            case "mute_time_intervals":
                route.muteTimeIntervals = r.strings(value, itemPath)
            case "active_time_intervals":
                route.activeTimeIntervals = r.strings(value, itemPath)
            case "subjects":
                let subjects = r.strings(value, itemPath)
                for (index, subject) in subjects.enumerated() {
                    if let problem = ConfigLoader.validateSubject(subject, wildcards: true) { r.fail("\(itemPath)[\(index)]", problem, value) }
                }
                route.subjects = subjects
            case "send_resolved_when_muted":
                route.sendResolvedWhenMuted = r.bool(value, itemPath)
            case "routes":
                route.routes = r.sequence(value, itemPath).enumerated().map { index, child in
                    readRoute(child, "\(itemPath)[\(index)]", &r, isRoot: false)
                }
            default:
                break
            }
        }
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
            let path = "inhibit_rules[\(index)]"
            var source: [Matcher] = [], target: [Matcher] = [], equal: [String] = []
            for (key, value) in r.mapping(item, path, allowed: inhibitKeys) {
                let itemPath = "\(path).\(key)"
                switch key {
                case "source_matchers": source += readMatchers(value, itemPath, &r)
                case "target_matchers": target += readMatchers(value, itemPath, &r)
                case "source_match", "target_match", "source_match_re", "target_match_re":
                    let type: Matcher.MatchType = key.hasSuffix("_re") ? .regexMatch : .equal
                    for (name, entry) in r.mapping(value, itemPath).sorted(by: { $0.0 < $1.0 }) {
                        guard let text = r.string(entry, "\(itemPath).\(name)"),
                              let matcher = makeMatcher(name, type, text, "\(itemPath).\(name)", &r) else { continue }
                        if key.hasPrefix("source") { source.append(matcher) } else { target.append(matcher) }
                    }
                case "equal":
                    equal = r.strings(value, itemPath)
                    for (position, name) in equal.enumerated() where !isLabelName(name) {
                        r.fail("\(itemPath)[\(position)]", "\"\(name)\" is not a valid label name", value)
                    }
                default:
                    break
                }
            }
            if source.isEmpty { r.fail(path, "needs source_matchers (or source_match/source_match_re)", item) }
            if target.isEmpty { r.fail(path, "needs target_matchers (or target_match/target_match_re)", item) }
            return InhibitRule(sourceMatchers: source, targetMatchers: target, equal: equal)
        }
    }

    // MARK: time_intervals

    static func readTimeIntervals(_ node: Node, _ section: String, _ r: inout YAMLReader) -> [NamedTimeInterval] {
        r.sequence(node, section).enumerated().compactMap { index, item in
            let path = "\(section)[\(index)]"
            var name: String?
            var intervals: [CalendarInterval] = []
            for (key, value) in r.mapping(item, path, allowed: ["name", "time_intervals"]) {
                if key == "name" {
                    name = r.string(value, "\(path).name")
                } else {
                    intervals = r.sequence(value, "\(path).time_intervals").enumerated().map { position, entry in
                        readCalendarInterval(entry, "\(path).time_intervals[\(position)]", &r)
                    }
                }
            }
            guard let name, !name.isEmpty else {
                r.fail(path, "a time interval needs a name", item)
                return nil
            }
            return NamedTimeInterval(name: name, intervals: intervals)
        }
    }

    static func readCalendarInterval(_ node: Node, _ path: String, _ r: inout YAMLReader) -> CalendarInterval {
        var interval = CalendarInterval()
        let keys: Set<String> = ["times", "weekdays", "days_of_month", "months", "years", "location"]
        for (key, value) in r.mapping(node, path, allowed: keys) {
            let itemPath = "\(path).\(key)"
            func ranges(_ parse: (String) throws(CalendarIntervalError) -> CalendarInterval.IntRange) -> [CalendarInterval.IntRange] {
                let texts = r.strings(value, itemPath)
                if texts.isEmpty {
                    // Alertmanager: an explicit empty list matches nothing; here it would mean "any".
                    r.fail(itemPath, "an empty list matches nothing; leave the field out to match any", value)
                }
                return texts.enumerated().compactMap { index, text in
                    do { return try parse(text) } catch {
                        r.fail("\(itemPath)[\(index)]", "\(error)", value)
                        return nil
                    }
                }
            }
            switch key {
            case "times":
                for (index, entry) in r.sequence(value, itemPath).enumerated() {
                    let entryPath = "\(itemPath)[\(index)]"
                    var start: Int?, end: Int?
                    for (field, text) in r.mapping(entry, entryPath, allowed: ["start_time", "end_time"]) {
                        guard let string = r.string(text, "\(entryPath).\(field)") else { continue }
                        do {
                            let minutes = try CalendarInterval.parseTime(string)
                            if field == "start_time" { start = minutes } else { end = minutes }
                        } catch {
                            r.fail("\(entryPath).\(field)", "\(error)", text)
                        }
                    }
                    guard let start, let end else {
                        r.fail(entryPath, "needs both start_time and end_time", entry)
                        continue
                    }
                    if start >= end {
                        r.fail(entryPath, "start_time \"\(Self.clock(start))\" is not before end_time \"\(Self.clock(end))\"", entry)
                        continue
                    }
                    interval.times.append(.init(startMinute: start, endMinute: end))
                }
            case "weekdays": interval.weekdays = ranges(CalendarInterval.parseWeekdayRange)
            case "days_of_month": interval.daysOfMonth = ranges(CalendarInterval.parseDayOfMonthRange)
            case "months": interval.months = ranges(CalendarInterval.parseMonthRange)
            case "years": interval.years = ranges(CalendarInterval.parseYearRange)
            case "location":
                guard let text = r.string(value, itemPath) else { continue }
                do { interval.location = try CalendarInterval.parseLocation(text) } catch { r.fail(itemPath, "\(error)", value) }
            default:
                break
            }
        }
        return interval
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
