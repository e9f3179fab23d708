/// A shell command in the queue, with its scheduling and outcome fields.
public struct Job: Sendable, Equatable {
    public var id: String
    public var command: String
    public var state: JobState
    /// Runs started so far (a run interrupted by a dead worker counts).
    public var attempts: Int
    /// Retries allowed after the first run: `max_retries: 2` means at most 3 runs.
    public var maxRetries: Int
    /// Higher runs first; FIFO by `runAt` within a priority.
    public var priority: Int
    /// When the job is next eligible to run.
    public var runAt: Timestamp
    /// Run timeout in seconds (nil: the `job-timeout` config applies).
    public var timeout: Double?
    public var createdAt: Timestamp
    public var updatedAt: Timestamp
    public var lastError: String?
    /// Exit code of the last run (nil if it never exited normally).
    public var exitCode: Int?
    /// The worker holding the job while it is `processing`.
    public var workerID: String?
    /// The named queue it waits in (see `QueueTurns` for how workers share queues).
    public var queue: String
    /// Where and how it runs, and its own retry settings.
    public var options = JobOptions()
    /// Labels for `list --tag`.
    public var tags: [String] = []
    /// While a job with this key is not final, enqueuing another with it returns this one.
    public var uniqueKey: String?
    /// Jobs that must complete before this one may run (fixed at enqueue).
    public var dependsOn: [String] = []
    /// The final job this one was copied from by `requeue`.
    public var requeuedFrom: String?
    /// A cancel was requested while the job was running; its worker is stopping the run.
    public var cancelRequested = false

    public init(
        id: String, command: String, state: JobState = .pending, attempts: Int = 0, maxRetries: Int,
        priority: Int = 0, runAt: Timestamp, timeout: Double? = nil, createdAt: Timestamp, updatedAt: Timestamp,
        lastError: String? = nil, exitCode: Int? = nil, workerID: String? = nil, queue: String = QueueName.defaultName
    ) {
        self.id = id
        self.command = command
        self.state = state
        self.attempts = attempts
        self.maxRetries = maxRetries
        self.priority = priority
        self.runAt = runAt
        self.timeout = timeout
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.lastError = lastError
        self.exitCode = exitCode
        self.workerID = workerID
        self.queue = queue
    }

    /// The job as printed by `--json` commands, fields in a fixed order.
    public var json: JSONValue {
        .object([
            ("id", .string(id)),
            ("command", .string(command)),
            ("state", .string(state.rawValue)),
            ("attempts", .int(attempts)),
            ("max_retries", .int(maxRetries)),
            ("priority", .int(priority)),
            ("run_at", .string(runAt.iso8601)),
            ("timeout", .optional(timeout)),
            ("created_at", .string(createdAt.iso8601)),
            ("updated_at", .string(updatedAt.iso8601)),
            ("last_error", .optional(lastError)),
            ("exit_code", .optional(exitCode)),
            ("worker_id", .optional(workerID)),
            ("queue", .string(queue)),
            ("depends_on", .array(dependsOn.map(JSONValue.string))),
            ("unique_key", .optional(uniqueKey)),
            ("tags", .array(tags.map(JSONValue.string))),
            ("cwd", .optional(options.cwd)),
            ("env", .object(options.env.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) })),
            ("backoff_base", .optional(options.backoffBase)),
            ("backoff_max", .optional(options.backoffMax)),
            ("retry_on_exit", options.retryOnExit.map { .array($0.map(JSONValue.int)) } ?? .null),
            ("no_retry_exit", options.noRetryExit.map { .array($0.map(JSONValue.int)) } ?? .null),
            ("requeued_from", .optional(requeuedFrom)),
            ("cancel_requested", .bool(cancelRequested)),
        ])
    }
}
