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
        let stateValue = map.optional("state_dir")
        let stateDirectory = stateValue.flatMap { $0.filePath() } ?? GatewayConfig.defaultStateDirectory
        // A file in the way is a config mistake (named here, at the key); a missing or unwritable
        // directory is the machine's state, which check and run report with what to do.
        if let stateValue, case .success(false) = FileAccess.isDirectory(stateDirectory) {
            stateValue.report("\(stateDirectory) is a file, not a directory: state_dir names the directory fieldlink keeps its ring and sequence numbers in")
        }
        map.rejectUnknownKeys()
        guard let id else { return nil }
        return GatewayConfig(id: id, stateDirectory: stateDirectory)
    }
}
