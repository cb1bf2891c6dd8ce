import AlertCore
import Foundation
import Hummingbird

/// The silence form (`/ui/silences/new`): a new silence pre-filled from
/// `?matchers=` (the alerts page links each alert's labels here), or an
/// existing one from `?id=` to edit. The script in `UIAssets` previews the
/// alerts the matchers would mute (`GET /ui/silence-preview`) and saves
/// through `POST /api/v2/silences`.
struct SilenceForm {
    struct Shortcut {
        var label: String
        var seconds: Int
    }

    var chrome: UIChrome
    var silence: UISilence
    var editing: Bool
    var notFound: String?
    var shortcuts = [("1h", 3600), ("4h", 4 * 3600), ("1d", 86400), ("3d", 3 * 86400), ("1w", 7 * 86400)].map { Shortcut(label: $0.0, seconds: $0.1) }

    init(runtime: Alerter, matchers: String?, id: String?, session: UISession.State) {
        chrome = UIChrome(title: "Silence", path: "/ui/silences", session: session)
        let now = runtime.clock.now()
        if let id, let silence = runtime.silencer.silence(id: id) {
            // An active silence keeps its start (the silencer then updates it under the same id); an expired one is created anew from now.
            self.silence = UISilence(silence, startsAt: silence.state(at: now) == .expired ? now : silence.startsAt, time: APIJSON.timestamp)
            editing = true
        } else {
            notFound = id.map { "silence \($0) not found; a new one is created" }
            silence = UISilence(id: "", matchers: matchers ?? "", startsAt: APIJSON.timestamp(now), endsAt: APIJSON.timestamp(now + 3600),
                                createdBy: "", comment: "")
            editing = false
        }
    }
}

/// `GET /ui/silence-preview?matchers=…`: the matchers of the form in the
/// API's shape (so the script needs no parser of its own) and the firing
/// alerts they would mute; 400 with what is wrong when they do not parse.
struct SilencePreview: ResponseEncodable {
    struct MutedAlert: Encodable {
        var fingerprint: String
        var labels: String
    }

    var matchers: [SilenceMatcher]
    var alerts: [MutedAlert]

    init(runtime: Alerter, text: String) throws(APIError) {
        let parsed: [Matcher]
        do { parsed = try MatcherParser.parseMatchers(text) } catch { throw APIError(.badRequest, "matchers: \(error)") }
        guard !parsed.isEmpty else { throw APIError(.badRequest, "matchers: a silence needs at least one matcher") }
        matchers = parsed.map(SilenceMatcher.init)
        alerts = runtime.store.activeAlerts().filter { alert in parsed.allSatisfy { $0.matches(alert.labels) } }
            .sorted { $0.labels.description < $1.labels.description }
            .map { MutedAlert(fingerprint: $0.fingerprint.description, labels: $0.labels.description) }
    }
}
