import Foundation

/// The benchmark's outputs: one markdown table and `bench-results.json`.
enum Report {
    static func machine() -> String {
        let cpu = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8))?
            .split(separator: "\n").first { $0.hasPrefix("model name") }?.split(separator: ":").last?.trimmingCharacters(in: .whitespaces) ?? "unknown CPU"
        let memory = (try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8))?
            .split(separator: "\n").first { $0.hasPrefix("MemTotal") }?.split(separator: " ").dropFirst().first.flatMap { Double($0) }.map { String(format: "%.0f GiB", $0 / 1_048_576) } ?? "?"
        return "\(ProcessInfo.processInfo.activeProcessorCount) cores (\(cpu)), \(memory)"
    }

    static func format(_ value: Double) -> String {
        if value >= 100 { return String(format: "%.0f", value) }
        if value >= 10 { return String(format: "%.1f", value) }
        return String(format: "%.2f", value)
    }

    static func markdown(_ rows: [BenchRun.Row], quick: Bool, seconds: Double) -> String {
        var lines = [
            "Machine: \(machine()); \(quick ? "--quick" : "full") run, \(Int(seconds)) s.",
            "",
            "| scenario | figure | value | ratio | target |",
            "|---|---|---|---|---|",
        ]
        for row in rows {
            let ratio = row.ratio.map { String(format: "%.2f× %@", $0, row.baseline ?? "") } ?? ""
            var figure = row.figure
            if let note = row.note { figure += " — " + note }
            lines.append("| \(row.scenario) | \(figure) | \(format(row.value)) \(row.unit) | \(ratio) | \(row.target ?? "") |")
        }
        return lines.joined(separator: "\n")
    }

    static func json(_ rows: [BenchRun.Row], quick: Bool, seconds: Double, failures: [String]) throws -> Data {
        struct Document: Codable {
            var machine: String
            var quick: Bool
            var seconds: Double
            var date: String
            var rows: [BenchRun.Row]
            var failures: [String]
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try encoder.encode(Document(machine: machine(), quick: quick, seconds: seconds, date: ISO8601DateFormatter().string(from: Date()),
                                           rows: rows, failures: failures))
    }
}
