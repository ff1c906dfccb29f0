// swift-tools-version:6.0
//
// An out-of-tree tracesnap plugin: a transform that drops the events of chosen functions.
// Built on its own (`swift build` in this directory); it depends on the main tracesnap package
// only for `TraceSnapPluginKit`. See docs/plugins.md.

import PackageDescription

let package = Package(
    name: "drop-functions",
    products: [
        // The plugin library: .build/debug/libdrop-functions.so
        .library(name: "drop-functions", type: .dynamic, targets: ["DropFunctions"]),
    ],
    dependencies: [
        .package(name: "tracesnap", path: "../../.."),
    ],
    targets: [
        .target(
            name: "DropFunctions",
            dependencies: [.product(name: "TraceSnapPluginKit", package: "tracesnap")],
            path: "Sources/DropFunctions"
        ),
    ],
    swiftLanguageModes: [.v5]
)
