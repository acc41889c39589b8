import Foundation

/// The JSON of Weft's state files (tokens, controller.json): sorted keys, readable,
/// ISO 8601 dates.
extension JSONEncoder {
    public static var weft: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        encoder.dateEncodingStrategy = .iso8601
        return encoder
    }
}

extension JSONDecoder {
    public static var weft: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }
}
