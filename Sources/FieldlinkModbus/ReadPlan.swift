/// Points of one device grouped into as few read requests as the protocol allows.
///
/// Points are sorted per table and merged while the span stays within the per-request limit and the
/// unused registers between two points stay within `maxGap`.
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

    public init(spans: [Span], maxGap: Int) {
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
                    if span.address - end <= maxGap, newEnd - request.address <= limit {
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
}
