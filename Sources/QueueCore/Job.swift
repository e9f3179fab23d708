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
    /// The job-control fields, out of line: most jobs have none (nil), and a job
    /// is copied several times on its way through enqueue and claim, so a plain
    /// job carries one nil reference instead of six fields to retain and release.
    private var control: JobControlFields?

    /// Where and how it runs, and its own retry settings.
    public var options: JobOptions {
        get { control?.options ?? JobOptions() }
        set { updateControl(newValue.isEmpty) { $0.options = newValue } }
    }
    /// Labels for `list --tag`.
    public var tags: [String] {
        get { control?.tags ?? [] }
        set { updateControl(newValue.isEmpty) { $0.tags = newValue } }
    }
    /// While a job with this key is not final, enqueuing another with it returns this one.
    public var uniqueKey: String? {
        get { control?.uniqueKey }
        set { updateControl(newValue == nil) { $0.uniqueKey = newValue } }
    }
    /// Jobs that must complete before this one may run (fixed at enqueue).
    public var dependsOn: [String] {
        get { control?.dependsOn ?? [] }
        set { updateControl(newValue.isEmpty) { $0.dependsOn = newValue } }
    }
    /// The final job this one was copied from by `requeue`.
    public var requeuedFrom: String? {
        get { control?.requeuedFrom }
        set { updateControl(newValue == nil) { $0.requeuedFrom = newValue } }
    }
    /// A cancel was requested while the job was running; its worker is stopping the run.
    public var cancelRequested: Bool {
        get { control?.cancelRequested ?? false }
        set { updateControl(!newValue) { $0.cancelRequested = newValue } }
    }

    /// Applies `change` to a unique copy of the control fields; a default value on
    /// a job without any leaves it without (so equal jobs compare equal).
    private mutating func updateControl(_ isDefault: Bool, _ change: (JobControlFields) -> Void) {
        if control == nil {
            if isDefault { return }
            control = JobControlFields()
        } else if !isKnownUniquelyReferenced(&control!) {
            control = control!.copy()
        }
        change(control!)
        if control!.isEmpty { control = nil }
    }

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
            ("schedule", .optional(options.schedule)),
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

/// The job-control fields of a ``Job`` (see `Job.control`), copied on write.
final class JobControlFields: @unchecked Sendable, Equatable {
    var options = JobOptions()
    var tags: [String] = []
    var uniqueKey: String?
    var dependsOn: [String] = []
    var requeuedFrom: String?
    var cancelRequested = false

    func copy() -> JobControlFields {
        let other = JobControlFields()
        other.options = options
        other.tags = tags
        other.uniqueKey = uniqueKey
        other.dependsOn = dependsOn
        other.requeuedFrom = requeuedFrom
        other.cancelRequested = cancelRequested
        return other
    }

    var isEmpty: Bool {
        options.isEmpty && tags.isEmpty && uniqueKey == nil && dependsOn.isEmpty && requeuedFrom == nil && !cancelRequested
    }

    static func == (a: JobControlFields, b: JobControlFields) -> Bool {
        a.options == b.options && a.tags == b.tags && a.uniqueKey == b.uniqueKey && a.dependsOn == b.dependsOn
            && a.requeuedFrom == b.requeuedFrom && a.cancelRequested == b.cancelRequested
    }
}
