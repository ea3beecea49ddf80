// swift-tools-version: 6.1
import PackageDescription

// Linux only: the file and memory code calls Glibc (O_TMPFILE, madvise, statfs), so no Apple
// platform is declared.
let package = Package(
    name: "XNORKit",
    products: [
        .executable(name: "xnor", targets: ["xnor"]),
        .library(name: "Tensors", targets: ["Tensors"]),
        .library(name: "Formats", targets: ["Formats"]),
        // For the fuzz package (fuzz/), which links the graph JSON and the ONNX importer, and
        // builds, loads and runs LLM graphs (config.json, GGUF hyper-parameters, .xnor files).
        .library(name: "Graph", targets: ["Graph"]),
        .library(name: "Models", targets: ["Models"]),
        .library(name: "Conversion", targets: ["Conversion"]),
        .library(name: "Runtime", targets: ["Runtime"]),
        // Opens .xnor models for running, without the rewrite pass (fuzz/, a later server).
        .library(name: "XNORLoader", targets: ["XNORLoader"]),
        // The LLM conventions, decode loop, sampling and perplexity the CLI and a later server share.
        .library(name: "Generation", targets: ["Generation"]),
        .library(name: "Tokenizers", targets: ["Tokenizers"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        // xnor serve: the HTTP server, its graceful drain on SIGTERM, request logs and metrics.
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
    ],
    targets: [
        .systemLibrary(name: "CZstd", pkgConfig: "libzstd", providers: [.apt(["libzstd-dev"])]),
        // The float32 products of SessionOptions.floatProducts = .fast and calibration's Σ xᵀx:
        // Debian's OpenBLAS (libopenblas0), opened at first use (openblas_loader.c says why).
        .target(name: "COpenBLAS", linkerSettings: [.linkedLibrary("dl")]),
        .target(name: "Tensors"),
        .target(
            name: "Formats",
            dependencies: [
                "Tensors", "CZstd",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        .target(name: "Graph", dependencies: ["Tensors", "Formats"]),
        .target(name: "Tokenizers", dependencies: ["Formats", "Tensors"]),
        // The kernels in C, one path per instruction set chosen at run time: the popcount
        // products (BitPacking's Swift products are their reference), the dot products of
        // weights kept in a block type, and the thread pool that splits them.
        .target(name: "CKernels"),
        .target(name: "BitPacking", dependencies: ["Tensors", "CKernels"]),
        .target(name: "XNORLoader", dependencies: ["Graph", "BitPacking", "Formats", "Tensors"]),
        .target(name: "Conversion", dependencies: ["XNORLoader", "Graph", "BitPacking", "Formats", "Tensors"]),
        .target(name: "Models", dependencies: ["Graph", "Formats", "Tensors"]),
        .target(name: "Runtime", dependencies: ["Graph", "BitPacking", "Tensors", "COpenBLAS", "CKernels"]),
        .target(name: "Generation", dependencies: ["Runtime", "Graph", "Tensors"]),
        .target(name: "Calibration", dependencies: ["Generation", "Runtime", "Graph", "BitPacking", "Tokenizers", "Formats", "Tensors", "COpenBLAS"]),
        .target(name: "Verify", dependencies: ["Generation", "Runtime", "XNORLoader", "Graph", "BitPacking", "Formats", "Tensors"]),
        // The OpenAI-compatible HTTP server over one compiled model; it knows no file format
        // (the CLI opens the model and hands it over).
        .target(
            name: "Server",
            dependencies: [
                "Generation", "Runtime", "BitPacking", "Tokenizers", "Graph", "Tensors",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        .executableTarget(
            name: "xnor",
            dependencies: [
                "Tensors", "Formats", "Graph", "BitPacking", "XNORLoader", "Conversion", "Runtime", "Generation", "Verify", "Models", "Tokenizers", "Calibration", "Server",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(name: "TensorsTests", dependencies: ["Tensors"]),
        .testTarget(name: "FormatsTests", dependencies: ["TestSupport", "Formats", "Tensors"]),
        .testTarget(name: "GraphTests", dependencies: ["TestSupport", "Graph", "Formats", "Tensors"]),
        .testTarget(name: "BitPackingTests", dependencies: ["TestSupport", "BitPacking", "Formats", "Tensors"]),
        .testTarget(name: "ConversionTests", dependencies: ["TestSupport", "Conversion", "XNORLoader", "Runtime", "Graph", "BitPacking", "Formats", "Tensors"]),
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .testTarget(name: "ModelsTests", dependencies: ["TestSupport", "Models", "Verify", "XNORLoader", "Runtime", "Conversion", "Graph", "BitPacking", "Formats", "Tensors"]),
        .testTarget(name: "RuntimeTests", dependencies: ["TestSupport", "Runtime", "Graph", "BitPacking", "Formats", "Tensors", "COpenBLAS"]),
        .testTarget(name: "GenerationTests", dependencies: ["TestSupport", "Generation", "Models", "Runtime", "Formats"]),
        .testTarget(name: "VerifyTests", dependencies: ["TestSupport", "Verify", "XNORLoader", "Runtime", "Conversion", "Graph", "BitPacking", "Formats", "Tensors"]),
        .testTarget(name: "CalibrationTests", dependencies: ["TestSupport", "Calibration", "Conversion", "Generation", "Models", "BitPacking", "Runtime", "Graph", "Tokenizers", "Formats", "Tensors"]),
        .testTarget(name: "ServerTests", dependencies: ["TestSupport", "Server", "Generation", "Runtime", "Tokenizers", "Graph", "Tensors"]),
        .testTarget(name: "TokenizersTests", dependencies: ["Tokenizers", "Formats", "TestSupport"]),
    ]
)
