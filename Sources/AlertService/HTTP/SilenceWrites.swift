import AlertCore
import Foundation

/// Listing, creating and expiring silences with the checks of the HTTP API
/// (`server.limits`, refusal after the final state write at shutdown),
/// shared by `SilenceRoutes` and the NATS request-reply API
/// (docs/ARCHITECTURE.md, Control plane). A write also publishes the
/// silenced/unsilenced events of the firing alerts it mutes or unmutes.
/// Thread-safe: a value over the runtime, which is `Sendable`.
struct SilenceWrites {
    let runtime: Alerter
    /// `server.limits` at start: they change only on restart, as reload notes say.
    let limits: AlerterConfig.APILimits

    func list(filter: [String]) throws -> [GettableSilence] {
        let matchers = try AlertQuery.matchers(filter)
        let now = runtime.clock.now()
        return runtime.silencer.list(at: now, matching: matchers).map { GettableSilence($0, now: now) }
    }

    func show(id: String) throws(APIError) -> GettableSilence {
        guard let silence = runtime.silencer.silence(id: id) else { throw APIError(.notFound, "silence \(id) not found") }
        return GettableSilence(silence, now: runtime.clock.now())
    }

    /// Creates a silence, or updates the one named by `id`; refused with 400
    /// past `server.limits.max_silences` unless it updates a live silence.
    func create(_ body: Data) throws(APIError) -> PostSilenceResponse {
        let silence = try APIJSON.postableSilence(body, limits: limits)
        let now = runtime.clock.now()
        let previous = silence.id.isEmpty ? nil : runtime.silencer.silence(id: silence.id)
        if limits.maxSilences > 0 {
            let updatesLive = previous.map { $0.state(at: now) != .expired } ?? false
            let held = runtime.silencer.count(at: now).values.reduce(0, +)
            if !updatesLive && held >= limits.maxSilences {
                throw APIError(.badRequest, "too many silences: \(held) held, expired ones included (limit: \(limits.maxSilences), server.limits.max_silences); expired silences are removed after their retention")
            }
        }
        let effect = MuteChange(runtime: runtime, silences: [silence] + (previous.map { [$0] } ?? []), at: now)
        do throws(SilenceError) {
            let id = try runtime.silencer.upsert(silence, now: now)
            effect.publish(at: now)
            return PostSilenceResponse(silenceID: id)
        } catch {
            throw APIError(error)
        }
    }

    /// Expires a silence; one already expired is no error (Alertmanager answers 200).
    func expire(id: String) throws(APIError) {
        let now = runtime.clock.now()
        let effect = runtime.silencer.silence(id: id).map { MuteChange(runtime: runtime, silences: [$0], at: now) }
        do throws(SilenceError) {
            try runtime.silencer.expire(id: id, now: now)
            effect?.publish(at: now)
        } catch where error.kind == .alreadyExpired {
            // The silence is expired, as asked.
        } catch {
            throw APIError(error)
        }
    }
}

/// The firing alerts a silence write may mute or unmute, with whether each
/// was muted by a silence before the write; `publish` compares with after and
/// publishes `silenced` / `unsilenced` for those that changed
/// (docs/ARCHITECTURE.md, Control plane). Only the alerts the written
/// silences match are looked at and copied (a filtered store read), so a
/// write costs one pass over the firing alerts and copies only the matches.
struct MuteChange {
    private let runtime: Alerter
    private let candidates: [Alert]
    private let mutedBefore: [Bool]

    init(runtime: Alerter, silences: [Silence], at now: Date) {
        self.runtime = runtime
        guard runtime.stateEvents != nil else {
            candidates = []
            mutedBefore = []
            return
        }
        candidates = runtime.store.activeAlerts { alert in silences.contains { $0.matches(alert.labels) } }.sorted { $0.fingerprint < $1.fingerprint }
        mutedBefore = candidates.map { !runtime.silencer.mutes($0.labels, at: now).isEmpty }
    }

    func publish(at now: Date) {
        guard let events = runtime.stateEvents else { return }
        for (alert, wasMuted) in zip(candidates, mutedBefore) {
            let mutedBy = runtime.silencer.mutes(alert.labels, at: now)
            if !wasMuted && !mutedBy.isEmpty {
                events.publish(alert, change: .silenced, silencedBy: mutedBy, at: now)
            } else if wasMuted && mutedBy.isEmpty {
                events.publish(alert, change: .unsilenced, at: now)
            }
        }
    }
}
