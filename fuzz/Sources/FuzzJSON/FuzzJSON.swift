import Formats

/// libFuzzer's entry point: the input as JSON text.
///
/// Beyond not crashing, whatever JSONParser accepts must survive a round trip through JSONWriter
/// (compact and indented) unchanged, since the .xnor graph and `inspect --json` are written
/// with it and read back with JSONParser.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJSON(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let value: JSONValue
    do {
        value = try JSONParser.parse(UnsafeRawBufferPointer(start: data, count: size))
    } catch {
        guard error is JSONParser.Failure else { fatalError("JSONParser threw \(type(of: error)): \(error)") }
        return 0
    }
    // JSON has no non-finite numbers; the writer spells them as strings on purpose.
    guard allNumbersFinite(value) else { return 0 }
    for indent in [nil, 2] as [Int?] {
        let text = JSONWriter(indent: indent).string(value)
        do {
            let again = try JSONParser.parse(text)
            guard again == value else {
                fatalError("JSON round trip changed the value (indent \(String(describing: indent))): \(text.prefix(400))")
            }
        } catch {
            fatalError("JSONWriter wrote text JSONParser refuses (\(error)): \(text.prefix(400))")
        }
    }
    return 0
}

private func allNumbersFinite(_ value: JSONValue) -> Bool {
    switch value {
    case .double(let d): d.isFinite
    case .float(let f): f.isFinite
    case .array(let items): items.allSatisfy(allNumbersFinite)
    case .object(let members): members.allSatisfy { allNumbersFinite($0.1) }
    default: true
    }
}
