// swift-tools-version:6.0
//
// tracesnap: record once, replay anywhere.
//
// Layout (the user's top level is fixed; extra targets live inside it via `path:`):
//   Sources/Core/CPython     CTraceSnapPython     CPython C API declarations (no Python.h, no -lpython)
//   Sources/Core/PluginABI   CTraceSnapPluginABI  the versioned C plugin ABI (tracesnap_plugin.h)
//   Sources/Core/JSON        TraceSnapJSON        Foundation-free JSON value, parser and writer
//   Sources/Core/Library     TraceSnapLibrary     the on-disk trace library (~/.tracesnap)
//   Sources/Core/CSQLite     CSQLite              the system libsqlite3 (system-library target, links -lsqlite3)
//   Sources/Core/SQLiteTrace TraceSnapSQLiteTrace the compact SQLite trace form: schema, writer, paged reader
//   Sources/Core/CompactTrace TraceSnapCompactTrace the compact binary trace form (.tsnap): encoder, reader
//   Sources/Core/Trace       TraceSnapTrace       trace model, reader (v0.1 and v0.2) and summary
//   Sources/Core/Recorder    TraceSnapCore        the in-process recorder, event bus and plugin loader
//   Sources/Plugins/PluginKit  TraceSnapPluginKit Swift layer over the C ABI for plugin authors
//   Sources/Plugins/<Name>   TraceSnap<Name>      built-in plugins, one dynamic library each
//                                                 (Annotator, Redactor, JSONSink, LibrarySink, NDJSONSink, CompactSink,
//                                                 RequestsCapture, UrllibCapture, HttpxCapture)
//   Sources/Host             tracesnap            the command-line tool and the view server
//
// The recorder and the plugins stay Foundation-free: they are loaded into the user's Python process
// and ship with only the Swift core runtime next to them (see docs/architecture.md).

import PackageDescription

/// Swift settings shared by every Swift target.
let commonSwiftSettings: [SwiftSetting] = [
    .unsafeFlags(["-no-toolchain-stdlib-rpath"]),
    // The recorder's hot path is single-threaded under the GIL; runtime exclusivity checks cost
    // ~4 % of recording time (callgrind) and buy nothing there.
    .unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release)),
]

/// Linker settings for libraries that are loaded into Python: find the bundled Swift runtime next to
/// the library itself, never in the toolchain that built it.
let bundledRuntimeLinkerSettings: [LinkerSetting] = [
    .unsafeFlags(["-Xlinker", "-rpath", "-Xlinker", "$ORIGIN"]),
]

let package = Package(
    name: "tracesnap",
    platforms: [.macOS(.v13)],
    products: [
        .library(name: "TraceSnapCore", type: .dynamic, targets: ["TraceSnapCore"]),
        .library(name: "TraceSnapPluginKit", targets: ["TraceSnapPluginKit"]),
        .library(name: "TraceSnapAnnotator", type: .dynamic, targets: ["TraceSnapAnnotator"]),
        .library(name: "TraceSnapJSONSink", type: .dynamic, targets: ["TraceSnapJSONSink"]),
        .library(name: "TraceSnapLibrarySink", type: .dynamic, targets: ["TraceSnapLibrarySink"]),
        .library(name: "TraceSnapNDJSONSink", type: .dynamic, targets: ["TraceSnapNDJSONSink"]),
        .library(name: "TraceSnapSQLiteSink", type: .dynamic, targets: ["TraceSnapSQLiteSink"]),
        .library(name: "TraceSnapCompactSink", type: .dynamic, targets: ["TraceSnapCompactSink"]),
        .library(name: "TraceSnapRequestsCapture", type: .dynamic, targets: ["TraceSnapRequestsCapture"]),
        .library(name: "TraceSnapUrllibCapture", type: .dynamic, targets: ["TraceSnapUrllibCapture"]),
        .library(name: "TraceSnapHttpxCapture", type: .dynamic, targets: ["TraceSnapHttpxCapture"]),
        .library(name: "TraceSnapRedactor", type: .dynamic, targets: ["TraceSnapRedactor"]),
        .executable(name: "tracesnap", targets: ["tracesnap"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/swhitty/FlyingFox", from: "0.27.0"),
    ],
    targets: [
        // MARK: - CTraceSnapPluginABI
        .target(
            name: "CTraceSnapPluginABI",
            path: "Sources/Core/PluginABI"
        ),

        // MARK: - CTraceSnapPython
        .target(
            name: "CTraceSnapPython",
            path: "Sources/Core/CPython"
        ),

        // MARK: - TraceSnapAnnotator
        .target(
            name: "TraceSnapAnnotator",
            dependencies: [
                "TraceSnapPluginKit",
            ],
            path: "Sources/Plugins/Annotator",
            swiftSettings: commonSwiftSettings,
            linkerSettings: bundledRuntimeLinkerSettings
        ),

        // MARK: - TraceSnapBus
        .target(
            name: "TraceSnapBus",
            dependencies: [
                "CTraceSnapPluginABI",
                "TraceSnapCompactTrace",
            ],
            path: "Sources/Core/Bus",
            swiftSettings: commonSwiftSettings
        ),

        // MARK: - TraceSnapCore
        .target(
            name: "TraceSnapCore",
            dependencies: [
                "CTraceSnapPluginABI",
                "CTraceSnapPython",
                "TraceSnapBus",
                "TraceSnapJSON",
            ],
            path: "Sources/Core/Recorder",
            swiftSettings: commonSwiftSettings,
            linkerSettings: bundledRuntimeLinkerSettings
        ),

        // MARK: - TraceSnapJSON
        .target(
            name: "TraceSnapJSON",
            path: "Sources/Core/JSON",
            swiftSettings: commonSwiftSettings
        ),

        // MARK: - TraceSnapJSONSink
        .target(
            name: "TraceSnapJSONSink",
            dependencies: [
                "TraceSnapPluginKit",
            ],
            path: "Sources/Plugins/JSONSink",
            swiftSettings: commonSwiftSettings,
            linkerSettings: bundledRuntimeLinkerSettings
        ),

        // MARK: - TraceSnapHTTPCaptureKit (linked into each HTTP capture plugin)
        .target(
            name: "TraceSnapHTTPCaptureKit",
            dependencies: [
                "TraceSnapPluginKit",
            ],
            path: "Sources/Plugins/HTTPCaptureKit",
            swiftSettings: commonSwiftSettings
        ),

        // MARK: - TraceSnapRequestsCapture
        .target(
            name: "TraceSnapRequestsCapture",
            dependencies: [
                "TraceSnapPluginKit",
                "TraceSnapHTTPCaptureKit",
            ],
            path: "Sources/Plugins/RequestsCapture",
            swiftSettings: commonSwiftSettings,
            linkerSettings: bundledRuntimeLinkerSettings
        ),

        // MARK: - TraceSnapUrllibCapture
        .target(
            name: "TraceSnapUrllibCapture",
            dependencies: [
                "TraceSnapPluginKit",
                "TraceSnapHTTPCaptureKit",
            ],
            path: "Sources/Plugins/UrllibCapture",
            swiftSettings: commonSwiftSettings,
            linkerSettings: bundledRuntimeLinkerSettings
        ),

        // MARK: - TraceSnapHttpxCapture
        .target(
            name: "TraceSnapHttpxCapture",
            dependencies: [
                "TraceSnapPluginKit",
                "TraceSnapHTTPCaptureKit",
            ],
            path: "Sources/Plugins/HttpxCapture",
            swiftSettings: commonSwiftSettings,
            linkerSettings: bundledRuntimeLinkerSettings
        ),

        // MARK: - TraceSnapNDJSONSink
        .target(
            name: "TraceSnapNDJSONSink",
            dependencies: [
                "TraceSnapPluginKit",
            ],
            path: "Sources/Plugins/NDJSONSink",
            swiftSettings: commonSwiftSettings,
            linkerSettings: bundledRuntimeLinkerSettings
        ),

        // MARK: - TraceSnapLibrary
        .target(
            name: "TraceSnapLibrary",
            dependencies: [
                "TraceSnapJSON",
                "TraceSnapTrace",
            ],
            path: "Sources/Core/Library",
            swiftSettings: commonSwiftSettings
        ),

        // MARK: - TraceSnapLibrarySink
        .target(
            name: "TraceSnapLibrarySink",
            dependencies: [
                "TraceSnapLibrary",
                "TraceSnapPluginKit",
            ],
            path: "Sources/Plugins/LibrarySink",
            swiftSettings: commonSwiftSettings,
            linkerSettings: bundledRuntimeLinkerSettings
        ),

        // MARK: - TraceSnapPluginKit
        .target(
            name: "TraceSnapPluginKit",
            dependencies: [
                "CTraceSnapPluginABI",
                "TraceSnapJSON",
            ],
            path: "Sources/Plugins/PluginKit",
            swiftSettings: commonSwiftSettings
        ),

        // MARK: - TraceSnapRedactor
        .target(
            name: "TraceSnapRedactor",
            dependencies: [
                "TraceSnapPluginKit",
            ],
            path: "Sources/Plugins/Redactor",
            swiftSettings: commonSwiftSettings,
            linkerSettings: bundledRuntimeLinkerSettings
        ),

        // MARK: - CSQLite (the system libsqlite3)
        .systemLibrary(
            name: "CSQLite",
            path: "Sources/Core/CSQLite",
            providers: [.apt(["libsqlite3-dev"]), .brew(["sqlite"])]
        ),

        // MARK: - TraceSnapCompactTrace
        .target(
            name: "TraceSnapCompactTrace",
            dependencies: [
                "CTraceSnapPluginABI",
                "TraceSnapJSON",
                "TraceSnapPluginKit",
            ],
            path: "Sources/Core/CompactTrace",
            // Converting a multi-gigabyte trace to JSON runs through it; optimized in debug builds too.
            swiftSettings: commonSwiftSettings + [.unsafeFlags(["-O"])]
        ),

        // MARK: - TraceSnapCompactSink
        .target(
            name: "TraceSnapCompactSink",
            dependencies: [
                "TraceSnapCompactTrace",
                "TraceSnapLibrary",
                "TraceSnapPluginKit",
            ],
            path: "Sources/Plugins/CompactSink",
            swiftSettings: commonSwiftSettings,
            linkerSettings: bundledRuntimeLinkerSettings
        ),

        // MARK: - TraceSnapSQLiteTrace
        .target(
            name: "TraceSnapSQLiteTrace",
            dependencies: [
                "CSQLite",
                "TraceSnapJSON",
            ],
            path: "Sources/Core/SQLiteTrace",
            swiftSettings: commonSwiftSettings
        ),

        // MARK: - TraceSnapSQLiteSink
        .target(
            name: "TraceSnapSQLiteSink",
            dependencies: [
                "TraceSnapLibrary",
                "TraceSnapPluginKit",
                "TraceSnapSQLiteTrace",
            ],
            path: "Sources/Plugins/SQLiteSink",
            swiftSettings: commonSwiftSettings,
            linkerSettings: bundledRuntimeLinkerSettings
        ),

        // MARK: - TraceSnapTrace
        .target(
            name: "TraceSnapTrace",
            dependencies: [
                "TraceSnapJSON",
            ],
            path: "Sources/Core/Trace",
            // The byte scanner summarizes multi-gigabyte traces; it is optimized even in debug builds
            // (unoptimized it runs ~10x slower, and `view BIG.json` has to scan before serving).
            swiftSettings: commonSwiftSettings + [.unsafeFlags(["-O"])]
        ),

        // MARK: - tracesnap (Host)
        .executableTarget(
            name: "tracesnap",
            dependencies: [
                "CTraceSnapPluginABI",
                "TraceSnapJSON",
                "TraceSnapPluginKit",
                "TraceSnapCompactTrace",
                "TraceSnapLibrary",
                "TraceSnapSQLiteTrace",
                "TraceSnapTrace",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "FlyingFox", package: "FlyingFox"),
            ],
            path: "Sources/Host"
        ),

        // MARK: - Tests
        // The recorder itself (TraceSnapCore) needs a running CPython; its tests are the pytest
        // suites in integrations/python/tests, run on every Python 3.9-3.13 by scripts/test.
        .testTarget(
            name: "TraceSnapJSONTests",
            dependencies: ["TraceSnapJSON"],
            path: "Tests/TraceSnapJSONTests"
        ),
        .testTarget(
            name: "TraceSnapLibraryTests",
            dependencies: ["TraceSnapLibrary", "TraceSnapJSON"],
            path: "Tests/TraceSnapLibraryTests"
        ),
        .testTarget(
            name: "TraceSnapTraceTests",
            dependencies: ["TraceSnapTrace", "TraceSnapJSON"],
            path: "Tests/TraceSnapTraceTests",
            exclude: ["Fixtures"]
        ),
        .testTarget(
            name: "TraceSnapSQLiteTraceTests",
            dependencies: ["TraceSnapSQLiteTrace", "TraceSnapJSON"],
            path: "Tests/TraceSnapSQLiteTraceTests"
        ),
        .testTarget(
            name: "TraceSnapCompactTraceTests",
            dependencies: ["TraceSnapCompactTrace", "TraceSnapJSON", "TraceSnapPluginKit"],
            path: "Tests/TraceSnapCompactTraceTests"
        ),
        .testTarget(
            name: "TraceSnapPluginTests",
            dependencies: [
                "TraceSnapBus",
                "TraceSnapJSON",
            ],
            path: "Tests/TraceSnapPluginTests",
            exclude: ["Fixtures"]
        ),
    ],
    swiftLanguageModes: [.v5]
)
