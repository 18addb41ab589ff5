#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif

// `gateway:`: who this gateway is and where it keeps its state.
extension DocumentReader {
    func readGateway(_ value: ConfigValue) -> GatewayConfig? {
        guard var map = value.mapping() else { return nil }
        let id = name(map.required("id"))
        let stateDirectory = map.optional("state_dir").flatMap { $0.filePath() } ?? GatewayConfig.defaultStateDirectory
        map.rejectUnknownKeys()
        guard let id else { return nil }
        return GatewayConfig(id: id, stateDirectory: stateDirectory)
    }
}
