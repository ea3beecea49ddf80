import Formats

/// What an .onnx file says about itself, beside its graph: for `inspect`, and for the
/// `xnor.source.*` facts a converted file records.
public struct ONNXModelInfo: Sendable {
    public var path: String
    /// nil when the file does not set it.
    public var irVersion: Int64?
    public var producerName: String
    public var producerVersion: String
    public var domain: String
    public var modelVersion: Int64?
    public var docString: String
    /// In file order, domains as written ("" and "ai.onnx" both mean the default domain).
    public var opsetImports: [(domain: String, version: Int64)]
    public var metadataProps: [(key: String, value: String)]
    /// Model-local functions, as "domain:name"; the graph IR does not expand them.
    public var functions: [String]
    /// Where each initializer of the main graph keeps its data, in initializer order.
    public var tensorSources: [(name: String, source: ONNXTensor.Source)]

    public func source(ofTensor name: String) -> ONNXTensor.Source? {
        tensorSources.first { $0.name == name }?.source
    }
}
