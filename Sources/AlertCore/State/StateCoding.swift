public import Foundation

/// The JSON coders for everything nats-alerter writes to JetStream (state
/// records, outbox messages). Non-finite numbers are written as the strings
/// "+Inf", "-Inf" and "NaN" (Prometheus' spelling) instead of failing the
/// encoding: ingest already drops them from events, and no value from
/// outside may ever make a record unwritable.
public enum StateCoding {
    public static func encoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "+Inf", negativeInfinity: "-Inf", nan: "NaN")
        return encoder
    }

    public static func decoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "+Inf", negativeInfinity: "-Inf", nan: "NaN")
        return decoder
    }
}
