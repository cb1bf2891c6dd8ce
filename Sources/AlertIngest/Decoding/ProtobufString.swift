import AlertCore

/// A protobuf `string` field as protobuf-c leaves it (a NUL-terminated C
/// string, or nil when absent), which must be valid UTF-8: protobuf-c 1.4
/// does not check, so both decoders do it here.
enum ProtobufString {
    @inline(__always)
    static func read(_ pointer: UnsafeMutablePointer<CChar>?, _ field: @autoclosure () -> String) throws(EventRejection) -> String {
        guard let pointer, pointer.pointee != 0 else { return "" }
        guard let value = String(validatingCString: pointer) else {
            throw EventRejection(.invalidUTF8, "\(field()) is not valid UTF-8")
        }
        return value
    }
}
