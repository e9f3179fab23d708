/// What `queuectl bench` needs of a store beyond the capabilities: filling a
/// scratch queue quickly, and a line saying what the store is.
public protocol BenchmarkSeeding {
    /// `count` jobs, one in `pendingEvery` pending and the rest completed.
    func seedForBenchmark(count: Int, pendingEvery: Int, now: Timestamp) throws
    /// `future` jobs waiting for a later run_at (some of them retries) and `completed` finished ones.
    func seedBacklogForBenchmark(future: Int, completed: Int, now: Timestamp) throws
    /// The store as the bench report names it (engine, version, durability).
    func benchmarkDescription() throws -> String
}
