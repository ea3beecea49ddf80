import Graph

/// Typed access to a node's attributes, refusing any attribute the kernel does not know.
///
/// Made once when the kernel is set up, so an unsupported attribute is an error before the
/// graph runs rather than a value silently ignored.
public struct AttributeReader {
    public let node: Node

    /// Fails when the node has an attribute outside `allowed`.
    public init(_ node: Node, allowed: Set<String>) throws {
        self.node = node
        for (name, _) in node.attributes where !allowed.contains(name) {
            throw OpError("attribute '\(name)' is not supported")
        }
    }

    public func has(_ name: String) -> Bool { node.attribute(name) != nil }

    public func int(_ name: String) throws -> Int? {
        guard let value = node.attribute(name) else { return nil }
        guard case .int(let v) = value else { throw mismatch(name, "an int", value) }
        return Int(v)
    }

    public func int(_ name: String, default fallback: Int) throws -> Int {
        try int(name) ?? fallback
    }

    public func float(_ name: String) throws -> Float? {
        guard let value = node.attribute(name) else { return nil }
        guard case .float(let v) = value else { throw mismatch(name, "a float", value) }
        return v
    }

    public func float(_ name: String, default fallback: Float) throws -> Float {
        try float(name) ?? fallback
    }

    /// A float attribute that must be a finite number: the graph JSON of a file can spell
    /// "NaN" and "Infinity", and a hyper-parameter such as an epsilon or a scale that is not
    /// finite turns every output into NaN.
    public func finiteFloat(_ name: String) throws -> Float? {
        guard let value = try float(name) else { return nil }
        guard value.isFinite else { throw OpError("attribute '\(name)' is \(value), not a finite number") }
        return value
    }

    public func finiteFloat(_ name: String, default fallback: Float) throws -> Float {
        try finiteFloat(name) ?? fallback
    }

    /// A list of floats every one of which must be finite.
    public func finiteFloats(_ name: String) throws -> [Float]? {
        guard let values = try floats(name) else { return nil }
        if let index = values.firstIndex(where: { !$0.isFinite }) {
            throw OpError("attribute '\(name)' holds \(values[index]) at index \(index), not a finite number")
        }
        return values
    }

    public func string(_ name: String) throws -> String? {
        guard let value = node.attribute(name) else { return nil }
        guard case .string(let v) = value else { throw mismatch(name, "a string", value) }
        return v
    }

    public func ints(_ name: String) throws -> [Int]? {
        guard let value = node.attribute(name) else { return nil }
        guard case .ints(let v) = value else { throw mismatch(name, "a list of ints", value) }
        return v.map { Int($0) }
    }

    public func floats(_ name: String) throws -> [Float]? {
        guard let value = node.attribute(name) else { return nil }
        guard case .floats(let v) = value else { throw mismatch(name, "a list of floats", value) }
        return v
    }

    public func tensor(_ name: String) throws -> ConstantTensor? {
        guard let value = node.attribute(name) else { return nil }
        guard case .tensor(let v) = value else { throw mismatch(name, "a tensor", value) }
        return v
    }

    /// A flag attribute: absent gives `fallback`, otherwise 0 or 1.
    public func flag(_ name: String, default fallback: Bool) throws -> Bool {
        guard let v = try int(name) else { return fallback }
        guard v == 0 || v == 1 else { throw OpError("attribute '\(name)' must be 0 or 1, got \(v)") }
        return v == 1
    }

    private func mismatch(_ name: String, _ expected: String, _ value: AttributeValue) -> OpError {
        OpError("attribute '\(name)' must be \(expected), got \(value.kindName)")
    }
}

extension AttributeValue {
    var kindName: String {
        switch self {
        case .int: "an int"
        case .float: "a float"
        case .string: "a string"
        case .ints: "a list of ints"
        case .floats: "a list of floats"
        case .strings: "a list of strings"
        case .tensor: "a tensor"
        case .graph: "a graph"
        }
    }
}
