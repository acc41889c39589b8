/// A string-valued enum decoded strictly: a value outside its cases is an error naming them
/// ("\"Near\" is not In, NotIn, Exists or DoesNotExist"), never a silent default.
public protocol StrictChoice: RawRepresentable, CaseIterable, Codable where RawValue == String {}

extension StrictChoice {
    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let value = Self(rawValue: text) else {
            let names = Self.allCases.map(\.rawValue)
            let choices = names.count > 1 ? names.dropLast().joined(separator: ", ") + " or " + names.last! : names.joined()
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "\"\(text.prefix(64))\" is not \(choices)"))
        }
        self = value
    }
}
