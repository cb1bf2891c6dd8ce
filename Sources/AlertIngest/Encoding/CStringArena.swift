import Foundation

/// C copies of Swift strings for a protobuf-c message being packed: the
/// message borrows them; `free()` (in a `defer`, so they outlive packing)
/// releases them all.
struct CStringArena {
    private var owned: [UnsafeMutablePointer<CChar>] = []

    mutating func copy(_ string: String) -> UnsafeMutablePointer<CChar> {
        let pointer = strdup(string)!
        owned.append(pointer)
        return pointer
    }

    mutating func free() {
        owned.forEach { Foundation.free($0) }
        owned = []
    }
}
