@testable import AlertService
import Foundation

/// The fuzz entry points of the service layer (see `IngestFuzzing`): the
/// config loader (YAML text to a validated config) and the API's parsers of
/// untrusted input — a postable silence body and `filter` matchers.
public enum ServiceFuzzing {
    /// YAML text through `ConfigLoader.parse`; a valid config is also exported
    /// as `/api/v2/status` shows it. Relative `*_file` paths resolve under a
    /// directory that does not exist, so no input reads local files.
    public static func config(_ bytes: UnsafeRawBufferPointer) -> Bool {
        let text = String(decoding: bytes, as: UTF8.self)
        guard let config = try? ConfigLoader.parse(yaml: text, file: "fuzz.yaml", baseDirectory: "/nonexistent-fuzz-base") else { return false }
        _ = AlertmanagerConfigExport.yaml(of: config)
        return true
    }

    /// A `POST /api/v2/silences` body through the parser and limits the API uses;
    /// the same bytes as `filter=` query values of `GET /api/v2/alerts`.
    public static func silenceAPI(_ bytes: UnsafeRawBufferPointer) -> (silence: Bool, filter: Bool) {
        let data = Data(bytes)
        let silence = (try? APIJSON.postableSilence(data, limits: .init())).map { parsed in
            _ = APIJSON.silenceSize(parsed)
            _ = try? AlertmanagerJSONEncoder.data(GettableSilence(parsed, now: IngestFuzzingClock.now))
            return true
        } ?? false
        let text = String(decoding: bytes, as: UTF8.self)
        let filter = (try? AlertQuery.matchers(text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init))) != nil
        return (silence, filter)
    }
}

enum IngestFuzzingClock {
    static let now = Date(timeIntervalSince1970: 1_800_000_000)
}
