/// What a worker is doing, as recorded in its row.
public enum WorkerState: String, Sendable, CaseIterable {
    case idle
    case busy
    /// Asked to stop: finishing its current job, taking no new one.
    case stopping
}

/// A registered worker process.
public struct WorkerRecord: Sendable, Equatable {
    public var id: String
    public var pid: Int
    /// `/proc/PID/stat` start time, so a reused pid is never mistaken for this worker.
    public var pidStartTicks: Int64
    public var hostname: String
    public var state: WorkerState
    public var jobID: String?
    public var jobStartedAt: Timestamp?
    public var startedAt: Timestamp
    public var heartbeatAt: Timestamp
    public var jobsDone: Int
    public var stopRequested: Bool
    /// The queues it serves (nil: every queue).
    public var queues: [String]?

    public init(id: String, pid: Int, pidStartTicks: Int64, hostname: String, state: WorkerState = .idle,
                jobID: String? = nil, jobStartedAt: Timestamp? = nil, startedAt: Timestamp, heartbeatAt: Timestamp,
                jobsDone: Int = 0, stopRequested: Bool = false, queues: [String]? = nil) {
        self.id = id
        self.pid = pid
        self.pidStartTicks = pidStartTicks
        self.hostname = hostname
        self.state = state
        self.jobID = jobID
        self.jobStartedAt = jobStartedAt
        self.startedAt = startedAt
        self.heartbeatAt = heartbeatAt
        self.jobsDone = jobsDone
        self.stopRequested = stopRequested
        self.queues = queues
    }

    /// The queues it serves as shown: `a,b`, or `all`.
    public var queuesText: String { queues?.joined(separator: ",") ?? "all" }

    public var json: JSONValue {
        .object([
            ("id", .string(id)),
            ("pid", .int(pid)),
            ("state", .string(state.rawValue)),
            ("job_id", .optional(jobID)),
            ("job_started_at", .optional(jobStartedAt)),
            ("started_at", .string(startedAt.iso8601)),
            ("heartbeat_at", .string(heartbeatAt.iso8601)),
            ("jobs_done", .int(jobsDone)),
            ("host", .string(hostname)),
            ("queues", queues.map { .array($0.map(JSONValue.string)) } ?? .null),
        ])
    }
}
