import FieldlinkCore

/// The values NMEA 0183 GGA and RMC sentences carry, by the names points use.
public enum NMEAField: String, Sendable, CaseIterable {
    /// Signed decimal degrees (south and west negative); GGA and RMC, only with a fix.
    case latitude, longitude
    /// Above mean sea level, metres (GGA, with a fix).
    case altitude
    /// Satellites used (GGA).
    case satellites
    /// 0 no fix, 1 GPS, 2 DGPS, 4 RTK fixed, 5 RTK float, 6 dead reckoning (GGA).
    case fixQuality = "fix_quality"
    /// Horizontal dilution of precision (GGA, with a fix).
    case hdop
    /// Speed over ground, knots (RMC, with a fix).
    case speed
    /// Course over ground, degrees true (RMC, with a fix and when moving).
    case course
    /// The fix's UTC date and time, ISO 8601 (RMC, with a fix).
    case time
}

/// NMEA 0183 sentences from a GNSS receiver (NMEA 0183 v4.11, sections 8.3.37 GGA and 8.3.80 RMC):
/// the checksum is verified, GGA and RMC from the GP, GN, GL and GA talkers are decoded, every
/// other sentence (GSV, GSA, VTG, TXT, ...) is ignored.
///
/// A receiver without a fix sends empty position fields (GGA quality 0, RMC status V); those
/// sentences give no position values, only what they do know (satellites, fix quality).
public struct NMEAParser: Sendable {
    /// Point indices per field (by `NMEAField` position), so a sentence writes straight into slots.
    private let slots: [[Int]]
    private let wantsTime: Bool
    /// Field start offsets of the sentence being parsed; reused, never reallocated.
    private var commas: [Int] = []
    /// What the last GGA or RMC said: a fix, none, or nothing yet. Lets a missing position read
    /// "no fix" instead of "not received".
    private(set) var hasFix: Bool?

    init(points: [ParserPoint]) {
        var slots = Array(repeating: [Int](), count: NMEAField.allCases.count)
        for (index, point) in points.enumerated() {
            if let field = point.field.flatMap(NMEAField.init(rawValue:)), let position = NMEAField.allCases.firstIndex(of: field) {
                slots[position].append(index)
            }
        }
        self.slots = slots
        wantsTime = !slots[NMEAField.allCases.firstIndex(of: .time)!].isEmpty
        commas.reserveCapacity(24)
    }

    private static let talkers: [(UInt8, UInt8)] = [(0x47, 0x50), (0x47, 0x4E), (0x47, 0x4C), (0x47, 0x41)]  // GP GN GL GA

    private func set(_ field: NMEAField, _ value: Value, into values: inout [Value?]) {
        let position = switch field {
        case .latitude: 0
        case .longitude: 1
        case .altitude: 2
        case .satellites: 3
        case .fixQuality: 4
        case .hdop: 5
        case .speed: 6
        case .course: 7
        case .time: 8
        }
        for index in slots[position] { values[index] = value }
    }

    mutating func parse(_ frame: ArraySlice<UInt8>, into values: inout [Value?]) -> ParseOutcome {
        var sentence = frame.trimmed()
        if sentence.first == UInt8(ascii: "$") { sentence = sentence.dropFirst() }
        guard let star = sentence.lastIndex(of: UInt8(ascii: "*")) else {
            return .failed("no checksum: \(frame.quoted)")
        }
        guard sentence.endIndex - star == 3, let high = Self.hex(sentence[star + 1]), let low = Self.hex(sentence[star + 2]) else {
            return .failed("malformed checksum: \(frame.quoted)")
        }
        var sum: UInt8 = 0
        for byte in sentence[sentence.startIndex..<star] {
            guard byte >= 0x20, byte < 0x7F, byte != UInt8(ascii: "$") else { return .failed("not an NMEA sentence: \(frame.quoted)") }
            sum ^= byte
        }
        guard sum == high << 4 | low else {
            return .failed("checksum mismatch (says \(Self.hexText(high << 4 | low)), bytes give \(Self.hexText(sum))): \(frame.quoted)")
        }
        let body = sentence[sentence.startIndex..<star]
        commas.removeAll(keepingCapacity: true)
        for index in body.indices where body[index] == UInt8(ascii: ",") { commas.append(index) }
        guard let firstComma = commas.first, firstComma - body.startIndex == 5 else { return .ignored }
        let talker = (body[body.startIndex], body[body.startIndex + 1])
        guard Self.talkers.contains(where: { $0 == talker }) else { return .ignored }
        let type = body[body.startIndex + 2..<firstComma]
        if type.elementsEqual("GGA".utf8) { return gga(body, into: &values) }
        if type.elementsEqual("RMC".utf8) { return rmc(body, into: &values) }
        return .ignored
    }

    /// Field `number` (1 = the first after the address), empty when the sentence is shorter.
    private func field(_ number: Int, of body: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        guard number - 1 < commas.count else { return body[body.endIndex...] }
        let start = commas[number - 1] + 1
        let end = number < commas.count ? commas[number] : body.endIndex
        return body[start..<end]
    }

    /// GGA: time, lat, N/S, lon, E/W, quality, satellites, HDOP, altitude, M, separation, M, age, station.
    private mutating func gga(_ body: ArraySlice<UInt8>, into values: inout [Value?]) -> ParseOutcome {
        guard commas.count >= 9 else { return .failed("GGA with \(commas.count) field(s), at least 9 expected: \(body.quoted)") }
        let qualityText = field(6, of: body)
        var quality: Int64 = 0
        if !qualityText.isEmpty {
            guard let parsed = DecimalText.integer(qualityText), parsed >= 0 else { return .failed("GGA fix quality \(qualityText.quoted)") }
            quality = parsed
            set(.fixQuality, .int(parsed), into: &values)
        }
        let satellitesText = field(7, of: body)
        if !satellitesText.isEmpty {
            guard let satellites = DecimalText.integer(satellitesText) else { return .failed("GGA satellites \(satellitesText.quoted)") }
            set(.satellites, .int(satellites), into: &values)
        }
        hasFix = quality > 0
        guard quality > 0 else { return .parsed }
        guard let latitude = Self.coordinate(field(2, of: body), hemisphere: field(3, of: body), degreeDigits: 2),
              let longitude = Self.coordinate(field(4, of: body), hemisphere: field(5, of: body), degreeDigits: 3) else {
            return .failed("GGA position unreadable: \(body.quoted)")
        }
        set(.latitude, .double(latitude), into: &values)
        set(.longitude, .double(longitude), into: &values)
        let hdopText = field(8, of: body)
        if !hdopText.isEmpty {
            guard let hdop = DecimalText.double(hdopText) else { return .failed("GGA HDOP \(hdopText.quoted)") }
            set(.hdop, .double(hdop), into: &values)
        }
        let altitudeText = field(9, of: body)
        if !altitudeText.isEmpty {
            guard let altitude = DecimalText.double(altitudeText) else { return .failed("GGA altitude \(altitudeText.quoted)") }
            set(.altitude, .double(altitude), into: &values)
        }
        return .parsed
    }

    /// RMC: time, status (A valid, V void), lat, N/S, lon, E/W, speed (knots), course, date (ddmmyy), ...
    private mutating func rmc(_ body: ArraySlice<UInt8>, into values: inout [Value?]) -> ParseOutcome {
        guard commas.count >= 9 else { return .failed("RMC with \(commas.count) field(s), at least 9 expected: \(body.quoted)") }
        hasFix = field(2, of: body).elementsEqual([UInt8(ascii: "A")])
        guard hasFix == true else { return .parsed }
        guard let latitude = Self.coordinate(field(3, of: body), hemisphere: field(4, of: body), degreeDigits: 2),
              let longitude = Self.coordinate(field(5, of: body), hemisphere: field(6, of: body), degreeDigits: 3) else {
            return .failed("RMC position unreadable: \(body.quoted)")
        }
        set(.latitude, .double(latitude), into: &values)
        set(.longitude, .double(longitude), into: &values)
        let speedText = field(7, of: body)
        if !speedText.isEmpty {
            guard let speed = DecimalText.double(speedText) else { return .failed("RMC speed \(speedText.quoted)") }
            set(.speed, .double(speed), into: &values)
        }
        let courseText = field(8, of: body)
        if !courseText.isEmpty {
            guard let course = DecimalText.double(courseText) else { return .failed("RMC course \(courseText.quoted)") }
            set(.course, .double(course), into: &values)
        }
        if wantsTime {
            guard let time = Self.isoTime(time: field(1, of: body), date: field(9, of: body)) else {
                return .failed("RMC time/date unreadable: \(body.quoted)")
            }
            set(.time, .string(time), into: &values)
        }
        return .parsed
    }

    /// `ddmm.mmmm` / `dddmm.mmmm` with N/S or E/W → signed decimal degrees, rounded to 1e-8° (about 1 mm).
    static func coordinate(_ text: ArraySlice<UInt8>, hemisphere: ArraySlice<UInt8>, degreeDigits: Int) -> Double? {
        guard text.count > degreeDigits + 1, hemisphere.count == 1,
              let degrees = DecimalText.integer(text.prefix(degreeDigits)),
              let minutes = DecimalText.double(text.dropFirst(degreeDigits)), minutes < 60 else { return nil }
        let sign: Double
        switch hemisphere.first! {
        case UInt8(ascii: "N"), UInt8(ascii: "E"): sign = 1
        case UInt8(ascii: "S"), UInt8(ascii: "W"): sign = -1
        default: return nil
        }
        let value = Double(degrees) + minutes / 60
        guard value <= (degreeDigits == 2 ? 90 : 180) else { return nil }
        return sign * (value * 1e8).rounded() / 1e8
    }

    /// `hhmmss.ss` + `ddmmyy` → `yyyy-mm-ddThh:mm:ss.ssZ`; two-digit years from 80 are 19xx (GPS began in 1980).
    static func isoTime(time: ArraySlice<UInt8>, date: ArraySlice<UInt8>) -> String? {
        guard time.count >= 6, date.count == 6,
              time.prefix(6).allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), date.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
        let t = Array(time), d = Array(date)
        func pair(_ bytes: [UInt8], _ at: Int) -> String { String(decoding: bytes[at..<at + 2], as: UTF8.self) }
        let fraction = time.count > 6 ? String(decoding: t[6...], as: UTF8.self) : ""
        let century = d[4] >= UInt8(ascii: "8") ? "19" : "20"
        return "\(century)\(pair(d, 4))-\(pair(d, 2))-\(pair(d, 0))T\(pair(t, 0)):\(pair(t, 2)):\(pair(t, 4))\(fraction)Z"
    }

    private static func hex(_ byte: UInt8) -> UInt8? {
        switch byte {
        case 0x30...0x39: byte - 0x30
        case 0x41...0x46: byte - 0x41 + 10
        case 0x61...0x66: byte - 0x61 + 10
        default: nil
        }
    }

    private static func hexText(_ byte: UInt8) -> String {
        (byte < 16 ? "0" : "") + String(byte, radix: 16, uppercase: true)
    }
}
