import Tensors

/// A JSON document, with object keys kept in their file order.
///
/// Order matters twice: safetensors tensors are listed in header order, and `inspect --json`
/// must print the same bytes for the same file.
/// Not `indirect`: arrays and objects hold their elements in array storage already, so each
/// scalar stays inline instead of in a box of its own (a 60 MB metadata array printed by
/// `inspect --json` took one heap box per element).
public enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    case int(Int64)
    case uint(UInt64)
    case double(Double)
    /// A float32 value, written with float32's shortest round-trip digits.
    case float(Float)
    case string(String)
    case array([JSONValue])
    /// An array whose items are made as they are written or read: a reader that holds an array
    /// compactly (a GGUF metadata array of 6·10⁷ bytes) is printed by `inspect --json` without
    /// 24 bytes per item of `JSONValue`s. Equal to the `.array` of the same items.
    case lazyArray(JSONLazyArray)
    case object([(String, JSONValue)])

    public static func == (a: JSONValue, b: JSONValue) -> Bool {
        switch (a, b) {
        case (.null, .null): true
        case let (.bool(x), .bool(y)): x == y
        case let (.int(x), .int(y)): x == y
        case let (.uint(x), .uint(y)): x == y
        case let (.double(x), .double(y)): x == y || (x.isNaN && y.isNaN)
        case let (.float(x), .float(y)): x == y || (x.isNaN && y.isNaN)
        case let (.string(x), .string(y)): x == y
        case let (.array(x), .array(y)): x == y
        case (.lazyArray, .array), (.array, .lazyArray), (.lazyArray, .lazyArray): a.arrayValue == b.arrayValue
        case let (.object(x), .object(y)): x.count == y.count && zip(x, y).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        default: false
        }
    }

    public subscript(key: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        return members.first { $0.0 == key }?.1
    }

    public var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    /// The value as a non-negative integer, when it is one exactly.
    public var nonNegativeInt: Int? {
        switch self {
        case .int(let v): v >= 0 ? Int(v) : nil
        case .uint(let v): Checked.int(v)
        default: nil
        }
    }

    public var arrayValue: [JSONValue]? {
        switch self {
        case .array(let items): items
        case .lazyArray(let lazy): (0..<lazy.count).map(lazy.item)
        default: nil
        }
    }

    public var objectValue: [(String, JSONValue)]? {
        if case .object(let o) = self { return o }
        return nil
    }

    /// A short name of the JSON kind, for error messages.
    public var kindName: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .int, .uint, .double, .float: "a number"
        case .string: "a string"
        case .array, .lazyArray: "an array"
        case .object: "an object"
        }
    }
}

/// The items of a `.lazyArray`: `count` of them, item `i` made by `item(i)`.
public struct JSONLazyArray: Sendable {
    public let count: Int
    /// Whether no item is an array or an object (the writer keeps such arrays on one line).
    public let itemsAreScalars: Bool
    public let item: @Sendable (Int) -> JSONValue

    public init(count: Int, itemsAreScalars: Bool, item: @escaping @Sendable (Int) -> JSONValue) {
        self.count = count
        self.itemsAreScalars = itemsAreScalars
        self.item = item
    }
}
