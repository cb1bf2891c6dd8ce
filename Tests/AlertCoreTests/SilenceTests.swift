import AlertCore
import Foundation
import Testing

/// Scenarios on a virtual clock: every operation is given `now` explicitly,
/// as minutes after `t0`.
@Suite("Silences: lifecycle, updates, expiry, validation, muting, listing, garbage collection")
struct SilenceTests {
    let t0 = Date(timeIntervalSince1970: 1_800_000_000)

    /// `t0` plus `minutes`.
    func at(_ minutes: Double) -> Date {
        t0.addingTimeInterval(minutes * 60)
    }

    func silence(
        _ matchers: String, from start: Date, to end: Date, id: String = "",
        by createdBy: String = "alice", comment: String = "planned maintenance"
    ) throws -> Silence {
        Silence(id: id, matchers: try MatcherParser.parseMatchers(matchers), startsAt: start, endsAt: end,
                createdBy: createdBy, comment: comment)
    }

    func labels(_ pairs: [String: String]) -> LabelSet {
        LabelSet(pairs)
    }

    // MARK: Lifecycle

    @Test("a maintenance window is pending, then active, then expired, and mutes exactly while active")
    func lifecycle() throws {
        let silencer = Silencer()
        let id = try silencer.upsert(silence(#"{service="api"}"#, from: at(10), to: at(70)), now: t0)
        let api = labels(["alertname": "HighLatency", "service": "api"])
        let web = labels(["alertname": "HighLatency", "service": "web"])

        let stored = try #require(silencer.silence(id: id))
        #expect(stored.startsAt == at(10), "a start in the future is kept")
        #expect(stored.updatedAt == t0)

        #expect(stored.state(at: t0) == .pending)
        #expect(silencer.mutes(api, at: t0).isEmpty)
        #expect(silencer.mutes(api, at: at(10).addingTimeInterval(-1)).isEmpty)

        #expect(stored.state(at: at(10)) == .active)
        #expect(silencer.mutes(api, at: at(10)) == [id])
        #expect(silencer.mutes(api, at: at(70).addingTimeInterval(-1)) == [id])
        #expect(silencer.mutes(web, at: at(30)).isEmpty)

        #expect(stored.state(at: at(70)) == .expired)
        #expect(silencer.mutes(api, at: at(70)).isEmpty)
        #expect(silencer.mutes(api, at: at(500)).isEmpty)
    }

    @Test("a silence created with a start in the past starts now")
    func startInThePastIsNow() throws {
        let silencer = Silencer()
        let id = try silencer.upsert(silence(#"{service="api"}"#, from: at(-60), to: at(60)), now: t0)
        let stored = try #require(silencer.silence(id: id))
        #expect(stored.startsAt == t0)
        #expect(stored.endsAt == at(60))
        #expect(id == id.lowercased())
        #expect(UUID(uuidString: id) != nil)
    }

    // MARK: Updates

    @Test("extending or shortening an active silence's end keeps its id")
    func extendActiveInPlace() throws {
        let silencer = Silencer()
        let id = try silencer.upsert(silence(#"{service="api"}"#, from: t0, to: at(60)), now: t0)

        var longer = try #require(silencer.silence(id: id))
        longer.endsAt = at(120)
        longer.comment = "maintenance overran"
        #expect(try silencer.upsert(longer, now: at(30)) == id)

        var stored = try #require(silencer.silence(id: id))
        #expect(stored.startsAt == t0)
        #expect(stored.endsAt == at(120))
        #expect(stored.comment == "maintenance overran")
        #expect(stored.updatedAt == at(30))
        #expect(silencer.all.count == 1)
        #expect(silencer.mutes(labels(["service": "api"]), at: at(90)) == [id])

        var shorter = stored
        shorter.endsAt = at(45)
        #expect(try silencer.upsert(shorter, now: at(40)) == id)
        stored = try #require(silencer.silence(id: id))
        #expect(stored.endsAt == at(45))
        #expect(silencer.mutes(labels(["service": "api"]), at: at(45)).isEmpty)
        #expect(silencer.all.count == 1)
    }

    @Test("changing an active silence's matchers expires it and creates a new silence")
    func changeMatchersReplaces() throws {
        let silencer = Silencer()
        let old = try silencer.upsert(silence(#"{service="api"}"#, from: t0, to: at(60)), now: t0)

        var widened = try #require(silencer.silence(id: old))
        widened.matchers = try MatcherParser.parseMatchers(#"{service=~"api|web"}"#)
        let new = try silencer.upsert(widened, now: at(20))
        #expect(new != old)

        let expired = try #require(silencer.silence(id: old))
        #expect(expired.endsAt == at(20))
        #expect(expired.startsAt == t0)
        #expect(expired.matchers == (try MatcherParser.parseMatchers(#"{service="api"}"#)))
        #expect(expired.state(at: at(20)) == .expired)

        let replacement = try #require(silencer.silence(id: new))
        #expect(replacement.startsAt == at(20), "the old start is in the past, so the new silence starts now")
        #expect(replacement.endsAt == at(60))
        #expect(replacement.updatedAt == at(20))
        #expect(silencer.mutes(labels(["service": "web"]), at: at(20)) == [new])
        #expect(silencer.mutes(labels(["service": "api"]), at: at(20)) == [new])
        #expect(silencer.all.count == 2)
    }

    @Test("reordering matchers counts as a change, as in Alertmanager")
    func reorderedMatchersReplace() throws {
        let silencer = Silencer()
        let old = try silencer.upsert(silence(#"{service="api", env="prod"}"#, from: t0, to: at(60)), now: t0)
        var reordered = try #require(silencer.silence(id: old))
        reordered.matchers.reverse()
        let new = try silencer.upsert(reordered, now: at(5))
        #expect(new != old)
        #expect(silencer.silence(id: old)?.endsAt == at(5))
    }

    @Test("moving an active silence's start rewrites history, so it gets a new id")
    func moveActiveStartReplaces() throws {
        let silencer = Silencer()
        let old = try silencer.upsert(silence(#"{service="api"}"#, from: t0, to: at(60)), now: t0)

        var later = try #require(silencer.silence(id: old))
        later.startsAt = at(40)
        let new = try silencer.upsert(later, now: at(30))
        #expect(new != old)
        #expect(silencer.silence(id: old)?.endsAt == at(30))
        #expect(silencer.silence(id: new)?.startsAt == at(40))
        #expect(silencer.silence(id: new)?.state(at: at(30)) == .pending)
        #expect(silencer.mutes(labels(["service": "api"]), at: at(35)).isEmpty)
        #expect(silencer.mutes(labels(["service": "api"]), at: at(40)) == [new])
    }

    @Test("an active silence's start compares to the second, as in Alertmanager, and the stored start is kept")
    func activeStartToTheSecond() throws {
        let silencer = Silencer()
        let id = try silencer.upsert(silence(#"{service="api"}"#, from: t0, to: at(60)), now: t0)
        var update = try #require(silencer.silence(id: id))
        update.startsAt = t0.addingTimeInterval(0.4)  // e.g. lost precision on a round trip
        update.endsAt = at(90)
        #expect(try silencer.upsert(update, now: at(10)) == id)
        #expect(silencer.silence(id: id)?.startsAt == t0)
        #expect(silencer.silence(id: id)?.endsAt == at(90))
    }

    @Test("an expired silence is never edited; posting it again creates a new silence and leaves the old one as it was")
    func updateExpiredCreates() throws {
        let silencer = Silencer()
        let old = try silencer.upsert(silence(#"{service="api"}"#, from: t0, to: at(60)), now: t0)
        let before = try #require(silencer.silence(id: old))

        var again = before
        again.endsAt = at(180)
        let new = try silencer.upsert(again, now: at(90))
        #expect(new != old)
        #expect(silencer.silence(id: old) == before)
        let created = try #require(silencer.silence(id: new))
        #expect(created.startsAt == at(90))
        #expect(created.endsAt == at(180))
        #expect(silencer.mutes(labels(["service": "api"]), at: at(90)) == [new])
    }

    @Test("a pending silence can be rescheduled in place, but a start moved into the past replaces it")
    func reschedulePending() throws {
        let silencer = Silencer()
        let id = try silencer.upsert(silence(#"{job="backup"}"#, from: at(60), to: at(120)), now: t0)

        var sooner = try #require(silencer.silence(id: id))
        sooner.startsAt = at(30)
        #expect(try silencer.upsert(sooner, now: at(10)) == id)
        #expect(silencer.silence(id: id)?.startsAt == at(30))
        #expect(silencer.silence(id: id)?.updatedAt == at(10))
        #expect(silencer.all.count == 1)

        var intoThePast = try #require(silencer.silence(id: id))
        intoThePast.startsAt = at(5)
        let new = try silencer.upsert(intoThePast, now: at(20))
        #expect(new != id)
        let old = try #require(silencer.silence(id: id))
        #expect(old.startsAt == at(20))
        #expect(old.endsAt == at(20))
        #expect(old.state(at: at(20)) == .expired)
        #expect(silencer.silence(id: new)?.startsAt == at(20))
        #expect(silencer.mutes(labels(["job": "backup"]), at: at(20)) == [new])
    }

    @Test("a refused update changes nothing: an end in the past, or a missing comment")
    func refusedUpdateChangesNothing() throws {
        let silencer = Silencer()
        let id = try silencer.upsert(silence(#"{service="api"}"#, from: t0, to: at(60)), now: t0)
        let before = try #require(silencer.silence(id: id))

        var endedEarlier = before
        endedEarlier.endsAt = at(20)
        let past = #expect(throws: SilenceError.self) { try silencer.upsert(endedEarlier, now: at(30)) }
        #expect(past?.kind == .invalid)
        #expect(past?.description.contains("not in the future") == true)

        var noComment = before
        noComment.matchers = try MatcherParser.parseMatchers(#"{service="web"}"#)
        noComment.comment = ""
        let missing = #expect(throws: SilenceError.self) { try silencer.upsert(noComment, now: at(30)) }
        #expect(missing?.description.contains("comment") == true)

        #expect(silencer.all == [before])
        #expect(silencer.silence(id: id)?.state(at: at(30)) == .active)
    }

    @Test("updating an unknown id is an error")
    func updateUnknown() throws {
        let silencer = Silencer()
        let error = #expect(throws: SilenceError.self) {
            try silencer.upsert(silence(#"{service="api"}"#, from: t0, to: at(60), id: "no-such-id"), now: t0)
        }
        #expect(error == SilenceError(.notFound, "silence no-such-id not found"))
        #expect(silencer.all.isEmpty)
    }

    // MARK: Expire

    @Test("expiring a pending silence moves both its start and end to now")
    func expirePending() throws {
        let silencer = Silencer()
        let id = try silencer.upsert(silence(#"{job="backup"}"#, from: at(60), to: at(120)), now: t0)
        try silencer.expire(id: id, now: at(10))
        let stored = try #require(silencer.silence(id: id))
        #expect(stored.startsAt == at(10))
        #expect(stored.endsAt == at(10))
        #expect(stored.updatedAt == at(10))
        #expect(stored.state(at: at(10)) == .expired)
        #expect(silencer.mutes(labels(["job": "backup"]), at: at(90)).isEmpty)
    }

    @Test("expiring an active silence ends it now and stops muting")
    func expireActive() throws {
        let silencer = Silencer()
        let id = try silencer.upsert(silence(#"{service="api"}"#, from: t0, to: at(60)), now: t0)
        #expect(silencer.mutes(labels(["service": "api"]), at: at(15)) == [id])
        try silencer.expire(id: id, now: at(15))
        let stored = try #require(silencer.silence(id: id))
        #expect(stored.startsAt == t0)
        #expect(stored.endsAt == at(15))
        #expect(stored.updatedAt == at(15))
        #expect(silencer.mutes(labels(["service": "api"]), at: at(15)).isEmpty)
    }

    @Test("expiring twice is an error, and so is expiring an unknown id")
    func doubleExpire() throws {
        let silencer = Silencer()
        let id = try silencer.upsert(silence(#"{service="api"}"#, from: t0, to: at(60)), now: t0)
        try silencer.expire(id: id, now: at(15))
        let again = #expect(throws: SilenceError.self) { try silencer.expire(id: id, now: at(16)) }
        #expect(again == SilenceError(.alreadyExpired, "silence \(id) already expired"))
        #expect(silencer.silence(id: id)?.endsAt == at(15), "the second expire changes nothing")

        let ranOut = try silencer.upsert(silence(#"{service="web"}"#, from: t0, to: at(60)), now: t0)
        let late = #expect(throws: SilenceError.self) { try silencer.expire(id: ranOut, now: at(61)) }
        #expect(late?.kind == .alreadyExpired)

        let unknown = #expect(throws: SilenceError.self) { try silencer.expire(id: "nope", now: t0) }
        #expect(unknown == SilenceError(.notFound, "silence nope not found"))
    }

    // MARK: Validation

    struct InvalidCase: Sendable, CustomTestStringConvertible {
        var name: String
        var matchers: String
        var startMinutes: Double = 0
        var endMinutes: Double = 60
        var createdBy = "alice"
        var comment = "planned maintenance"
        var expected: String
        var testDescription: String { name }
    }

    static let invalidCases: [InvalidCase] = [
        InvalidCase(name: "no matchers", matchers: "{}", expected: "at least one matcher is required"),
        InvalidCase(name: #"a="" matches everything"#, matchers: #"{a=""}"#,
                    expected: "at least one matcher must not match the empty string"),
        InvalidCase(name: #"a=~".*" matches everything"#, matchers: #"{a=~".*"}"#,
                    expected: "at least one matcher must not match the empty string"),
        InvalidCase(name: "every matcher matches the empty string", matchers: #"{a="", b=~"x?"}"#,
                    expected: "at least one matcher must not match the empty string"),
        InvalidCase(name: "end before start", matchers: #"{a="b"}"#, startMinutes: 60, endMinutes: 30,
                    expected: "must be after start time"),
        InvalidCase(name: "end equal to start", matchers: #"{a="b"}"#, startMinutes: 60, endMinutes: 60,
                    expected: "must be after start time"),
        InvalidCase(name: "end in the past", matchers: #"{a="b"}"#, startMinutes: -120, endMinutes: -60,
                    expected: "not in the future"),
        InvalidCase(name: "no createdBy", matchers: #"{a="b"}"#, createdBy: "", expected: "createdBy is required"),
        InvalidCase(name: "no comment", matchers: #"{a="b"}"#, comment: "", expected: "comment is required"),
    ]

    @Test("an invalid silence is refused with a message naming the problem", arguments: invalidCases)
    func validation(_ invalid: InvalidCase) throws {
        let silencer = Silencer()
        let candidate = try silence(invalid.matchers, from: at(invalid.startMinutes), to: at(invalid.endMinutes),
                                    by: invalid.createdBy, comment: invalid.comment)
        let error = #expect(throws: SilenceError.self) { try silencer.upsert(candidate, now: t0) }
        #expect(error?.kind == .invalid)
        #expect(error?.description.contains(invalid.expected) == true, "\(String(describing: error))")
        #expect(silencer.all.isEmpty)
    }

    @Test("negative matchers count as not matching the empty string, as in Alertmanager")
    func negativeMatchersAreAccepted() throws {
        let silencer = Silencer()
        let notProd = try silencer.upsert(silence(#"{env!="prod"}"#, from: t0, to: at(60)), now: t0)
        let unlabelled = try silencer.upsert(silence(#"{team="", alertname="DiskFull"}"#, from: t0, to: at(60)), now: t0)

        #expect(silencer.mutes(labels(["alertname": "X"]), at: t0) == [notProd])
        #expect(silencer.mutes(labels(["alertname": "X", "env": "prod"]), at: t0).isEmpty)
        #expect(silencer.mutes(labels(["alertname": "DiskFull", "env": "prod"]), at: t0) == [unlabelled])
        #expect(silencer.mutes(labels(["alertname": "DiskFull", "env": "prod", "team": "db"]), at: t0).isEmpty)
    }

    // MARK: Muting

    @Test("regex matchers are anchored; negative matchers treat an absent label as empty; ids come sorted")
    func mutesWithRegexAndNegativeMatchers() throws {
        let silencer = Silencer()
        let frontends = try silencer.upsert(silence(#"{service=~"api|web", env!="staging"}"#, from: t0, to: at(60)), now: t0)
        let database = try silencer.upsert(silence(#"{alertname!~"Watchdog|Heartbeat", team="db"}"#, from: t0, to: at(60)), now: t0)
        _ = try silencer.upsert(silence(#"{service="api"}"#, from: at(30), to: at(60)), now: t0)  // still pending at t0+10

        let now = at(10)
        #expect(silencer.mutes(labels(["service": "api", "env": "prod"]), at: now) == [frontends])
        #expect(silencer.mutes(labels(["service": "web"]), at: now) == [frontends])
        #expect(silencer.mutes(labels(["service": "api", "env": "staging"]), at: now).isEmpty)
        #expect(silencer.mutes(labels(["service": "apix", "env": "prod"]), at: now).isEmpty)
        #expect(silencer.mutes(labels(["service": "api", "team": "db", "alertname": "DiskFull"]), at: now)
                == [frontends, database].sorted())
        #expect(silencer.mutes(labels(["team": "db", "alertname": "Watchdog"]), at: now).isEmpty)
        #expect(silencer.mutes(labels(["team": "db", "alertname": "WatchdogX"]), at: now) == [database])
    }

    // MARK: Listing

    @Test("the list shows active silences ending soonest first, then pending starting soonest, then the most recently expired")
    func listOrder() throws {
        let silencer = Silencer()
        let activeLate = try silencer.upsert(silence(#"{n="1"}"#, from: t0, to: at(60)), now: t0)
        let expiredEarly = try silencer.upsert(silence(#"{n="2"}"#, from: t0, to: at(10)), now: t0)
        let pendingLate = try silencer.upsert(silence(#"{n="3"}"#, from: at(120), to: at(180)), now: t0)
        let activeSoon = try silencer.upsert(silence(#"{n="4"}"#, from: t0, to: at(50)), now: t0)
        let expiredRecently = try silencer.upsert(silence(#"{n="5"}"#, from: t0, to: at(20)), now: t0)
        let pendingSoon = try silencer.upsert(silence(#"{n="6"}"#, from: at(90), to: at(200)), now: t0)

        let now = at(45)
        #expect(silencer.list(at: now).map(\.id)
                == [activeSoon, activeLate, pendingSoon, pendingLate, expiredRecently, expiredEarly])
        #expect(silencer.list(at: now, state: .active).map(\.id) == [activeSoon, activeLate])
        #expect(silencer.list(at: now, state: .pending).map(\.id) == [pendingSoon, pendingLate])
        #expect(silencer.list(at: now, state: .expired).map(\.id) == [expiredRecently, expiredEarly])
        #expect(silencer.count(at: now) == [.active: 2, .pending: 2, .expired: 2])
        #expect(silencer.count(at: at(500)) == [.active: 0, .pending: 0, .expired: 6])
    }

    @Test("the list filter keeps silences written with each filter matcher's exact name, operator and value")
    func listFilter() throws {
        let silencer = Silencer()
        let apiProd = try silencer.upsert(silence(#"{service="api", env="prod"}"#, from: t0, to: at(60)), now: t0)
        let api = try silencer.upsert(silence(#"{service="api"}"#, from: t0, to: at(70)), now: t0)
        let apiRegex = try silencer.upsert(silence(#"{service=~"api"}"#, from: t0, to: at(80)), now: t0)
        _ = try silencer.upsert(silence(#"{service="web"}"#, from: t0, to: at(90)), now: t0)

        func ids(_ filter: String, state: SilenceState? = nil) throws -> [String] {
            silencer.list(at: at(5), state: state, matching: try MatcherParser.parseMatchers(filter)).map(\.id)
        }
        #expect(try ids(#"service="api""#) == [apiProd, api])
        #expect(try ids(#"service="api", env="prod""#) == [apiProd])
        #expect(try ids(#"service=~"api""#) == [apiRegex])
        #expect(try ids(#"service=~"api|web""#).isEmpty)
        #expect(try ids(#"env!="prod""#).isEmpty)
        #expect(try ids("").count == 4)

        try silencer.expire(id: api, now: at(5))
        #expect(try ids(#"service="api""#, state: .expired) == [api])
        #expect(try ids(#"service="api""#, state: .active) == [apiProd])
    }

    // MARK: Garbage collection and snapshots

    @Test("expired silences are kept for the retention and then removed; others are never removed")
    func garbageCollection() throws {
        let silencer = Silencer()
        let retention = Duration.seconds(120 * 60 * 60)
        #expect(Silencer.defaultRetention == retention)
        let hours = 60.0

        let ranOut = try silencer.upsert(silence(#"{n="1"}"#, from: t0, to: at(10)), now: t0)
        let expiredByHand = try silencer.upsert(silence(#"{n="2"}"#, from: t0, to: at(60)), now: t0)
        try silencer.expire(id: expiredByHand, now: at(30))
        let longActive = try silencer.upsert(silence(#"{n="3"}"#, from: t0, to: at(300 * hours)), now: t0)
        let farPending = try silencer.upsert(silence(#"{n="4"}"#, from: at(200 * hours), to: at(400 * hours)), now: t0)

        #expect(silencer.collectGarbage(at: at(10 + 120 * hours).addingTimeInterval(-1), retention: retention) == 0)
        #expect(silencer.all.count == 4)

        #expect(silencer.collectGarbage(at: at(10 + 120 * hours), retention: retention) == 1)
        #expect(silencer.silence(id: ranOut) == nil)
        #expect(silencer.silence(id: expiredByHand) != nil)

        #expect(silencer.collectGarbage(at: at(30 + 120 * hours), retention: retention) == 1)
        #expect(silencer.silence(id: expiredByHand) == nil)
        #expect(Set(silencer.all.map(\.id)) == [longActive, farPending])

        #expect(silencer.collectGarbage(at: at(250 * hours), retention: .zero) == 0, "active silences stay whatever the retention")
        #expect(silencer.collectGarbage(at: at(250 * hours), retention: .seconds(-1000 * 60 * 60)) == 0)
        #expect(silencer.all.count == 2)
    }

    @Test("a short retention removes a silence a minute after it ends")
    func shortRetention() throws {
        let silencer = Silencer()
        let id = try silencer.upsert(silence(#"{n="1"}"#, from: t0, to: at(10)), now: t0)
        #expect(silencer.collectGarbage(at: at(10.5), retention: .seconds(60)) == 0)
        #expect(silencer.collectGarbage(at: at(11), retention: .seconds(60)) == 1)
        #expect(silencer.silence(id: id) == nil)
    }

    @Test("a snapshot restores the same silences, which then follow the same rules")
    func snapshotRestore() throws {
        let original = Silencer()
        let active = try original.upsert(silence(#"{service="api"}"#, from: t0, to: at(60)), now: t0)
        let pending = try original.upsert(silence(#"{service="web"}"#, from: at(30), to: at(90)), now: t0)
        let expired = try original.upsert(silence(#"{service="db"}"#, from: t0, to: at(60)), now: t0)
        try original.expire(id: expired, now: at(5))

        let restored = Silencer(silences: original.all)
        #expect(restored.all == original.all)
        #expect(restored.all.map(\.id) == [active, pending, expired].sorted())
        #expect(restored.mutes(labels(["service": "api"]), at: at(10)) == [active])
        #expect(restored.list(at: at(10)) == original.list(at: at(10)))

        var extended = try #require(restored.silence(id: active))
        extended.endsAt = at(120)
        #expect(try restored.upsert(extended, now: at(10)) == active)
        #expect(original.silence(id: active)?.endsAt == at(60), "the snapshot is a copy")
    }

    @Test("silences created concurrently from many tasks each get their own id")
    func concurrentCreates() async throws {
        let silencer = Silencer()
        let template = try silence(#"{service="api"}"#, from: t0, to: at(60))
        let now = t0
        let ids = try await withThrowingTaskGroup(of: String.self) { group in
            for n in 0..<200 {
                var candidate = template
                candidate.comment = "task \(n)"
                group.addTask { try silencer.upsert(candidate, now: now) }
            }
            var ids: [String] = []
            for try await id in group { ids.append(id) }
            return ids
        }
        #expect(Set(ids).count == 200)
        #expect(silencer.all.count == 200)
        #expect(silencer.mutes(labels(["service": "api"]), at: t0) == ids.sorted())
    }
}
