#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif

/// A command's payload as a user sends it: `{device}/set/{point}` takes one JSON scalar (`42.5`,
/// `true`, `"heat"`) or the same as plain text (`42.5`, `true`, `heat`); `{device}/set` takes a
/// JSON object of point names to scalars.
public enum CommandPayload {
    /// One value: JSON first, then plain text (a number, true/false, else the text itself).
    public static func scalar(_ payload: [UInt8]) -> Result<Value, ConversionError> {
        let text = String(String(decoding: payload, as: UTF8.self).drop { $0.isWhitespace }.reversed().drop { $0.isWhitespace }.reversed())
        guard !text.isEmpty else { return .failure(ConversionError("empty payload: send a value (42.5, true, \"heat\")")) }
        if let scalar = try? JSONDecoder().decode(Scalar.self, from: Data(text.utf8)) { return .success(scalar.value) }
        if text.first == "{" || text.first == "[" {
            return .failure(ConversionError("expected one value, not a JSON object or list (several points go to the device's set topic)"))
        }
        switch text {
        case "true": return .success(.bool(true))
        case "false": return .success(.bool(false))
        default: break
        }
        if let integer = Int64(text) { return .success(.int(integer)) }
        if let number = Double(text), number.isFinite { return .success(.double(number)) }
        return .success(.string(text))
    }

    /// Several points of one device, by name, in name order.
    public static func object(_ payload: [UInt8]) -> Result<[(point: String, value: Value)], ConversionError> {
        guard let object = try? JSONDecoder().decode([String: Scalar].self, from: Data(payload)) else {
            return .failure(ConversionError("expected a JSON object of point names and values, such as {\"setpoint\": 21.5, \"pump\": true}"))
        }
        guard !object.isEmpty else { return .failure(ConversionError("the object names no point")) }
        return .success(object.sorted { $0.key < $1.key }.map { ($0.key, $0.value.value) })
    }

    /// A JSON scalar: a bool stays a bool, a whole number an integer.
    private struct Scalar: Decodable {
        var value: Value

        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let bit = try? container.decode(Bool.self) {
                value = .bool(bit)
            } else if let integer = try? container.decode(Int64.self) {
                value = .int(integer)
            } else if let number = try? container.decode(Double.self) {
                value = .double(number)
            } else {
                value = .string(try container.decode(String.self))
            }
        }
    }
}

/// The answer to a command, as JSON: `{"ok":true,"point":"setpoint","value":21.5}` (the value read
/// back) or `{"ok":false,"point":"setpoint","error":"…"}`.
public enum CommandAnswer {
    public static func json(_ result: PointWriteResult) -> String {
        var fields = ["\"ok\":\(result.ok)", "\"point\":\(quoted(result.point))"]
        switch result.outcome {
        case .written(let readBack, let error):
            fields.append("\"value\":\(readBack.map(json) ?? "null")")
            if let error { fields.append("\"read_back_error\":\(quoted(error))") }
        case .refused(let reason): fields.append("\"error\":\(quoted(reason))")
        case .failed(let reason): fields.append("\"error\":\(quoted("failed at the device: \(reason)"))")
        }
        return "{\(fields.joined(separator: ","))}"
    }

    /// Several points' answers in one: `{"ok":<all ok>,"results":[…]}`.
    public static func json(_ results: [PointWriteResult]) -> String {
        "{\"ok\":\(results.allSatisfy { $0.ok }),\"results\":[\(results.map { json($0) }.joined(separator: ","))]}"
    }

    /// A command that could not even be read: `{"ok":false,"error":"…"}`.
    public static func json(error: String, point: String?) -> String {
        "{\"ok\":false,\(point.map { "\"point\":\(quoted($0))," } ?? "")\"error\":\(quoted(error))}"
    }

    static func json(_ value: Value) -> String {
        switch value {
        case .bool(let bit): "\(bit)"
        case .int(let integer): "\(integer)"
        case .uint(let integer): "\(integer)"
        case .double(let number): number.isFinite ? "\(number)" : "null"
        case .string(let text): quoted(text)
        }
    }

    static func quoted(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
