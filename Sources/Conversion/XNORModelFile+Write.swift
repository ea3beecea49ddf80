import Formats
import BitPacking
import Graph
import Tensors
import XNORLoader

extension XNORModelFile {
    /// Writes `packed` to `path` atomically; `replace` allows overwriting.
    @discardableResult
    public static func write(_ packed: PackedGraph, name: String, mode: ConversionMode, source: XNORSource,
                             to path: String, replace: Bool, architecture: String? = nil,
                             metadata: [(String, GGUFMetadataValue)] = []) throws -> GGUFWriter.Summary {
        let output = try AtomicFileWriter(path: path, replace: replace)
        let summary = try write(packed, name: name, mode: mode, source: source, into: output, architecture: architecture, metadata: metadata)
        try output.commit()
        return summary
    }

    /// Writes `packed` into `output` without committing it (the command commits it with its
    /// other outputs).
    @discardableResult
    public static func write(_ packed: PackedGraph, name: String, mode: ConversionMode, source: XNORSource,
                             into output: AtomicFileWriter, architecture: String? = nil,
                             metadata: [(String, GGUFMetadataValue)] = []) throws -> GGUFWriter.Summary {
        var writer = XNORWriter(name: name, mode: mode.rawValue, graph: packed.graph.json(), source: source,
                                architecture: architecture ?? XNORWriter.graphArchitecture)
        for (key, value) in metadata { writer.addMetadata(key, value) }
        for tensor in packed.graph.initializers {
            let constant = tensor
            // Packed ternary codes keep their stored form, U8 [N/4, K] as I8; the graph JSON
            // holds the weight's shape and γ.
            let (type, shape) = constant.packedTernary != nil && constant.shape.count == 2
                ? (GGMLType.i8, [constant.shape[0] / 4, constant.shape[1]])
                : (constant.blockType ?? storageType(constant.elementType), constant.shape)
            writer.addTensor(name: constant.name, type: type, shape: shape,
                             payload: .stream { sink in try constant.withBytes { try sink.write($0) } })
        }
        for weightName in packed.weights.keys.sorted() {
            guard let weights = packed.weights[weightName] else { continue }
            let format = weights.format, traits = format.traits
            for (index, plane) in traits.planeNames(format).enumerated() {
                writer.addTensor(name: planeTensorName(weightName, plane: plane), type: .i64, shape: [weights.n, weights.rowStrideWords],
                                 payload: .stream { sink in try weights.withPlaneBytes(index) { try sink.write($0) } })
            }
            let scaleType: GGMLType = traits.scaleType == .float16 ? .f16 : .f32
            writer.addTensor(name: scaleTensorName(weightName), type: scaleType, shape: traits.scaleShape(format, weights.n, weights.k),
                             payload: .stream { sink in try weights.withScaleBytes { try sink.write($0) } })
            if traits.offsetCount(format, weights.n, weights.k) > 0 {
                writer.addTensor(name: offsetTensorName(weightName), type: scaleType, shape: [weights.n, format.groupCount(k: weights.k)],
                                 payload: .stream { sink in try weights.withOffsetBytes { try sink.write($0) } })
            }
            if format.hasSalientColumns {
                for index in 0..<format.salientPlanes {
                    writer.addTensor(name: salientPlaneTensorName(weightName, plane: index), type: .i64,
                                     shape: [weights.n, weights.salientRowStrideWords],
                                     payload: .stream { sink in try weights.withSalientPlaneBytes(index) { try sink.write($0) } })
                }
                writer.addTensor(name: salientScaleTensorName(weightName), type: .f16, shape: [format.salientPlanes, weights.n],
                                 payload: .stream { sink in try weights.withSalientScaleBytes { try sink.write($0) } })
                writer.addTensor(name: salientColumnTensorName(weightName), type: .i32, shape: [format.salientColumns],
                                 payload: .stream { sink in try weights.withSalientColumnBytes { try sink.write($0) } })
            }
        }
        return try writer.write(into: output)
    }
}
