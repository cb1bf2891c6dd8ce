import AlertCore
import Foundation

/// A silence as the UI shows it, every field as text: in the silences list
/// and in the silence form.
struct UISilence {
    var id: String
    var matchers: String
    var startsAt: String
    var endsAt: String
    var createdBy: String
    var comment: String
}

extension UISilence {
    /// - Parameter time: how its times are written (`UIPage.time` to read, `APIJSON.timestamp` to edit).
    init(_ silence: Silence, startsAt: Date? = nil, time: (Date) -> String) {
        self.init(id: silence.id, matchers: Matchers(silence.matchers).description, startsAt: time(startsAt ?? silence.startsAt),
                  endsAt: time(silence.endsAt), createdBy: silence.createdBy, comment: silence.comment)
    }
}
