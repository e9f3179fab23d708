/// A validated request to enqueue one job: what `enqueue` accepts as JSON or flags.
public struct JobSpec: Sendable, Equatable {
    public var id: String?
    public var command: String
    public var maxRetries: Int?
    public var priority: Int
    public var runAt: Timestamp?
    public var delaySeconds: Double?
    public var timeout: Double?
    /// The named queue (default `default`).
    public var queue: String
    /// Ids of jobs that must complete first: each must exist, or come earlier in
    /// the same batch (so no cycle can be built).
    public var dependsOn: [String] = []
    public var uniqueKey: String?
    public var tags: [String] = []
    public var options = JobOptions()
    /// Set by `requeue` only.
    public var requeuedFrom: String?

    /// Linux refuses a single exec argument longer than this (MAX_ARG_STRLEN).
    public static let maximumCommandBytes = 131_071
    public static let fields = ["id", "command", "max_retries", "priority", "run_at", "delay", "timeout", "queue", "depends_on",
                                "unique_key", "tags", "cwd", "env", "backoff_base", "backoff_max", "retry_on_exit", "no_retry_exit"]

    public init(id: String? = nil, command: String, maxRetries: Int? = nil, priority: Int = 0,
                runAt: Timestamp? = nil, delaySeconds: Double? = nil, timeout: Double? = nil,
                queue: String = QueueName.defaultName) throws {
        self.init(unchecked: id, command: command, maxRetries: maxRetries, priority: priority, runAt: runAt,
                  delaySeconds: delaySeconds, timeout: timeout, queue: queue)
        try validate()
    }

    /// The fields as given; the caller validates once all are set.
    private init(unchecked id: String?, command: String, maxRetries: Int?, priority: Int, runAt: Timestamp?,
                 delaySeconds: Double?, timeout: Double?, queue: String) {
        self.id = id
        self.command = command
        self.maxRetries = maxRetries
        self.priority = priority
        self.runAt = runAt
        self.delaySeconds = delaySeconds
        self.timeout = timeout
        self.queue = queue
    }

    /// Builds a spec from one JSON object, rejecting unknown fields and wrong types.
    public init(json: JSONValue) throws {
        guard case let .object(members) = json else {
            throw QueueError.invalidInput("a job must be a JSON object, got \(json.typeName)")
        }
        var id: String?
        var command: String?
        var maxRetries: Int?
        var priority = 0
        var runAt: Timestamp?
        var delay: Double?
        var timeout: Double?
        var queue = QueueName.defaultName
        var dependsOn: [String] = []
        var uniqueKey: String?
        var tags: [String] = []
        var options = JobOptions()
        for (key, value) in members {
            switch key {
            case "id": id = try Self.string(value, key)
            case "command": command = try Self.string(value, key)
            case "max_retries", "max-retries": maxRetries = try Self.integer(value, key, in: 0...1000)
            case "priority": priority = try Self.integer(value, key, in: -1_000_000...1_000_000) ?? 0
            case "run_at":
                if let text = try Self.string(value, key) {
                    guard let t = Timestamp(typed: text, now: .now()) else {
                        throw QueueError.invalidInput("\"run_at\" must be a time: \(Timestamp.typedForms), got \(SafeText.quoted(text))")
                    }
                    runAt = t
                }
            case "delay": delay = try Self.duration(value, key, in: 0...1e9)
            case "timeout": timeout = try Self.duration(value, key, in: 0...1e9)
            case "queue": queue = try Self.string(value, key) ?? QueueName.defaultName
            case "depends_on": dependsOn = try Self.strings(value, key)
            case "unique_key": uniqueKey = try Self.string(value, key)
            case "tags": tags = try Self.strings(value, key)
            case "cwd": options.cwd = try Self.string(value, key)
            case "env":
                switch value {
                case .null: break
                case let .object(pairs):
                    for (name, v) in pairs {
                        guard case let .string(text) = v else {
                            throw QueueError.invalidInput("\"env\" values must be strings; \(name.debugDescription) is \(v.typeName)")
                        }
                        options.env[name] = text
                    }
                default: throw QueueError.invalidInput("\"env\" must be an object of strings, got \(value.typeName)")
                }
            case "backoff_base": options.backoffBase = try Self.number(value, key, in: 1...1000)
            case "backoff_max": options.backoffMax = try Self.number(value, key, in: 0...1e9)
            case "retry_on_exit": options.retryOnExit = try Self.exitCodes(value, key)
            case "no_retry_exit": options.noRetryExit = try Self.exitCodes(value, key)
            default:
                throw QueueError.invalidInput("unknown field \(SafeText.quoted(key)); a job accepts: \(Self.fields.joined(separator: ", "))")
            }
        }
        guard let command else { throw QueueError.invalidInput("missing required field \"command\"") }
        self.init(unchecked: id, command: command, maxRetries: maxRetries, priority: priority, runAt: runAt,
                  delaySeconds: delay, timeout: timeout, queue: queue)
        self.dependsOn = dependsOn
        self.uniqueKey = uniqueKey
        self.tags = tags
        self.options = options
        try validate()
    }

    /// Checks every field; `init` calls it, and callers that set the fields after
    /// `init` (dependencies, tags, cwd, env…) call it again.
    public func validate() throws {
        if let id { try JobID.validate(id) }
        try QueueName.validate(queue)
        guard !command.allSatisfy({ $0.isWhitespace }) else {
            throw QueueError.invalidInput("\"command\" must not be empty")
        }
        guard !command.utf8.contains(0) else { throw QueueError.invalidInput("\"command\" must not contain a NUL byte") }
        guard command.utf8.count <= Self.maximumCommandBytes else {
            throw QueueError.invalidInput("\"command\" is \(command.utf8.count) bytes; the limit is \(Self.maximumCommandBytes)")
        }
        if let maxRetries, !(0...1000).contains(maxRetries) {
            throw QueueError.invalidInput("\"max_retries\" must be an integer from 0 to 1000, got \(maxRetries)")
        }
        guard (-1_000_000...1_000_000).contains(priority) else {
            throw QueueError.invalidInput("\"priority\" must be an integer from -1000000 to 1000000, got \(priority)")
        }
        if runAt != nil, delaySeconds != nil { throw QueueError.invalidInput("give either \"run_at\" or \"delay\", not both") }
        if let d = delaySeconds, !(d >= 0 && d <= 1e9) { throw QueueError.invalidInput("\"delay\" must be a number of seconds from 0 to 1e9") }
        if let t = timeout, !(t > 0 && t <= 1e9) { throw QueueError.invalidInput("\"timeout\" must be a positive number of seconds (or null for the default)") }
        if let r = runAt, r > Timestamp.distantFuture { throw QueueError.invalidInput("\"run_at\" is beyond year 9999") }
        try validateControlFields()
    }

    /// The fields of job control: dependencies, uniqueness, tags, where and how it runs.
    private func validateControlFields() throws {
        for dependency in dependsOn {
            do { try JobID.validate(dependency) } catch let error as QueueError {
                throw QueueError.invalidInput("\"depends_on\": \(error.message)")
            }
        }
        if let id, dependsOn.contains(id) { throw QueueError.invalidInput("job '\(id)' cannot depend on itself") }
        if let uniqueKey, uniqueKey.isEmpty || uniqueKey.utf8.count > 200 || uniqueKey.utf8.contains(0) {
            throw QueueError.invalidInput("\"unique_key\" must be 1 to 200 bytes without NUL")
        }
        guard tags.count <= 32 else { throw QueueError.invalidInput("a job takes at most 32 tags, got \(tags.count)") }
        for tag in tags where tag.isEmpty || tag.utf8.count > 100 || tag.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) {
            throw QueueError.invalidInput("a tag must be 1 to 100 bytes without control characters, got \(tag.debugDescription)")
        }
        if let cwd = options.cwd {
            guard cwd.hasPrefix("/"), !cwd.utf8.contains(0), cwd.utf8.count <= 4096 else {
                throw QueueError.invalidInput("\"cwd\" must be an absolute path (starting with /), got \(cwd.debugDescription)")
            }
        }
        for (name, value) in options.env {
            guard Self.isVariableName(name) else {
                throw QueueError.invalidInput("\"env\": \(name.debugDescription) is not a variable name (letters, digits, _; not starting with a digit)")
            }
            guard !["QUEUECTL_JOB_ID", "QUEUECTL_ATTEMPT"].contains(name) else {
                throw QueueError.invalidInput("\"env\": \(name) is set by queuectl for each run")
            }
            guard !value.utf8.contains(0) else { throw QueueError.invalidInput("\"env\": the value of \(name) contains a NUL byte") }
        }
        if let retry = options.retryOnExit, let never = options.noRetryExit, let both = Set(retry).intersection(never).min() {
            throw QueueError.invalidInput("exit code \(both) is in both \"retry_on_exit\" and \"no_retry_exit\"")
        }
    }

    static func isVariableName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, !("0"..."9").contains(first) else { return false }
        return name.unicodeScalars.allSatisfy { $0.isASCII && ($0 == "_" || $0.properties.isAlphabetic || ("0"..."9").contains($0)) }
    }

    /// When the job first becomes eligible, given the enqueue time.
    public func eligibleAt(now: Timestamp) -> Timestamp {
        if let runAt { return runAt }
        if let delaySeconds { return now.adding(seconds: delaySeconds) }
        return now
    }

    private static func string(_ v: JSONValue, _ key: String) throws -> String? {
        switch v {
        case .null where key != "command": return nil
        case let .string(s): return s
        default: throw QueueError.invalidInput("\"\(key)\" must be a string, got \(v.typeName)")
        }
    }

    private static func strings(_ v: JSONValue, _ key: String) throws -> [String] {
        switch v {
        case .null: return []
        case let .array(items):
            var seen = Set<String>()
            return try items.compactMap { item in
                guard case let .string(s) = item else { throw QueueError.invalidInput("\"\(key)\" must be an array of strings, got an item of type \(item.typeName)") }
                return seen.insert(s).inserted ? s : nil
            }
        default: throw QueueError.invalidInput("\"\(key)\" must be an array of strings, got \(v.typeName)")
        }
    }

    private static func exitCodes(_ v: JSONValue, _ key: String) throws -> [Int]? {
        switch v {
        case .null: return nil
        case let .array(items):
            return try items.map { item in
                guard case let .number(d, i?) = item, Double(i) == d, (0...255).contains(i) else {
                    throw QueueError.invalidInput("\"\(key)\" must be an array of exit codes (integers 0–255)")
                }
                return Int(i)
            }
        default: throw QueueError.invalidInput("\"\(key)\" must be an array of exit codes, got \(v.typeName)")
        }
    }

    private static func integer(_ v: JSONValue, _ key: String, in range: ClosedRange<Int64>) throws -> Int? {
        switch v {
        case .null: return nil
        case let .number(d, integer):
            guard let i = integer, Double(i) == d else { throw QueueError.invalidInput("\"\(key)\" must be an integer, got \(d)") }
            guard range.contains(i) else { throw QueueError.invalidInput("\"\(key)\" must be from \(range.lowerBound) to \(range.upperBound), got \(i)") }
            return Int(i)
        default: throw QueueError.invalidInput("\"\(key)\" must be an integer, got \(v.typeName)")
        }
    }

    /// Seconds as a number, or a duration string (`"90s"`, `"5m"`, `"1h"`, `"2d"`).
    private static func duration(_ v: JSONValue, _ key: String, in range: ClosedRange<Double>) throws -> Double? {
        guard case let .string(text) = v else { return try number(v, key, in: range) }
        guard let seconds = DurationText.seconds(text) else {
            throw QueueError.invalidInput("\"\(key)\" must be seconds or a duration like \"90s\", \"5m\", \"1h\", \"2d\", got \(SafeText.quoted(text))")
        }
        return try number(.double(seconds), key, in: range)
    }

    private static func number(_ v: JSONValue, _ key: String, in range: ClosedRange<Double>) throws -> Double? {
        switch v {
        case .null: return nil
        case let .number(d, _):
            guard range.contains(d) else { throw QueueError.invalidInput("\"\(key)\" must be from \(Int(range.lowerBound)) to \(range.upperBound), got \(d)") }
            return d
        default: throw QueueError.invalidInput("\"\(key)\" must be a number of seconds, got \(v.typeName)")
        }
    }
}

extension JobSpec {
    /// Whether the spec uses a job-control field (dependencies, uniqueness, tags,
    /// options, requeue): such jobs take the general insert, plain ones the fast one.
    public var usesJobControl: Bool {
        !dependsOn.isEmpty || uniqueKey != nil || !tags.isEmpty || !options.isEmpty || requeuedFrom != nil
    }
}

/// One job `enqueue` returned: the new job, or (`duplicate`) the job already
/// queued under the spec's `unique_key`, in which case nothing was written.
public struct EnqueuedJob: Sendable, Equatable {
    public var job: Job
    public var duplicate: Bool

    public init(job: Job, duplicate: Bool) {
        self.job = job
        self.duplicate = duplicate
    }
}
