import Foundation
import QueueCore
import QueueStores

/// The scratch queues a bench run makes: SQLite files in its temporary folder,
/// or, for a server address, schemas of their own in that database (dropped at
/// the end), so a bench never touches a real queue.
struct BenchQueues: Sendable {
    /// A `postgres://` address to measure on (nil: SQLite).
    let server: String?
    /// The run's temporary folder (SQLite files, scratch inputs).
    let root: String

    /// The store's name in the report.
    var label: String { server == nil ? "sqlite" : "postgresql" }

    /// The address of scratch queue `name`.
    func address(_ name: String) -> StoreAddress {
        guard let server else { return .file(DatabaseLocation(path: "\(root)/\(name)/queue.db")) }
        let schema = "bench_\(getpid())_" + name.map { $0.isLetter || $0.isNumber ? String($0) : "_" }.joined()
        return .server(server + (server.contains("?") ? "&" : "?") + "schema=" + schema)
    }

    /// Opens (creating) scratch queue `name`.
    func open(_ name: String) throws -> any JobStore {
        if server == nil { try FileManager.default.createDirectory(atPath: "\(root)/\(name)", withIntermediateDirectories: true) }
        return try StoreOpener.open(address(name), .command(creating: true))
    }

    /// Opens scratch queue `name` as a worker does (for in-process claim timings).
    func openAsWorker(_ name: String) throws -> any JobStore {
        _ = try open(name)
        return try StoreOpener.open(address(name), .worker)
    }

    func seeding(_ store: any JobStore) throws -> any BenchmarkSeeding {
        guard let seeding = store as? any BenchmarkSeeding else { throw BenchmarkError("\(label) cannot seed a bench table") }
        return seeding
    }

    /// Removes scratch queue `name` (a server's schema; files go with `root`).
    func remove(_ name: String) {
        if server != nil { try? StoreOpener.removeQueue(address(name)) }
    }
}
