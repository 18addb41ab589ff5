#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif

// `metrics:`: the Prometheus textfile.
extension DocumentReader {
    func readMetrics(_ value: ConfigValue?) -> MetricsConfig? {
        guard let value, var map = value.mapping() else { return nil }
        let file = map.required("textfile")
        let path = file?.filePath()
        if let file, let path, path.hasSuffix("/") || !path.hasSuffix(".prom") {
            file.report("\"\(path)\" should be a file ending in .prom: node_exporter's textfile collector reads only *.prom")
        }
        let interval = map.optional("interval")?.duration(minimum: MetricsConfig.minimumInterval) ?? MetricsConfig.defaultInterval
        map.rejectUnknownKeys()
        guard let path else { return nil }
        return MetricsConfig(textfile: path, interval: interval)
    }
}
