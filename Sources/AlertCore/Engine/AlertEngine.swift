public import struct Foundation.Date
public import Logging
import Synchronization

/// Alertmanager's semantics over the alert store: routes alerts into
/// aggregation groups, runs each group's timers, and on every flush applies
/// inhibition, silences, time intervals and the notification-log dedup
/// decision, producing `Notification`s for the notifiers.
///
/// Time only comes in as arguments (`apply(_:at:)`, `advance(to:)`), so the
/// same code runs on the wall clock in the service and on a virtual clock in
/// tests. Not thread-safe: one task owns the engine; the store, silencer and
/// notification log it shares are thread-safe themselves.
public final class AlertEngine {
    public let store: AlertStore
    public let silencer: Silencer
    public let notificationLog: NotificationLog
    public private(set) var configuration: EngineConfiguration
    public private(set) var dispatcher: Dispatcher
    private var inhibitor: Inhibitor
    private var nextStaleScan: Date?
    /// The alerts the last `advance` resolved by their resolve timeout
    /// (for the state-change events, docs/ARCHITECTURE.md, Control plane).
    public private(set) var lastTimedOut: [Alert] = []
    private var nextGarbageCollection: Date?
    private let logger: Logger
    /// Receives alert transitions for the state store, when there is one.
    public let journal: StateJournal?
    /// Group and mute counts for the metrics, readable from any thread.
    public let gauges: EngineGauges

    /// How often firing alerts are checked against their resolve timeout.
    public var staleScanInterval: Duration = .seconds(5)
    /// How often resolved alerts, expired silences and old log entries are collected.
    public var garbageCollectionInterval: Duration = .seconds(60)

    public init(
        configuration: EngineConfiguration,
        store: AlertStore,
        silencer: Silencer = Silencer(),
        notificationLog: NotificationLog = NotificationLog(),
        journal: StateJournal? = nil,
        logger: Logger = Logger(label: "nats-alerter.engine"),
        gauges: EngineGauges = EngineGauges()
    ) {
        self.gauges = gauges
        self.journal = journal
        self.configuration = configuration
        self.store = store
        self.silencer = silencer
        self.notificationLog = notificationLog
        self.logger = logger
        self.dispatcher = Dispatcher(root: Route(root: configuration.route))
        self.inhibitor = Inhibitor(rules: configuration.inhibitRules)
        for alert in store.activeAlerts() {
            inhibitor.alertFired(alert.fingerprint, labels: alert.labels)
        }
    }

    // MARK: Input

    /// Takes the store's transitions (new alerts, resolves) into the groups.
    public func apply(_ transitions: [AlertTransition], at now: Date) {
        for transition in transitions {
            switch transition {
            case .fired(let alert):
                inhibitor.alertFired(alert.fingerprint, labels: alert.labels)
                dispatcher.insert(alert, now: now)
                journal?.append(.alertUpserted(alert))
            case .resolved(let alert):
                inhibitor.alertResolved(alert.fingerprint)
                dispatcher.insert(alert, now: now)
                journal?.append(.alertUpserted(alert))
            case .duplicate, .resolveOfUnknown, .refusedAtCapacity, .staleFiring:
                break
            }
        }
        gauges.groups.store(dispatcher.groups.count, ordering: .relaxed)
    }

    /// Puts alerts already in the store into groups (after a restart that
    /// rebuilt the store, or for alerts created outside `apply`).
    public func adopt(_ alerts: [Alert], at now: Date) {
        for alert in alerts {
            if alert.isFiring { inhibitor.alertFired(alert.fingerprint, labels: alert.labels) }
            dispatcher.insert(alert, now: now)
        }
        // Recomputed from the groups: the gauges may be an earlier engine's
        // (EngineHost.readopt hands them on).
        gauges.reset(groups: dispatcher.groups.values)
    }

    // MARK: Time

    /// Runs everything due by `now`, in time order: resolve timeouts, group
    /// flushes (each evaluated at its own scheduled time, as Alertmanager's
    /// timers do), garbage collection. Returns the notifications to send.
    public func advance(to now: Date) -> [Notification] {
        lastTimedOut = []
        if nextStaleScan.map({ $0 <= now }) ?? true {
            // A pass over every firing alert, every `staleScanInterval`: the
            // timeout is looked up per alert only when some alert type has its own.
            let configuration = self.configuration
            let stale = configuration.resolveTimeoutByAlertType.isEmpty
                ? store.resolveStale(now: now) { _ in configuration.resolveTimeout }
                : store.resolveStale(now: now) { configuration.resolveTimeout(for: $0) }
            lastTimedOut = stale
            if !stale.isEmpty {
                logger.debug("alerts resolved by timeout", metadata: ["count": .stringConvertible(stale.count)])
            }
            apply(stale.map(AlertTransition.resolved), at: now)
            nextStaleScan = now.addingTimeInterval(staleScanInterval.seconds)
        }
        var notifications: [Notification] = []
        // Every group due, in time order; again while a flush left one due
        // (a clock that jumped past several group intervals).
        var due = dispatcher.takeDueGroups(by: now)
        while !due.isEmpty {
            for (key, at) in due {
                notifications.append(contentsOf: flush(groupKey: key, at: at))
            }
            due = dispatcher.takeDueGroups(by: now)
        }
        if nextGarbageCollection.map({ $0 <= now }) ?? true {
            let forgotten = store.collectGarbage(now: now, retention: configuration.resolvedRetention)
            journal?.append(contentsOf: forgotten.map(StateChange.alertRemoved))
            notificationLog.collectGarbage(now: now)
            silencer.collectGarbage(at: now, retention: configuration.silenceRetention)
            nextGarbageCollection = now.addingTimeInterval(garbageCollectionInterval.seconds)
        }
        gauges.groups.store(dispatcher.groups.count, ordering: .relaxed)
        return notifications
    }

    /// When `advance` next has something to do.
    public var nextDeadline: Date? {
        [dispatcher.nextFlush, nextStaleScan, nextGarbageCollection].compactMap { $0 }.min()
    }

    // MARK: Configuration

    /// Swaps in a new configuration. Alerts, silences and the notification
    /// log are untouched; groups whose key survives keep their timers.
    public func reload(_ configuration: EngineConfiguration, at now: Date) {
        self.configuration = configuration
        inhibitor = Inhibitor(rules: configuration.inhibitRules)
        let active = store.activeAlerts()
        for alert in active {
            inhibitor.alertFired(alert.fingerprint, labels: alert.labels)
        }
        dispatcher.replaceRoot(Route(root: configuration.route), alerts: active + store.resolvedAlerts(), now: now)
        gauges.reset(groups: dispatcher.groups.values)
    }

    /// The routes (and so receivers) an alert with these labels reaches.
    public func routes(for labels: LabelSet) -> [Route] {
        dispatcher.root.match(labels)
    }

    /// Why an alert is muted right now, if it is.
    public func marks(for alert: Alert, at now: Date) -> (silencedBy: [String], inhibitedBy: [Fingerprint]) {
        (silencer.mutes(alert.labels, at: now), inhibitor.inhibitors(of: alert.labels, fingerprint: alert.fingerprint))
    }

    public var groups: [AggregationGroup] { dispatcher.allGroups }

    /// How many aggregation groups exist (without copying or sorting them).
    public var groupCount: Int { dispatcher.groups.count }

    // MARK: The pipeline

    /// Flushes one group: the group is taken out of the dispatcher while it
    /// is worked on, so nothing copies its member table, and each member's
    /// alert is read from the store once, straight into the notification
    /// (docs/ARCHITECTURE.md, "Aggregation groups").
    private func flush(groupKey: String, at now: Date) -> [Notification] {
        guard var group = dispatcher.takeGroup(groupKey) else { return [] }
        group.scheduleNext(after: now)
        let notifications = notificationsFor(group: &group, at: now)
        group.removeResolved()
        if group.isEmpty { gauges.forget(group.mutedAtLastFlush) }
        dispatcher.putBack(group)
        return notifications
    }

    /// The alert a member stands for, as the store has it now (latest
    /// annotations and repeat count) when it is the same incarnation in the
    /// same state; else as the group knows it: a resolved member as it was
    /// inserted, a firing one as the store's alert with the group's start
    /// and no end (the store has moved on by a transition the engine has not
    /// applied yet). Nil only for a firing member the store no longer holds,
    /// which cannot happen: the store forgets only resolved alerts, and their
    /// resolve reaches the group first.
    private func current(_ fingerprint: Fingerprint, startsAt: Date, in group: AggregationGroup) -> Alert? {
        let latest = store.alert(fingerprint)
        if let resolved = group.resolvedMember(fingerprint) {
            guard let latest, latest.startsAt == resolved.startsAt, !latest.isFiring else { return resolved }
            return latest
        }
        guard var latest else { return nil }
        if latest.isFiring && latest.startsAt == startsAt { return latest }
        latest.startsAt = startsAt
        latest.endsAt = nil
        return latest
    }

    /// Alertmanager's pipeline for one group: the mute and time-interval
    /// stages once for the receiver, then, per integration (Alertmanager's
    /// `createReceiverStage`), the dedup stage against that integration's
    /// own notification-log entry with its own `send_resolved`.
    ///
    /// One pass over the members in fingerprint order sorts each alert into
    /// kept firing, kept resolved and muted resolved; each integration's
    /// notification shares those arrays (copy on write), so a flush of a
    /// million alerts copies each alert once.
    private func notificationsFor(group: inout AggregationGroup, at now: Date) -> [Notification] {
        let route = group.route
        let receiver = route.receiver

        // Time-interval stages.
        if route.muteTimeIntervals.contains(where: { configuration.timeIntervals[$0]?.contains(now) == true }) {
            return []
        }
        if !route.activeTimeIntervals.isEmpty,
           !route.activeTimeIntervals.contains(where: { configuration.timeIntervals[$0]?.contains(now) == true }) {
            return []
        }

        // Mute stages: inhibition, then silences (Alertmanager's order).
        var keptFiring: [NotifiedAlert] = []
        var keptResolved: [NotifiedAlert] = []
        var mutedResolved: [NotifiedAlert] = []
        var muted = AggregationGroup.MutedCount()
        let order = group.flushOrder()
        keptFiring.reserveCapacity(order.count - group.resolvedMembers.count)
        for (fingerprint, startsAt) in order {
            guard let alert = current(fingerprint, startsAt: startsAt, in: group) else { continue }
            let inhibitedBy = inhibitor.inhibitors(of: alert.labels, fingerprint: alert.fingerprint)
            let silencedBy = silencer.mutes(alert.labels, at: now)
            if inhibitedBy.isEmpty && silencedBy.isEmpty {
                if alert.isFiring {
                    keptFiring.append(NotifiedAlert(alert: alert))
                } else {
                    keptResolved.append(NotifiedAlert(alert: alert))
                }
            } else if alert.isFiring {
                if !silencedBy.isEmpty { muted.silenced += 1 }
                if !inhibitedBy.isEmpty { muted.inhibited += 1 }
            } else if route.sendResolvedWhenMuted {
                mutedResolved.append(NotifiedAlert(alert: alert, silencedBy: silencedBy, inhibitedBy: inhibitedBy))
            }
        }
        gauges.replace(group.mutedAtLastFlush, with: muted)
        group.mutedAtLastFlush = muted

        let policy = configuration.receivers[receiver]
        let integrations: [IntegrationPolicy?] = (policy?.integrations.isEmpty ?? true) ? [nil] : policy!.integrations.map { $0 }
        let firingSet = Set(keptFiring.lazy.map(\.alert.fingerprint))
        let keptResolvedSet = Set(keptResolved.lazy.map(\.alert.fingerprint))
        var notifications: [Notification] = []
        for integration in integrations {
            let name = integration?.name ?? ""
            let sendResolved = integration?.sendResolved ?? policy?.sendResolved ?? true
            let entry = notificationLog.entry(receiver: receiver, integration: name, groupKey: group.key)
            // The integration was told these alerts fire; tell it that they ended (Alertmanager #226).
            let toldResolved = mutedResolved.filter { entry?.firing.contains($0.alert.fingerprint) == true }
            let resolved = toldResolved.isEmpty ? keptResolved : keptResolved + toldResolved
            guard !keptFiring.isEmpty || !resolved.isEmpty else { continue }

            // Dedup stage against this integration's notification log entry.
            let resolvedSet = toldResolved.isEmpty ? keptResolvedSet : keptResolvedSet.union(toldResolved.lazy.map(\.alert.fingerprint))
            guard Self.needsUpdate(entry: entry, firing: firingSet, resolved: resolvedSet, sendResolved: sendResolved,
                                   repeatInterval: route.repeatInterval, now: now) else {
                continue
            }
            notificationLog.log(receiver: receiver, integration: name, groupKey: group.key, firing: firingSet, resolved: resolvedSet,
                                at: now, keepWhileFiring: route.repeatInterval == .never)
            if !sendResolved && keptFiring.isEmpty {
                // Logged so the resolves are not reconsidered, but nothing to send.
                continue
            }
            notifications.append(Notification(
                receiver: receiver, integration: integration?.name, groupKey: group.key, groupLabels: group.labels,
                firing: keptFiring, resolved: resolved, sendResolved: sendResolved, timestamp: now, previous: entry?.timestamp,
                previousLogEntry: entry
            ))
        }
        return notifications
    }

    /// Alertmanager's DedupStage decision.
    static func needsUpdate(
        entry: NotificationLogEntry?, firing: Set<Fingerprint>, resolved: Set<Fingerprint>,
        sendResolved: Bool, repeatInterval: RepeatInterval, now: Date
    ) -> Bool {
        // Never notified: only if something fires (alerts that fired and
        // resolved before the first flush are never notified).
        guard let entry else { return !firing.isEmpty }
        // Something fires that was not firing last time.
        if !entry.isFiringSuperset(of: firing) { return true }
        // Everything resolved: notify if the receiver was told something fired.
        if firing.isEmpty { return !entry.firing.isEmpty }
        if sendResolved && !entry.isResolvedSuperset(of: resolved) { return true }
        // Nothing changed: only when the repeat interval has passed.
        switch repeatInterval {
        case .never: return false
        case .every(let interval): return entry.timestamp.addingTimeInterval(interval.seconds) <= now
        }
    }
}
