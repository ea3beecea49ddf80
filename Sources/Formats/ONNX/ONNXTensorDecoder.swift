import Foundation
import Tensors

/// A TensorProto's value as typed little-endian bytes, wherever the file kept them.
public struct ONNXTensor: Sendable {
    public enum Bytes: Sendable {
        /// A view into a mapped file: the .onnx file's raw_data, or an external data file.
        case mapped(MappedFile, offset: Int, byteCount: Int)
        /// Decoded from typed fields, or raw_data that swift-protobuf had already copied.
        case owned([UInt8])
    }

    /// Where the bytes came from, for `inspect`.
    public enum Source: Sendable, Equatable {
        /// raw_data at this absolute offset of the .onnx file.
        case rawData(offset: Int)
        /// An external file (location relative to the model's folder) at this offset.
        case external(location: String, offset: Int)
        /// raw_data of a nested tensor (an attribute or a subgraph's), position not tracked.
        case embeddedRawData
        /// A typed field such as float_data.
        case typedField(String)
    }

    public var name: String
    public var elementType: ScalarType
    /// Numpy order, outermost first.
    public var shape: [Int]
    public var bytes: Bytes
    public var source: Source

    public var byteCount: Int {
        switch bytes {
        case .mapped(_, _, let count): count
        case .owned(let owned): owned.count
        }
    }
}

/// Turns a TensorProto into typed bytes, enforcing onnx.proto's rules on which field holds
/// which type, and that the data is exactly as long as dims × element size.
public enum ONNXTensorDecoder {
    /// - Parameters:
    ///   - rawData: the range of the tensor's raw_data in `model.file`, when the reader kept
    ///     it there instead of letting swift-protobuf copy it.
    ///   - what: the tensor as error messages name it ("initializer 'w'").
    public static func decode(_ proto: Xnorkit_Onnx_TensorProto, rawData: Range<Int>? = nil,
                              model: ONNXModelFile, external: ONNXExternalData, what: String) throws -> ONNXTensor {
        func fail(_ message: String) -> FormatError {
            FormatError(path: model.path, location: .field(what), message)
        }
        guard let elementType = ONNXDataType.scalarType(proto.dataType) else {
            throw fail("data type \(ONNXDataType.name(proto.dataType)) is not supported")
        }
        guard !proto.hasSegment else { throw fail("segmented tensors are not supported") }
        var shape: [Int] = []
        shape.reserveCapacity(proto.dims.count)
        for dim in proto.dims {
            guard dim >= 0 else { throw fail("negative dimension \(dim) in dims \(proto.dims)") }
            shape.append(Int(dim))
        }
        guard let count = Checked.product(shape), let byteCount = Checked.multiply(count, elementType.byteSize) else {
            throw fail("dims \(proto.dims) overflow the element count")
        }

        let typedFields: [(name: String, count: Int)] = [
            ("float_data", proto.floatData.count), ("int32_data", proto.int32Data.count),
            ("string_data", proto.stringData.count), ("int64_data", proto.int64Data.count),
            ("double_data", proto.doubleData.count), ("uint64_data", proto.uint64Data.count),
        ].filter { $0.count > 0 }
        let hasRaw = rawData != nil || proto.hasRawData

        func tensor(_ bytes: ONNXTensor.Bytes, _ source: ONNXTensor.Source) -> ONNXTensor {
            ONNXTensor(name: proto.name, elementType: elementType, shape: shape, bytes: bytes, source: source)
        }

        switch proto.dataLocation {
        case .default:
            break
        case .external:
            if hasRaw || !typedFields.isEmpty {
                throw fail("has data_location EXTERNAL and also \(hasRaw ? "raw_data" : typedFields[0].name)")
            }
            let entries = proto.externalData.map { (key: $0.key, value: $0.value) }
            let location = try external.locate(entries, what: what, byteCount: byteCount)
            return tensor(.mapped(location.file, offset: location.offset, byteCount: location.byteCount),
                          .external(location: location.relativePath, offset: location.offset))
        }

        if hasRaw {
            if let other = typedFields.first { throw fail("has both raw_data and \(other.name)") }
            if let range = rawData {
                guard range.count == byteCount else { throw rawLengthError(range.count, byteCount, elementType, proto.dims, fail) }
                return tensor(.mapped(model.file, offset: range.lowerBound, byteCount: range.count), .rawData(offset: range.lowerBound))
            }
            guard proto.rawData.count == byteCount else {
                throw rawLengthError(proto.rawData.count, byteCount, elementType, proto.dims, fail)
            }
            return tensor(.owned([UInt8](proto.rawData)), .embeddedRawData)
        }

        let expected = typedField(for: elementType)
        if let other = typedFields.first(where: { $0.name != expected }) {
            throw fail("has \(other.name), but \(ONNXDataType.name(proto.dataType)) values belong in \(expected)")
        }
        let present = typedFields.first?.count ?? 0
        guard present == count else {
            throw fail(present == 0
                ? "has no data (no raw_data, \(expected) or external data) for \(count) elements"
                : "\(expected) has \(present) values, dims \(proto.dims) need \(count)")
        }
        return tensor(.owned(try typedBytes(proto, elementType, byteCount, fail)), .typedField(expected))
    }

    private static func rawLengthError(_ have: Int, _ need: Int, _ type: ScalarType, _ dims: [Int64],
                                       _ fail: (String) -> FormatError) -> FormatError {
        fail("raw_data has \(have) bytes, but dims \(dims) of \(type.rawValue) (\(type.byteSize) bytes each) need \(need)")
    }

    /// The TensorProto field onnx.proto assigns to each element type.
    static func typedField(for type: ScalarType) -> String {
        switch type {
        case .f32: "float_data"
        case .i64: "int64_data"
        case .f64: "double_data"
        case .u32, .u64: "uint64_data"
        case .bool, .u8, .i8, .u16, .i16, .i32, .f16, .bf16, .f8e4m3, .f8e5m2, .f8e8m0: "int32_data"
        }
    }

    /// The typed field's values as little-endian elements. Narrow types travel in int32_data;
    /// a value that does not fit its type (neither as a signed value nor as its bit pattern)
    /// is an error rather than silently wrapped.
    private static func typedBytes(_ proto: Xnorkit_Onnx_TensorProto, _ type: ScalarType, _ byteCount: Int,
                                   _ fail: (String) -> FormatError) throws -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(byteCount)
        func append<T: FixedWidthInteger>(_ value: T) {
            withUnsafeBytes(of: value.littleEndian) { out.append(contentsOf: $0) }
        }
        func narrow(_ bits: Int, range: ClosedRange<Int32>) throws {
            for (i, value) in proto.int32Data.enumerated() {
                guard range.contains(value) else {
                    throw fail("int32_data[\(i)] = \(value) does not fit \(type.rawValue)")
                }
                let word = UInt32(bitPattern: value)
                if bits == 8 { out.append(UInt8(truncatingIfNeeded: word)) } else { append(UInt16(truncatingIfNeeded: word)) }
            }
        }
        switch type {
        case .f32: for v in proto.floatData { append(v.bitPattern) }
        case .f64: for v in proto.doubleData { append(v.bitPattern) }
        case .i64: for v in proto.int64Data { append(v) }
        case .u64: for v in proto.uint64Data { append(v) }
        case .u32:
            for (i, v) in proto.uint64Data.enumerated() {
                guard let word = UInt32(exactly: v) else { throw fail("uint64_data[\(i)] = \(v) does not fit U32") }
                append(word)
            }
        case .i32: for v in proto.int32Data { append(v) }
        case .bool: try narrow(8, range: 0...1)
        case .i8, .u8, .f8e4m3, .f8e5m2, .f8e8m0: try narrow(8, range: -128...255)
        case .i16, .u16, .f16, .bf16: try narrow(16, range: -32768...65535)
        }
        return out
    }
}
