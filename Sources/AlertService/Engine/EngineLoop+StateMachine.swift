import AlertCore
import AlertIngest
import Foundation

extension EngineLoop {
    /// The engine loop's phases and what it holds between steps. One lock
    /// around it (readiness is read by the HTTP API); the methods decide and
    /// return what the loop should do, and the loop does it outside the lock.
    struct StateMachine {
        enum Phase: Equatable {
            /// State restored; subscriptions not up yet.
            case loading
            /// High availability: another instance owns the partition; this
            /// one serves the API and waits to take over.
            case standby
            case running
            /// Shutting down: subscriptions drained, deliveries winding down.
            case draining
            case stopped
        }

        private(set) var phase = Phase.loading
        /// Events whose effect is not recorded yet: acked after the next
        /// successful state write, never before.
        private var heldAcknowledgements: [any Acknowledgeable] = []
        /// Notifications decided but not handed to the sink yet (the state
        /// store or the outbox was down).
        private var heldNotifications: [AlertCore.Notification] = []

        /// Waiting to own the partition: false when the loop was already stopped.
        mutating func standby() -> Bool {
            guard phase == .loading else { return false }
            phase = .standby
            return true
        }

        /// This instance owns the partition now; it subscribes next.
        mutating func owner() -> Bool {
            guard phase == .standby else { return false }
            phase = .loading
            return true
        }

        /// Subscriptions are up: false when the loop was already stopped.
        mutating func subscribed() -> Bool {
            guard phase == .loading else { return false }
            phase = .running
            return true
        }

        /// Shutdown begins; false when it already began.
        mutating func beginDraining() -> Bool {
            guard phase == .loading || phase == .running || phase == .standby else { return false }
            phase = .draining
            return true
        }

        mutating func stopped() {
            phase = .stopped
        }

        /// What one step works on: the events held from earlier steps and
        /// this batch's, the held notifications and this step's, in order.
        mutating func beginStep(acknowledgements: [any Acknowledgeable], notifications: [AlertCore.Notification])
            -> (acknowledgements: [any Acknowledgeable], notifications: [AlertCore.Notification]) {
            defer { heldAcknowledgements = []; heldNotifications = [] }
            return (heldAcknowledgements + acknowledgements, heldNotifications + notifications)
        }

        /// The step could not finish: keep its events unacknowledged and its
        /// unsubmitted notifications for the next step.
        mutating func hold(acknowledgements: [any Acknowledgeable], notifications: ArraySlice<AlertCore.Notification>) {
            heldAcknowledgements = acknowledgements + heldAcknowledgements
            heldNotifications = Array(notifications) + heldNotifications
        }

        var heldCount: (acknowledgements: Int, notifications: Int) { (heldAcknowledgements.count, heldNotifications.count) }

        /// `/-/ready`, as far as the loop knows.
        var readiness: (ready: Bool, reason: String) {
            switch phase {
            case .loading: (false, "state not loaded yet")
            case .standby: (true, "standby: another instance is active; this one can take over")
            case .running: (true, "ready")
            case .draining, .stopped: (false, "shutting down")
            }
        }
    }
}
