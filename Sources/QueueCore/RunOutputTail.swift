/// The end of a run's output (the console's log pane, the dashboard's job page):
/// the last `bytes` read from the end only (outputs can be large), split into
/// lines, a partial first line dropped.
public enum RunOutputTail {
    public static let defaultBytes = 16 * 1024

    /// The lines, and the output's size when read (to notice growth).
    public static func lines(store: any JobReader, jobID: String, runID: Int64,
                             bytes: Int = defaultBytes) -> (lines: [String], total: Int64) {
        guard let size = try? store.runOutput(jobID: jobID, runID: runID, from: 0, limit: 0), size.exists else { return ([], 0) }
        let start = max(0, size.total - Int64(bytes))
        guard let chunk = try? store.runOutput(jobID: jobID, runID: runID, from: start, limit: bytes) else { return ([], size.total) }
        var lines = String(decoding: chunk.bytes, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if start > 0, !lines.isEmpty { lines.removeFirst() }   // a partial first line
        if lines.last == "" { lines.removeLast() }
        return (lines, chunk.total)
    }

    /// The output's size now (0 when there is none).
    public static func size(store: any JobReader, jobID: String, runID: Int64) -> Int64 {
        (try? store.runOutput(jobID: jobID, runID: runID, from: 0, limit: 0).total) ?? 0
    }
}
