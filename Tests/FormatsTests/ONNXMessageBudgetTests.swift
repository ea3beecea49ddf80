import Testing
import Formats

/// Files of tiny messages are refused before swift-protobuf decodes them (issue 7).
@Suite struct ONNXMessageBudgetTests {
    private static func varint(_ value: Int) -> [UInt8] {
        var n = UInt64(value), out: [UInt8] = []
        repeat {
            out.append(UInt8(n & 0x7F) | (n >= 0x80 ? 0x80 : 0))
            n >>= 7
        } while n > 0
        return out
    }

    private static func field(_ number: Int, _ payload: [UInt8]) -> [UInt8] {
        varint(number << 3 | 2) + varint(payload.count) + payload
    }

    private static func number(_ field: Int, _ value: Int) -> [UInt8] {
        varint(field << 3) + varint(value)
    }

    /// An If whose branches are Ifs, 2^depth subgraphs in 32 bytes of file each: decoded and
    /// imported, 37 bytes of memory per byte of file (measured at depth 21).
    static func ifTree(depth: Int) -> [UInt8] {
        let output = field(12, field(1, Array("y".utf8)))
        var tree = output
        for _ in 0..<depth {
            func branch(_ name: String) -> [UInt8] { field(1, Array(name.utf8)) + number(20, 5) + field(6, tree) }
            let node = field(1, Array("c".utf8)) + field(2, Array("y".utf8)) + field(4, Array("If".utf8))
                + field(5, branch("then_branch")) + field(5, branch("else_branch"))
            tree = field(1, node) + output
        }
        let condition = field(11, field(1, Array("c".utf8)) + field(2, field(1, number(1, 9))))
        return number(1, 8) + field(7, tree + condition) + field(8, number(2, 17))
    }

    @Test func anIfTreeBeyondThirtyTwoBytesPerByteIsRefused() throws {
        let scratch = try ReaderTestSupport.Scratch()
        // 4 MB: its estimate is past both 32 bytes per byte and the 64 MiB floor.
        let path = try scratch.write(Self.ifTree(depth: 16), to: "tree.onnx")
        let error = #expect(throws: FormatError.self) { try ONNXModelReader.read(path) }
        #expect(error?.path == path)
        #expect(error?.description.contains("32 per byte of file") == true, "\(String(describing: error))")
    }

    @Test func aSmallIfTreeIsRead() throws {
        let scratch = try ReaderTestSupport.Scratch()
        let path = try scratch.write(Self.ifTree(depth: 6), to: "tree.onnx")
        #expect(try ONNXModelReader.read(path).model.graph.node.count == 1)
    }
}
