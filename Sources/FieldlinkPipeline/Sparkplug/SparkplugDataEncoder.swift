import FieldlinkCore
import FieldlinkPayload

/// A Sparkplug device's DDATA, as the pipeline's encoder. A device that was declared dead is
/// born again first: its DBIRTH goes to `emit` before the data is returned, so it is queued ahead.
///
/// The batch of a Sparkplug device is one DDATA: protobuf messages concatenated are one message
/// whose repeated `metrics` are joined, each metric keeping its own timestamp.
public struct SparkplugDataEncoder: PayloadEncoder {
    let node: SparkplugEdgeNode
    let emit: @Sendable (OutboundMessage) -> Void

    public init(node: SparkplugEdgeNode, emit: @escaping @Sendable (OutboundMessage) -> Void) {
        self.node = node
        self.emit = emit
    }

    public var contentType: String { SparkplugEncoding.contentType }

    public func encode(_ reading: Reading) -> [UInt8] {
        let (birth, data) = node.messages(for: reading)
        if let birth { emit(birth) }
        return data
    }

    public func encode(batch readings: [Reading]) -> [UInt8] {
        readings.flatMap(encode)
    }

    /// An estimate without encoding (encoding updates the node's last values): a metric is at most
    /// alias, timestamp and an 8-byte value, about 24 bytes with its framing.
    public func batchSize(of reading: Reading) -> Int {
        16 + 24 * (reading.values.count + 1) + reading.errors.reduce(0) { $0 + 40 + $1.reason.utf8.count }
    }
}
