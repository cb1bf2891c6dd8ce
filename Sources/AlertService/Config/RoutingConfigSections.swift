import AlertCore
import Foundation
import Yams

extension ConfigSection<GlobalNotifyDefaults> {
    /// `global:` — Alertmanager's; the keys without effect here load with a note.
    static var global: Self {
        Self(fields: [
            .key("resolve_timeout", \.resolveTimeout, .duration(allowZero: false), doc: "an alert not reported for this long resolves by itself"),
            .key("smtp_from", \.smtpFrom, .string, doc: "email_configs' default from"),
            .key("smtp_smarthost", \.smtpSmarthost, .string, doc: "email_configs' default smarthost"),
            .key("smtp_hello", \.smtpHello, .string, doc: "email_configs' default hello"),
            .key("smtp_auth_username", \.smtpAuthUsername, .string, doc: "email_configs' default auth_username"),
            .combined("smtp_auth_password", into: \.smtpAuthPassword, doc: "email_configs' default auth_password"),
            .combined("smtp_auth_password_file", into: \.smtpAuthPassword, doc: "a file holding it"),
            .key("smtp_auth_identity", \.smtpAuthIdentity, .string, doc: "email_configs' default auth_identity"),
            .key("smtp_require_tls", \.smtpRequireTLS, .bool, doc: "email_configs' default require_tls"),
            .combined("slack_api_url", into: \.slackAPIURL, doc: "slack_configs' default api_url"),
            .combined("slack_api_url_file", into: \.slackAPIURL, doc: "a file holding it"),
            .key("notification_deadline", \.notificationDeadline, .duration(allowZero: false), doc: "how long a notification is retried before it is given up"),
            .key("external_url", \.externalURL, .string, doc: "the link back to this service in notifications"),
        ], ignoredKeys: [
            "http_config", "smtp_auth_secret", "smtp_tls_config", "victorops_api_key", "victorops_api_key_file", "victorops_api_url",
            "pagerduty_url", "opsgenie_api_key", "opsgenie_api_key_file", "opsgenie_api_url", "wechat_api_url", "wechat_api_secret",
            "wechat_api_corp_id", "telegram_api_url", "webex_api_url",
        ], combine: { defaults, entries, r, context in
            defaults.smtpAuthPassword = entries.secret("smtp_auth_password", &r, context)
            defaults.slackAPIURL = entries.secret("slack_api_url", &r, context)
        })
    }
}

extension ConfigSection<RouteConfiguration> {
    /// `route:` and every `routes[]` below it.
    static var route: Self {
        Self(fields: [
            .key("receiver", \.receiver, .string, doc: "where the route's alerts go; default: the parent's"),
            .key("group_by", \.groupBy, .groupBy, doc: "labels that group alerts into one notification; ['...']: all labels"),
            .key("continue", \.continueMatching, .bool, doc: "keep matching sibling routes after this one matched"),
            .custom("match", doc: "label: value equality matchers (Alertmanager's older form)") { route, node, path, r, _ in
                route.matchers += RoutingConfigReader.labelMatchers(node, path, .equal, &r)
            },
            .custom("match_re", doc: "label: regex matchers (Alertmanager's older form)") { route, node, path, r, _ in
                route.matchers += RoutingConfigReader.labelMatchers(node, path, .regexMatch, &r)
            },
            .custom("matchers", doc: "matchers in Alertmanager's syntax, e.g. 'severity=\"critical\"'") { route, node, path, r, _ in
                route.matchers += RoutingConfigReader.readMatchers(node, path, &r)
            },
            .key("group_wait", \.groupWait, .duration(), doc: "how long a new group waits before its first notification"),
            .key("group_interval", \.groupInterval, .duration(allowZero: false), doc: "how long a group waits before notifying of changes"),
            .key("repeat_interval", \.repeatInterval, ConfigParser { node, path, r, _ in
                if case .scalar(let scalar) = node, scalar.string == "never" { return .never }
                return r.duration(node, path, allowZero: false).map(RepeatInterval.every)
            }, doc: "how often an unchanged group is notified again; never: once"),
            .key("mute_time_intervals", \.muteTimeIntervals, .strings, doc: "time intervals when the route is muted"),
            .key("active_time_intervals", \.activeTimeIntervals, .strings, doc: "time intervals when the route is active"),
            .key("subjects", \.subjects, .strings.eachChecked { ConfigLoader.validateSubject($0, wildcards: true) },
                 doc: "only events from these NATS subjects (nats-alerter's addition)"),
            .key("send_resolved_when_muted", \.sendResolvedWhenMuted, .bool, doc: "send resolved notifications while muted (nats-alerter's addition)"),
            .custom("routes", doc: "child routes, matched in order") { route, node, path, r, _ in
                route.routes = r.sequence(node, path).enumerated().map { index, child in
                    RoutingConfigReader.readRoute(child, "\(path)[\(index)]", &r, isRoot: false)
                }
            },
        ])
    }
}

extension ConfigParser<GroupBy> {
    static var groupBy: Self {
        Self { node, path, r, _ in
            let names = r.strings(node, path)
            if names.contains("...") {
                if names.count > 1 { r.fail(path, "'...' (group by all labels) cannot be combined with other labels", node) }
                return .all
            }
            for (index, name) in names.enumerated() where !RoutingConfigReader.isLabelName(name) {
                r.fail("\(path)[\(index)]", "\"\(name)\" is not a valid label name", node)
            }
            if Set(names).count != names.count { r.fail(path, "duplicated label in group_by", node) }
            return .labels(names)
        }
    }
}

extension ConfigSection<InhibitRule> {
    /// `inhibit_rules[]`.
    static var inhibitRule: Self {
        func matchers(_ target: WritableKeyPath<InhibitRule, Matchers>, _ type: Matcher.MatchType?) -> (inout InhibitRule, Node, String, inout YAMLReader, ConfigContext) -> Void {
            { rule, node, path, r, _ in
                rule[keyPath: target].matchers += type.map { RoutingConfigReader.labelMatchers(node, path, $0, &r) } ?? RoutingConfigReader.readMatchers(node, path, &r)
            }
        }
        return Self(fields: [
            .custom("source_matchers", doc: "alerts that inhibit", read: matchers(\.sourceMatchers, nil)),
            .custom("target_matchers", doc: "alerts that are inhibited", read: matchers(\.targetMatchers, nil)),
            .custom("source_match", doc: "source_matchers in the older label: value form", read: matchers(\.sourceMatchers, .equal)),
            .custom("source_match_re", doc: "source_matchers in the older label: regex form", read: matchers(\.sourceMatchers, .regexMatch)),
            .custom("target_match", doc: "target_matchers in the older label: value form", read: matchers(\.targetMatchers, .equal)),
            .custom("target_match_re", doc: "target_matchers in the older label: regex form", read: matchers(\.targetMatchers, .regexMatch)),
            .key("equal", \.equal, .strings.eachChecked { RoutingConfigReader.isLabelName($0) ? nil : "\"\($0)\" is not a valid label name" },
                 doc: "labels whose values source and target must share"),
        ])
    }
}

extension ConfigSection<NamedTimeInterval> {
    /// `time_intervals[]` and `mute_time_intervals[]`.
    static var namedTimeInterval: Self {
        Self(fields: [
            .key("name", \.name, .string, doc: "what routes call it"),
            .custom("time_intervals", doc: "the periods it covers") { named, node, path, r, context in
                named.intervals = r.sequence(node, path).enumerated().map { index, entry in
                    var interval = CalendarInterval()
                    ConfigSection<CalendarInterval>.calendarInterval.read(entry, "\(path)[\(index)]", into: &interval, &r, context)
                    return interval
                }
            },
        ])
    }
}

extension ConfigSection<CalendarInterval> {
    /// One period of a time interval; every field left out matches any.
    static var calendarInterval: Self {
        Self(fields: [
            .custom("times", doc: "start_time and end_time of day, HH:MM") { interval, node, path, r, _ in
                for (index, entry) in r.sequence(node, path).enumerated() {
                    let entryPath = "\(path)[\(index)]"
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
                        r.fail(entryPath, "start_time \"\(RoutingConfigReader.clock(start))\" is not before end_time \"\(RoutingConfigReader.clock(end))\"", entry)
                        continue
                    }
                    interval.times.append(.init(startMinute: start, endMinute: end))
                }
            },
            .key("weekdays", \.weekdays, .ranges(CalendarInterval.parseWeekdayRange), doc: "e.g. monday:friday"),
            .key("days_of_month", \.daysOfMonth, .ranges(CalendarInterval.parseDayOfMonthRange), doc: "e.g. 1:5 or -3:-1 (the last three)"),
            .key("months", \.months, .ranges(CalendarInterval.parseMonthRange), doc: "e.g. january:march or 1:3"),
            .key("years", \.years, .ranges(CalendarInterval.parseYearRange), doc: "e.g. 2026:2027"),
            .key("location", \.location, ConfigParser { node, path, r, _ in
                guard let text = r.string(node, path) else { return nil }
                do { return try CalendarInterval.parseLocation(text) } catch { r.fail(path, "\(error)", node) }
                return nil
            }, doc: "the time zone the other fields are read in"),
        ])
    }
}

extension ConfigParser<[CalendarInterval.IntRange]> {
    static func ranges(_ parse: @escaping (String) throws(CalendarIntervalError) -> CalendarInterval.IntRange) -> Self {
        Self { node, path, r, _ in
            let texts = r.strings(node, path)
            if texts.isEmpty {
                // Alertmanager: an explicit empty list matches nothing; here it would mean "any".
                r.fail(path, "an empty list matches nothing; leave the field out to match any", node)
            }
            return texts.enumerated().compactMap { index, text in
                do { return try parse(text) } catch {
                    r.fail("\(path)[\(index)]", "\(error)", node)
                    return nil
                }
            }
        }
    }
}
