import AlertCore
import Foundation

/// The silences page (`/ui/silences`): active, pending and expired silences,
/// each with a link to edit it and, unless expired, a button that expires it
/// through `DELETE /api/v2/silence/:id` (the script in `UIAssets`).
struct SilencesPage {
    struct Row {
        var silence: UISilence
        var expirable: Bool
        var editHref: String
    }

    struct Section {
        var state: String
        var silences: [Row]
        var count: Int
    }

    var chrome: UIChrome
    var sections: [Section]

    init(runtime: Alerter, session: UISession.State) {
        chrome = UIChrome(title: "Silences", path: "/ui/silences", session: session)
        let now = runtime.clock.now()
        sections = [SilenceState.active, .pending, .expired].map { state in
            let silences = runtime.silencer.list(at: now, state: state).sorted { $0.endsAt < $1.endsAt }
            return Section(state: state.rawValue, silences: silences.map { silence in
                Row(silence: UISilence(silence, time: UIPage.time), expirable: state != .expired,
                    editHref: "/ui/silences/new?id=" + UIPage.queryValue(silence.id))
            }, count: silences.count)
        }
    }
}
