import Foundation
import Testing
import Formats

/// The header's JSON grammar held to safetensors itself: tools/gen_fixtures.py wrote each
/// header at an edge of the grammar (escapes, surrogates, numbers, nesting, whitespace, UTF-8)
/// with what safetensors 0.8 (serde_json) made of it; SafetensorsReader must agree on every
/// one, accepting the same names and metadata or refusing with a FormatError.
@Suite struct SafetensorsHeaderGrammarTests {
    struct Case: Decodable, CustomTestStringConvertible, Sendable {
        var name: String
        var headerBase64: String
        var dataBytes: Int
        var accepted: Bool
        var tensors: [String]?
        var metadata: [String: String]?

        enum CodingKeys: String, CodingKey {
            case name, accepted, tensors, metadata
            case headerBase64 = "header_base64"
            case dataBytes = "data_bytes"
        }

        var testDescription: String { name }
    }

    static let cases: [Case] = {
        let path = ReaderTestSupport.fixture("safetensors/header-grammar.json")
        guard let data = FileManager.default.contents(atPath: path),
              let cases = try? JSONDecoder().decode([Case].self, from: data) else { return [] }
        return cases
    }()

    @Test func theFixtureIsThere() {
        #expect(Self.cases.count > 50)
    }

    @Test(arguments: cases) func agreesWithSafetensors(_ grammar: Case) throws {
        let scratch = try ReaderTestSupport.Scratch()
        let header = try #require(Data(base64Encoded: grammar.headerBase64))
        var bytes = withUnsafeBytes(of: UInt64(header.count).littleEndian) { Array($0) }
        bytes += Array(header) + [UInt8](repeating: 0, count: grammar.dataBytes)
        let path = try scratch.write(bytes, to: "t.safetensors")
        if grammar.accepted {
            let model = try SafetensorsReader.read(try MappedFile.open(path))
            #expect(model.tensors.map(\.name).sorted() == grammar.tensors)
            let metadata = Dictionary(model.metadata.map { ($0.key, $0.value.stringValue ?? "?") }, uniquingKeysWith: { $1 })
            #expect(metadata == (grammar.metadata ?? [:]))
        } else {
            let error = #expect(throws: FormatError.self) { try SafetensorsReader.read(try MappedFile.open(path)) }
            #expect(error?.path == path)
        }
    }
}
