/// CRC-32C (Castagnoli, polynomial 0x1EDC6F41 reflected as 0x82F63B78), as in iSCSI and ext4:
/// better at catching the burst errors of flash storage than CRC-32, and the record checksum of the ring.
/// Slicing-by-8: eight bytes per table round.
public enum CRC32C {
    private static let tables: [[UInt32]] = {
        var tables = [[UInt32]](repeating: [UInt32](repeating: 0, count: 256), count: 8)
        for byte in 0..<256 {
            var crc = UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0x82F6_3B78 : crc >> 1 }
            tables[0][byte] = crc
        }
        for byte in 0..<256 {
            for slice in 1..<8 {
                let previous = tables[slice - 1][byte]
                tables[slice][byte] = (previous >> 8) ^ tables[0][Int(previous & 0xFF)]
            }
        }
        return tables
    }()

    /// The checksum of `bytes`, continuing from `crc` (pass the result of a previous call to chain).
    public static func checksum<Bytes: Collection>(_ bytes: Bytes, continuing crc: UInt32 = 0) -> UInt32 where Bytes.Element == UInt8 {
        let t = tables
        var crc = ~crc
        var iterator = bytes.makeIterator()
        var remaining = bytes.count
        while remaining >= 8 {
            let b0 = iterator.next()!, b1 = iterator.next()!, b2 = iterator.next()!, b3 = iterator.next()!
            let b4 = iterator.next()!, b5 = iterator.next()!, b6 = iterator.next()!, b7 = iterator.next()!
            let low = crc ^ (UInt32(b0) | UInt32(b1) << 8 | UInt32(b2) << 16 | UInt32(b3) << 24)
            crc = t[7][Int(low & 0xFF)] ^ t[6][Int((low >> 8) & 0xFF)] ^ t[5][Int((low >> 16) & 0xFF)] ^ t[4][Int(low >> 24)]
                ^ t[3][Int(b4)] ^ t[2][Int(b5)] ^ t[1][Int(b6)] ^ t[0][Int(b7)]
            remaining -= 8
        }
        while let byte = iterator.next() {
            crc = (crc >> 8) ^ t[0][Int((crc ^ UInt32(byte)) & 0xFF)]
        }
        return ~crc
    }
}
