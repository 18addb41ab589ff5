#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif

// `payload:` and `sparkplug:`: how messages are encoded, and the Sparkplug B edge node.
extension DocumentReader {
    /// `sparkplug: {group_id, edge_node_id, data_qos}`; the ids become topic levels, so MQTT's
    /// separators and wildcards are refused in them.
    func readSparkplug(_ value: ConfigValue, gatewayID: String?) -> SparkplugConfig? {
        guard var map = value.mapping() else { return nil }
        func identifier(_ value: ConfigValue?) -> String? {
            guard let value, let text = value.nonEmptyString() else { return nil }
            if let bad = text.first(where: { "/+#".contains($0) }) {
                return value.fail("\"\(text)\" must not contain \"\(bad)\" (it is one level of a Sparkplug topic)")
            }
            return text
        }
        let group = identifier(map.required("group_id"))
        let node = map.optional("edge_node_id").map(identifier) ?? gatewayID
        let qos = map.optional("data_qos")?.int(in: SparkplugConfig.dataQoSRange) ?? SparkplugConfig.defaultDataQoS
        map.rejectUnknownKeys()
        guard let group, let node else { return nil }
        return SparkplugConfig(groupID: group, edgeNodeID: node, dataQoS: qos)
    }
}
