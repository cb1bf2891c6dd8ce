@testable import AlertService
import Foundation
import Testing

@Suite("Configuration reference: the README documents every key the reader accepts")
struct ConfigReferenceTests {
    static let readme = try! String(contentsOf: URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("README.md"), encoding: .utf8)

    /// Every described section, by the name the README uses for it.
    static let sections: [(String, [String])] = AlerterConfig.describedSections.map { ($0.name, $0.section.keyPaths) } + [
        ("global", ConfigSection.global.keyPaths), ("route", ConfigSection.route.keyPaths),
        ("inhibit_rules", ConfigSection.inhibitRule.keyPaths), ("time_intervals", ConfigSection.namedTimeInterval.keyPaths),
        ("time_intervals", ConfigSection.calendarInterval.keyPaths),
        ("alertmanager_configs", ConfigSection.alertmanagerForward.keyPaths), ("slack_configs", ConfigSection.slack.keyPaths),
        ("email_configs", ConfigSection.email.keyPaths), ("webhook_configs", ConfigSection.webhook.keyPaths),
    ] + RuleConfigReader.kinds.map { ("rules (\($0))", ConfigSection.rule(kind: $0)!.keyPaths) }

    @Test("each key appears in the README: as `key` or `section.key` in a table, or as key: in an example", arguments: sections)
    func documented(section: String, keys: [String]) {
        for path in keys {
            let key = path.split(separator: ".").last.map(String.init) ?? path
            let documented = ["`\(path)`", "`\(key)`", ".\(key)`", "\(key):"].contains { Self.readme.contains($0) }
            #expect(documented, "\(section).\(path) is not in the README's configuration reference")
        }
    }
}
