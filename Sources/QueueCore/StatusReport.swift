/// The objects `status --json` and `show --json` print, built in one place so
/// the CLI and the web API return the same JSON.
public enum StatusReport {
    /// Most dependents a job object lists (`show` gives their count too).
    public static let dependentsShown = 1000

    /// `{"jobs": {state: n…}, "total": n, "workers": […], "database": path}`.
    public static func json(counts: JobCounts, workers: [WorkerRecord], database: String) -> JSONValue {
        .object([
            ("jobs", counts.json),
            ("total", .int(counts.total)),
            ("workers", .array(workers.map(\.json))),
            ("database", .string(database)),
        ])
    }

    /// The job object plus `"dependents"` (ids of jobs waiting on it), `"worker_pid"`
    /// (the pid of the worker running it, to signal or trace it; found among
    /// `workers`) and `"history"`: its runs, oldest first.
    public static func json(job: Job, runs: [RunRecord], workers: [WorkerRecord], dependents: [Job]) -> JSONValue {
        guard case var .object(fields) = job.json else { return job.json }
        fields.append(("dependents", .array(dependents.map { .string($0.id) })))
        let workerPID = job.workerID.flatMap { id in workers.first { $0.id == id }?.pid }
        fields.append(("worker_pid", .optional(workerPID)))
        fields.append(("history", .array(runs.map(\.json))))
        return .object(fields)
    }
}
