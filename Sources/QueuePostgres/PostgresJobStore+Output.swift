import PostgresNIO
import QueueCore

/// Run output kept in the database (`run_output`, in the chunks it was shipped
/// in), so `logs`, the console and the dashboard on any host read it.
extension PostgresJobStore {
    public var keepsOutputInDatabase: Bool { true }

    /// Room past `output-limit` for the note the runner writes when it cuts a
    /// run's output (`[output truncated …]`), which is part of the record.
    static let truncationNoteBytes: Int64 = 256

    /// Keeps `bytes`, written at byte `offset` of the run's output, up to the
    /// `output-limit` config plus ``truncationNoteBytes`` in all (the rest is
    /// counted in `output_bytes`, not kept). Fenced on the run: it must be this worker's and not ended by
    /// recovery (the worker ships its last bytes just before recording the run,
    /// and a late beat may follow); a released worker's output is dropped. A chunk
    /// sent again after a lost reply (same offset) is kept once.
    public func appendOutput(runID: Int64, workerID: String, bytes: [UInt8], at offset: Int64) throws {
        let s = address.quotedSchema
        let end = offset + Int64(bytes.count)
        try session.execute("""
            WITH run AS (
                UPDATE \(unescaped: s).runs SET output_bytes = greatest(coalesce(output_bytes, 0), \(end))
                WHERE id = \(runID) AND worker_id = \(workerID)
                  AND (finished_at IS NULL OR outcome IS DISTINCT FROM 'interrupted')
                RETURNING id
            ), cap AS (
                SELECT coalesce((SELECT value FROM \(unescaped: s).config WHERE key = \(ConfigKey.outputLimit.rawValue)),
                                \(Double(QueueConfig().outputLimitBytes)))::BIGINT + \(Self.truncationNoteBytes) AS n
            )
            INSERT INTO \(unescaped: s).run_output (run_id, "offset", chunk)
            SELECT run.id, \(offset), substring(\(ByteBuffer(bytes: bytes)) FROM 1 FOR least(cap.n - \(offset), \(Int64(bytes.count)))::INT)
            FROM run, cap WHERE cap.n > \(offset) AND \(Int64(bytes.count)) > 0
            ON CONFLICT DO NOTHING
            """)
    }

    /// Up to `limit` bytes of a run's kept output from byte `offset`, with what the
    /// run wrote in all (`output_bytes`), whether only the start was kept, and why
    /// output was lost. `exists` is false when the run has neither output rows nor
    /// a count of bytes written.
    public func runOutput(jobID: String, runID: Int64, from offset: Int64, limit: Int) throws -> RunOutput {
        let s = address.quotedSchema
        let limit = Int64(max(0, limit))
        guard let row = try session.query("""
            SELECT r.output_bytes, r.output_lost,
                (SELECT coalesce(sum(length(o.chunk)), 0)::BIGINT FROM \(unescaped: s).run_output o WHERE o.run_id = r.id),
                (SELECT substring(string_agg(o.chunk, ''::BYTEA ORDER BY o."offset")
                                  FROM (\(offset) - min(o."offset") + 1)::INT FOR \(limit)::INT)
                 FROM \(unescaped: s).run_output o
                 WHERE o.run_id = r.id AND o."offset" + length(o.chunk) > \(offset) AND o."offset" < \(offset + limit))
            FROM \(unescaped: s).runs r WHERE r.id = \(runID) AND r.job_id = \(jobID)
            """).first else { return RunOutput(bytes: [], total: 0, exists: false) }
        let (written, lost, kept, slice) = try row.decode((Int64?, String?, Int64, ByteBuffer?).self)
        let total = max(written ?? 0, kept)
        guard kept > 0 || total > 0 else { return RunOutput(bytes: [], total: 0, lost: lost, exists: false) }
        return RunOutput(bytes: slice.map { Array($0.readableBytesView) } ?? [], total: total, truncated: total > kept, lost: lost)
    }
}
