import QueueCore

/// Every capability a store provides (see `JobStore`), each implemented in the
/// extension of its concern.
extension PostgresJobStore: JobStore {
    /// This host's files of the queue (worker log, running-job files, output of
    /// runs while they go): a private folder per address under ~/.local/state.
    public var location: DatabaseLocation { DatabaseLocation.localFiles(forServer: address.redacted) }
}
