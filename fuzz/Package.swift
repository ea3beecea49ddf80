// swift-tools-version: 6.1
// libFuzzer targets for the readers of XNORKit. A package of its own, so that the main
// package's `swift build` never sees executables without a `main`: tools/fuzz builds these
// with `--sanitize fuzzer -Xswiftc -sanitize=fuzzer,address`, which links libFuzzer's driver
// as `main`.
import PackageDescription

let package = Package(
    name: "XNORKitFuzz",
    dependencies: [
        .package(name: "XNORKit", path: ".."),
    ],
    targets: [
        .target(
            name: "FuzzSupport",
            dependencies: [
                .product(name: "Formats", package: "XNORKit"),
                .product(name: "Graph", package: "XNORKit"),
                .product(name: "Tensors", package: "XNORKit"),
                .product(name: "Tokenizers", package: "XNORKit"),
            ]
        ),
        // Builds, compiles and runs LLM graphs: what the LLM targets hold of every model they accept.
        .target(
            name: "FuzzLLMSupport",
            dependencies: [
                .product(name: "Formats", package: "XNORKit"),
                .product(name: "Graph", package: "XNORKit"),
                .product(name: "Models", package: "XNORKit"),
                .product(name: "Runtime", package: "XNORKit"),
            ]
        ),
        .executableTarget(name: "FuzzGGUF", dependencies: ["FuzzSupport", .product(name: "Formats", package: "XNORKit")]),
        .executableTarget(name: "FuzzSafetensors", dependencies: ["FuzzSupport", .product(name: "Formats", package: "XNORKit")]),
        .executableTarget(name: "FuzzJSON", dependencies: ["FuzzSupport", .product(name: "Formats", package: "XNORKit")]),
        .executableTarget(name: "FuzzNpy", dependencies: ["FuzzSupport", .product(name: "Formats", package: "XNORKit"), .product(name: "Tensors", package: "XNORKit")]),
        .executableTarget(name: "FuzzONNX", dependencies: ["FuzzSupport", .product(name: "Formats", package: "XNORKit"), .product(name: "Graph", package: "XNORKit")]),
        .executableTarget(name: "FuzzGraphJSON", dependencies: ["FuzzSupport", .product(name: "Formats", package: "XNORKit"), .product(name: "Graph", package: "XNORKit"), .product(name: "Tensors", package: "XNORKit")]),
        .executableTarget(name: "FuzzHFFolder", dependencies: ["FuzzSupport", .product(name: "Formats", package: "XNORKit")]),
        .executableTarget(name: "FuzzZstd", dependencies: ["FuzzSupport", .product(name: "Formats", package: "XNORKit")]),
        .executableTarget(name: "FuzzPromptIDs", dependencies: ["FuzzSupport", .product(name: "Formats", package: "XNORKit")]),
        .executableTarget(name: "FuzzLLMConfig", dependencies: ["FuzzSupport", "FuzzLLMSupport", .product(name: "Formats", package: "XNORKit"), .product(name: "Models", package: "XNORKit"), .product(name: "Tensors", package: "XNORKit")]),
        .executableTarget(name: "FuzzGGUFModel", dependencies: ["FuzzSupport", "FuzzLLMSupport", .product(name: "Formats", package: "XNORKit"), .product(name: "Models", package: "XNORKit"), .product(name: "Tensors", package: "XNORKit")]),
        .executableTarget(name: "FuzzXNORModel", dependencies: ["FuzzSupport", "FuzzLLMSupport", .product(name: "Formats", package: "XNORKit"), .product(name: "XNORLoader", package: "XNORKit"), .product(name: "Runtime", package: "XNORKit"), .product(name: "Tensors", package: "XNORKit")]),
        .executableTarget(name: "FuzzTokenizerGGUF", dependencies: ["FuzzSupport", .product(name: "Tokenizers", package: "XNORKit")]),
        .executableTarget(name: "FuzzTokenizerJSON", dependencies: ["FuzzSupport", .product(name: "Tokenizers", package: "XNORKit")]),
        .executableTarget(name: "FuzzTokenizerModel", dependencies: ["FuzzSupport", .product(name: "Tokenizers", package: "XNORKit")]),
    ]
)
