import Testing
@testable import FieldlinkSerial

/// Every framing fed whole, byte by byte and in odd chunks must cut the same frames (the swift-nio
/// ByteToMessageDecoderVerifier idea); noise counts are summed, since chunking may split them.
private func events(_ input: [UInt8], framing: Framing, maxLength: Int = 64, chunks: [Int]) -> [String] {
    var splitter = FrameSplitter(framing: framing, maxLength: maxLength)
    var out: [String] = []
    var offset = 0
    var turn = 0
    var noise = 0
    func flushNoise() {
        if noise > 0 { out.append("noise \(noise)") }
        noise = 0
    }
    while offset < input.count {
        let size = min(chunks[turn % chunks.count], input.count - offset)
        splitter.append(input[offset..<offset + size][...])
        offset += size
        turn += 1
        while let event = splitter.next() {
            switch event {
            case .frame(let frame):
                flushNoise()
                out.append(String(decoding: frame, as: UTF8.self))
            case .oversized:
                flushNoise()
                out.append("oversized")
            case .noise(let count): noise += count
            }
        }
    }
    #expect(splitter.pendingCount <= maxLength + (chunks.max() ?? 0))
    flushNoise()
    return out
}

private func verify(_ text: String, framing: Framing, maxLength: Int = 64, expected: [String]) {
    let input = Array(text.utf8)
    for chunks in [[input.count], [1], [3, 7, 2, 13], [5], [11, 1]] {
        #expect(events(input, framing: framing, maxLength: maxLength, chunks: chunks) == expected, "chunks \(chunks)")
    }
}

@Suite struct FrameSplitterTests {
    @Test(.timeLimit(.minutes(1))) func linesCutAtNewline() {
        verify("a=1\nb=2\n\nlast", framing: .line(delimiter: [0x0A]), expected: ["a=1", "b=2", ""])
    }

    @Test(.timeLimit(.minutes(1))) func crlfDelimiterKeepsLoneCRAndLF() {
        verify("one\r\ntwo\rstill two\nstill\r\nthree\r\n", framing: .line(delimiter: Array("\r\n".utf8)),
               expected: ["one", "two\rstill two\nstill", "three"])
    }

    @Test(.timeLimit(.minutes(1))) func carriageReturnDelimiter() {
        verify("R 12.5\rR 13.0\r", framing: .line(delimiter: [0x0D]), expected: ["R 12.5", "R 13.0"])
    }

    @Test(.timeLimit(.minutes(1))) func multiByteDelimiter() {
        verify("x<END>yy<EN<END>z<END>", framing: .line(delimiter: Array("<END>".utf8)), expected: ["x", "yy<EN", "z"])
    }

    @Test(.timeLimit(.minutes(1))) func overLongLineIsDroppedWholeAndFramingResumes() {
        let long = String(repeating: "G", count: 200)
        verify("ok1\n\(long)\nok2\n", framing: .line(delimiter: [0x0A]), maxLength: 64, expected: ["ok1", "oversized", "ok2"])
    }

    @Test(.timeLimit(.minutes(1))) func lineOfExactlyMaxLengthPasses() {
        let exact = String(repeating: "a", count: 16)
        verify("\(exact)\n", framing: .line(delimiter: [0x0A]), maxLength: 16, expected: [exact])
    }

    @Test(.timeLimit(.minutes(1))) func endlessLineHoldsBoundedMemory() {
        var splitter = FrameSplitter(framing: .line(delimiter: Array("\r\n".utf8)), maxLength: 100)
        var oversized = 0
        var largest = 0
        for _ in 0..<10_000 {
            splitter.append(ArraySlice(repeating: UInt8(ascii: "x"), count: 97))
            while let event = splitter.next() { if event == .oversized { oversized += 1 } }
            largest = max(largest, splitter.pendingCount)
        }
        #expect(largest <= 100 + 97)
        #expect(oversized == 1)
        splitter.append(Array("\r\nnext\r\n".utf8)[...])
        #expect(splitter.next() == .frame(Array("next".utf8)[...]))
    }

    @Test(.timeLimit(.minutes(1))) func fixedLength() {
        verify("ABCDEFGHIJK", framing: .fixed(length: 4), expected: ["ABCD", "EFGH"])
    }

    @Test(.timeLimit(.minutes(1))) func startEndSkipsNoise() {
        verify("junk\u{02}T21.5\u{03}\u{00}\u{02}H40\u{03}", framing: .delimited(start: [0x02], end: [0x03]),
               expected: ["noise 4", "T21.5", "noise 1", "H40"])
    }

    @Test(.timeLimit(.minutes(1))) func startEndWithMultiByteMarkers() {
        verify("<<a>>xx<<b>", framing: .delimited(start: Array("<<".utf8), end: Array(">>".utf8)),
               expected: ["a", "noise 2"])
    }

    @Test(.timeLimit(.minutes(1))) func startEndOverLongFrameIsDroppedAndNextStartFound() {
        let long = String(repeating: "z", count: 100)
        verify("[\(long)][ok]", framing: .delimited(start: Array("[".utf8), end: Array("]".utf8)), maxLength: 32,
               expected: ["oversized", "ok"])
    }
}
