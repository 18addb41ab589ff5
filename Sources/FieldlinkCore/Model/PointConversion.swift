/// Why a point read fine off the wire but has no value to publish.
public struct ConversionError: Error, Sendable, Equatable, CustomStringConvertible {
    public var description: String

    public init(_ description: String) {
        self.description = description
    }
}

/// A point's last step from the decoded raw value to the published one, shared by every family.
///
/// Status registers publish words (`map:`), not numbers a reader must look up in the manual; every
/// other value is scaled, offset and rounded (`LinearTransform`). A value that is not a finite number
/// is an error, since JSON has no way to say NaN.
public struct PointConversion: Sendable, Hashable {
    public var transform: LinearTransform
    /// Raw integer (a bool counts as 0 or 1) to label; nil publishes numbers.
    public var labels: [Int64: String]?

    public init(transform: LinearTransform = .identity, labels: [Int64: String]? = nil) {
        self.transform = transform
        self.labels = labels
    }

    /// A raw value the map has no label for is an error naming the value, not the bare number: a
    /// field that is sometimes a word and sometimes a number breaks every consumer that reads it.
    public func apply(_ raw: Value) -> Result<Value, ConversionError> {
        if let labels {
            let key: (Int64?, String)? = switch raw {
            case .int(let integer): (integer, "\(integer)")
            case .uint(let integer): (Int64(exactly: integer), "\(integer)")
            case .bool(let bit): (bit ? 1 : 0, "\(bit)")
            // A text sensor's `ST=1` parses as a number: a whole one is a status code like any other.
            case .double(let number): Int64(exactly: number).map { ($0, "\($0)") }
            case .string: nil
            }
            guard let (number, text) = key else { return .failure(ConversionError("map: \(raw) is not an integer")) }
            guard let label = number.flatMap({ labels[$0] }) else {
                let known = labels.keys.sorted().map(String.init).joined(separator: ", ")
                return .failure(ConversionError("raw value \(text) is not in the point's map (mapped: \(known))"))
            }
            return .success(.string(label))
        }
        let value = transform.apply(raw)
        if case .double(let number) = value, !number.isFinite {
            return .failure(ConversionError("not a finite number (\(number))"))
        }
        return .success(value)
    }
}
