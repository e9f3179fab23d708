// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "queuectl",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "queuectl", targets: ["queuectl"]),
    ],
    dependencies: [
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
    ],
    targets: [
        /// Async-signal-safe process plumbing Swift cannot express: vfork+exec with
        /// setsid and PR_SET_PDEATHSIG, signal self-pipe, pidfd, wait-status macros.
        .target(name: "CQueueSys"),
        /// The domain: jobs, states, the rules for their next state, and the store
        /// capabilities every storage backend implements. No storage, no processes.
        .target(name: "QueueCore"),
        /// The embedded store: SQLite through GRDB, with the files beside the database
        /// (run output, the doorbell workers watch).
        .target(
            name: "QueueSQLite",
            dependencies: ["QueueCore", .product(name: "GRDB", package: "GRDB.swift")]
        ),
        /// The multi-host store: PostgreSQL through postgres-nio, for workers on many machines.
        .target(
            name: "QueuePostgres",
            dependencies: [
                "QueueCore",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        /// Opens the store an address names: the one place that knows every backend.
        .target(name: "QueueStores", dependencies: ["QueueCore", "QueueSQLite", "QueuePostgres"]),
        /// Running jobs: worker loop, command runner, heartbeats, recovery, supervisor.
        .target(
            name: "QueueRunner",
            dependencies: [
                "QueueCore", "QueueSQLite", "QueueStores", "CQueueSys",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "queuectl",
            dependencies: [
                "QueueCore", "QueueSQLite", "QueueStores", "QueueRunner", "QueueMonitor", "QueueBench", "QueueWeb",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            // A release binary is linked at a fixed address (not position-independent):
            // the loader then has no relocations to apply at each start (about 83,000
            // with the static Swift runtime), which takes about 1.2 ms off every command.
            // The cost: the executable's own image is not randomized (its libraries,
            // heap and stack still are). `--no-export-dynamic` undoes the static Swift
            // runtime's `-export-dynamic`: the executable then exports 650 symbols, not
            // 47,000, and the runtime's `dladdr` at start-up (it locates itself for the
            // backtracer) no longer walks them all; nothing looks queuectl's own symbols
            // up by name. See "Performance" in the README.
            linkerSettings: [.unsafeFlags(["-Xlinker", "-no-pie", "-Xlinker", "--no-export-dynamic"],
                                          .when(platforms: [.linux], configuration: .release))]
        ),
        /// `queuectl bench`: measures the queue against the cost of spawning its jobs.
        .target(
            name: "QueueBench",
            dependencies: ["QueueCore", "QueueSQLite", "QueueStores", "QueueRunner", "CQueueSys"]
        ),
        /// `queuectl web`: the browser dashboard and JSON API, served by Hummingbird.
        .target(
            name: "QueueWeb",
            dependencies: [
                "QueueCore", "QueueSQLite", "QueueRunner",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        /// ncursesw as a system library, with a shim for the C macros Swift cannot import.
        .systemLibrary(name: "CNcursesw", providers: [.apt(["libncursesw5-dev"])]),
        /// The full-screen console: a pure view model and a thin ncurses painter.
        .target(
            name: "QueueMonitor",
            dependencies: ["QueueCore", "QueueSQLite", "QueueRunner", "CNcursesw"]
        ),
        /// Helpers shared by the black-box tests: a scratch queue (a SQLite file, or a
        /// PostgreSQL schema when QUEUECTL_TEST_DB is set) and the built binary.
        .target(name: "TestSupport", dependencies: ["QueuePostgres"], path: "Tests/TestSupport"),
        /// The domain alone: durations, cron, JSON, retry rules, timestamps, config keys.
        .testTarget(name: "QueueCoreTests", dependencies: ["QueueCore"]),
        /// What every store must do, run against the store QUEUECTL_TEST_DB names
        /// (SQLite when unset), through the store capabilities only.
        .testTarget(name: "StoreConformanceTests", dependencies: ["QueueCore", "QueueStores", "TestSupport"]),
        /// The embedded store's own concerns: locks, checkpoints, query plans, migrations.
        .testTarget(
            name: "QueueSQLiteTests",
            dependencies: ["QueueCore", "QueueSQLite", .product(name: "GRDB", package: "GRDB.swift")]
        ),
        .testTarget(name: "QueuePostgresTests", dependencies: ["QueuePostgres", "QueueCore", "TestSupport"]),
        .testTarget(name: "QueueRunnerTests", dependencies: ["QueueRunner", "QueueCore", "QueueSQLite", "TestSupport"]),
        .testTarget(name: "CLITests", dependencies: ["QueueCore", "QueueSQLite", "QueueStores", "TestSupport"]),
        /// The dashboard's change feed and page cache, against a real SQLite store.
        .testTarget(name: "QueueWebTests", dependencies: ["QueueWeb", "QueueCore", "QueueSQLite"]),
        .testTarget(name: "QueueMonitorTests", dependencies: ["QueueMonitor", "QueueCore", "QueueStores", "TestSupport"]),
        /// Bounded versions of the fault, load and hostile-input suite (scripts/soak runs it longer).
        .testTarget(name: "ReliabilityTests", dependencies: ["QueueCore", "QueueSQLite", "QueueStores", "TestSupport", .product(name: "GRDB", package: "GRDB.swift")]),
    ]
)
