/// A topic with `{gateway}`, `{device}` and `{bus}` placeholders (and `{point}` in a point's own
/// topic), checked once at load.
public struct TopicTemplate: Sendable, Hashable {
    public static let defaultDeviceTopic = "fieldlink/{gateway}/{device}"
    public static let placeholders = ["gateway", "device", "bus"]
    public static let pointPlaceholders = placeholders + ["point"]

    public let text: String

    /// Nil and a reason when the template cannot produce a valid MQTT publish topic.
    public static func validate(_ text: String, placeholders: [String] = TopicTemplate.placeholders) -> String? {
        if text.isEmpty { return "topic must not be empty" }
        if text.contains("+") || text.contains("#") { return "a publish topic cannot contain the wildcards + or #" }
        if text.unicodeScalars.contains("\0") { return "a topic cannot contain NUL" }
        if let reason = lengthProblem(text) { return reason }
        var rest = Substring(text)
        while let open = rest.firstIndex(of: "{") {
            guard let close = rest[open...].firstIndex(of: "}") else { return "unclosed \"{\" in topic" }
            let name = rest[rest.index(after: open)..<close]
            if !placeholders.contains(String(name)) {
                return "unknown placeholder {\(name)} (expected one of \(placeholders.map { "{\($0)}" }.joined(separator: ", ")))"
            }
            rest = rest[rest.index(after: close)...]
        }
        if rest.contains("}") { return "unmatched \"}\" in topic" }
        return nil
    }

    /// Why a topic is too long for MQTT (its length is two bytes on the wire), or nil.
    public static func lengthProblem(_ topic: String) -> String? {
        let bytes = topic.utf8.count
        return bytes > ConfigLimits.topicBytes ? "the topic is \(bytes) bytes long; MQTT allows at most \(ConfigLimits.topicBytes)" : nil
    }

    public init?(_ text: String, placeholders: [String] = TopicTemplate.placeholders) {
        guard Self.validate(text, placeholders: placeholders) == nil else { return nil }
        self.text = text
    }

    public func render(gateway: String, device: String, bus: String, point: String = "") -> String {
        text.replacingLiterally("{gateway}", with: gateway)
            .replacingLiterally("{device}", with: device)
            .replacingLiterally("{bus}", with: bus)
            .replacingLiterally("{point}", with: point)
    }
}
