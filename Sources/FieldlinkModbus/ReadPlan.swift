/// Points of one device grouped into as few read requests as the protocol allows.
///
/// Points are sorted per table and merged while the span stays within the per-request limit and the
/// unused registers between two points stay within `maxGap`. Without merging (`merge: false`, or a
/// merged request the device rejected) each point is its own request.
public struct ReadPlan: Sendable, Equatable {
    public struct Request: Sendable, Equatable {
        public var table: ModbusTable
        public var address: Int
        public var count: Int
        /// Indices into the device's point list, with each point's offset inside this request.
        public var members: [Member]
    }

    public struct Member: Sendable, Equatable {
        public var point: Int
        public var offset: Int
    }

    public struct Span: Sendable {
        public var table: ModbusTable
        public var address: Int
        public var count: Int

        public init(table: ModbusTable, address: Int, count: Int) {
            self.table = table
            self.address = address
            self.count = count
        }
    }

    public var requests: [Request]

    /// One request per point, in table and address order.
    public static func unmerged(_ spans: [Span]) -> ReadPlan {
        ReadPlan(spans: spans, maxGap: 0, merge: false)
    }

    public init(spans: [Span], maxGap: Int, merge: Bool = true) {
        var requests: [Request] = []
        for table in ModbusTable.allCases {
            let limit = table.holdsBits ? ModbusLimits.maxBitsPerRead : ModbusLimits.maxRegistersPerRead
            let members = spans.indices.filter { spans[$0].table == table }
                .sorted { (spans[$0].address, $0) < (spans[$1].address, $1) }
            var current: Request?
            for index in members {
                let span = spans[index]
                if var request = current {
                    let end = request.address + request.count
                    let newEnd = max(end, span.address + span.count)
                    if merge, span.address - end <= maxGap, newEnd - request.address <= limit {
                        request.count = newEnd - request.address
                        request.members.append(Member(point: index, offset: span.address - request.address))
                        current = request
                        continue
                    }
                    requests.append(request)
                }
                current = Request(table: table, address: span.address, count: span.count,
                                  members: [Member(point: index, offset: 0)])
            }
            if let current { requests.append(current) }
        }
        self.requests = requests
    }

    /// The same reads with request `index` replaced by one request per point it covered: the fallback
    /// for a device that answers a merged read with "illegal data address".
    public func splitting(_ index: Int, spans: [Span]) -> ReadPlan {
        let pieces = ReadPlan.unmerged(requests[index].members.map { spans[$0.point] }).requests.map { piece in
            var piece = piece
            piece.members = piece.members.map { Member(point: requests[index].members[$0.point].point, offset: $0.offset) }
            return piece
        }
        var plan = self
        plan.requests.replaceSubrange(index...index, with: pieces)
        return plan
    }

    /// Whether request `index` could be split further (it reads more than one point, or more than its points).
    public func canSplit(_ index: Int) -> Bool {
        requests[index].members.count > 1
    }
}
