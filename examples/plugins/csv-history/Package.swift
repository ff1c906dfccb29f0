// swift-tools-version:6.0
//
// An out-of-tree tracesnap plugin: a sink that writes every variable's history to a CSV file.
// Built on its own (`swift build` in this directory); it depends on the main tracesnap package
// only for `TraceSnapPluginKit`. See docs/plugins.md.

import PackageDescription

let package = Package(
    name: "csv-history",
    products: [
        // The plugin library: .build/debug/libcsv-history.so
        .library(name: "csv-history", type: .dynamic, targets: ["CSVHistory"]),
    ],
    dependencies: [
        .package(name: "tracesnap", path: "../../.."),
    ],
    targets: [
        .target(
            name: "CSVHistory",
            dependencies: [.product(name: "TraceSnapPluginKit", package: "tracesnap")],
            path: "Sources/CSVHistory"
        ),
    ],
    swiftLanguageModes: [.v5]
)
