public import struct Foundation.Date

/// Where the engine gets the time. Production uses `SystemWallClock`; tests
/// inject a virtual clock so timing logic runs without sleeping.
public protocol WallClock: Sendable {
    func now() -> Date
}

public struct SystemWallClock: WallClock {
    public init() {}
    public func now() -> Date { Date() }
}
