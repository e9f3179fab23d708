/// Where and how a job runs, and how its failures are retried: the job fields
/// beyond the command that only the worker running it needs (`cwd`, `env`,
/// `backoff_base`, `backoff_max`, `retry_on_exit`, `no_retry_exit`). Stored as one
/// JSON object with the job, written once at enqueue.
public struct JobOptions: Sendable, Equatable {
    /// Absolute directory the command runs in (nil: the worker's own directory).
    public var cwd: String?
    /// Variables set for the command, over the worker's environment.
    public var env: [String: String] = [:]
    /// The job's own backoff base and cap (nil: the config's).
    public var backoffBase: Double?
    public var backoffMax: Double?
    /// The only exit codes that are retried, when given (see ``RetryRule``).
    public var retryOnExit: [Int]?
    /// Exit codes after which the job goes straight to `dead`.
    public var noRetryExit: [Int]?
    /// The schedule whose tick created the job (set by the store when a schedule
    /// fires; not a field a user gives).
    public var schedule: String?

    public init(cwd: String? = nil, env: [String: String] = [:], backoffBase: Double? = nil, backoffMax: Double? = nil,
                retryOnExit: [Int]? = nil, noRetryExit: [Int]? = nil) {
        self.cwd = cwd
        self.env = env
        self.backoffBase = backoffBase
        self.backoffMax = backoffMax
        self.retryOnExit = retryOnExit
        self.noRetryExit = noRetryExit
    }

    public var isEmpty: Bool {
        cwd == nil && env.isEmpty && backoffBase == nil && backoffMax == nil && retryOnExit == nil && noRetryExit == nil
            && schedule == nil
    }

    /// The retry rule by exit code these options set.
    public var retryRule: RetryRule { RetryRule(retryOn: retryOnExit.map(Set.init), noRetry: Set(noRetryExit ?? [])) }

    /// The backoff in force: the job's own values over the config's.
    public func retryPolicy(over config: RetryPolicy) -> RetryPolicy {
        var policy = config
        if let backoffBase { policy.base = backoffBase }
        if let backoffMax { policy.maxDelay = backoffMax }
        return policy
    }

    /// The fields as stored and printed, in a fixed order, only those set.
    public var jsonMembers: [(String, JSONValue)] {
        var members: [(String, JSONValue)] = []
        if let cwd { members.append(("cwd", .string(cwd))) }
        if !env.isEmpty { members.append(("env", .object(env.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) }))) }
        if let backoffBase { members.append(("backoff_base", .double(backoffBase))) }
        if let backoffMax { members.append(("backoff_max", .double(backoffMax))) }
        if let retryOnExit { members.append(("retry_on_exit", .array(retryOnExit.map { .int($0) }))) }
        if let noRetryExit { members.append(("no_retry_exit", .array(noRetryExit.map { .int($0) }))) }
        if let schedule { members.append(("schedule", .string(schedule))) }
        return members
    }

    /// The stored text (nil when nothing is set, so plain jobs store nothing).
    public var storedText: String? { isEmpty ? nil : JSONValue.object(jsonMembers).serialized() }

    /// Reads the stored text back; a damaged value reads as no options.
    public init(storedText: String?) {
        self.init()
        guard let storedText, let value = try? JSONValue.parse(storedText), case let .object(members) = value else { return }
        for (key, value) in members {
            switch (key, value) {
            case let ("cwd", .string(s)): cwd = s
            case let ("env", .object(pairs)):
                for case let (name, .string(v)) in pairs { env[name] = v }
            case let ("backoff_base", .number(d, _)): backoffBase = d
            case let ("backoff_max", .number(d, _)): backoffMax = d
            case let ("retry_on_exit", .array(codes)): retryOnExit = codes.compactMap(\.integerValue)
            case let ("no_retry_exit", .array(codes)): noRetryExit = codes.compactMap(\.integerValue)
            case let ("schedule", .string(s)): schedule = s
            default: break
            }
        }
    }
}

extension JSONValue {
    /// The value as an Int when it is an integral number.
    var integerValue: Int? {
        if case let .number(_, i?) = self { return Int(i) }
        return nil
    }
}
