/// A setting stored in the database's `config` table, with its default and the
/// range of values it accepts.
public enum ConfigKey: String, CaseIterable, Sendable {
    case maxRetries = "max-retries"
    case backoffBase = "backoff-base"
    case backoffMax = "backoff-max"
    case jobTimeout = "job-timeout"
    case leaseTimeout = "lease-timeout"
    case outputLimit = "output-limit"
    case killGrace = "kill-grace"
    case claimBatch = "claim-batch"
    case backoffJitter = "backoff-jitter"
    case retainCompleted = "retain-completed"
    case retainDead = "retain-dead"
    case retainCancelled = "retain-cancelled"

    /// Accepts `max-retries`, `max_retries` and `MAX_RETRIES` alike.
    public init(name: String) throws {
        let normalized = name.lowercased().replacingOccurrences(of: "_", with: "-")
        guard let key = ConfigKey(rawValue: normalized) else {
            throw QueueError.invalidInput("unknown config key \(SafeText.quoted(name)); valid keys: \(ConfigKey.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        self = key
    }

    /// What the value means and which values are accepted, for help and errors.
    public var summary: String {
        switch self {
        case .maxRetries: return "retries after the first run before a job is dead (integer 0–1000)"
        case .backoffBase: return "retry n waits base^n seconds (number 1–1000)"
        case .backoffMax: return "cap on one backoff wait (duration up to 1e9 s; default 1d)"
        case .jobTimeout: return "default run timeout for jobs without one (duration; 0 = none)"
        case .leaseTimeout: return "time without heartbeat before a worker is presumed dead (whole seconds ≥ 1)"
        case .outputLimit: return "bytes of output kept per run (integer ≥ 1024, suffix K/M/G allowed)"
        case .killGrace: return "time between SIGTERM and SIGKILL when a run times out (duration up to 1h)"
        case .claimBatch: return "most jobs a worker claims at once while its runs are short (integer 1–64; 1 = one at a time)"
        case .backoffJitter: return "fraction of each backoff wait that is randomised, to spread retries (number 0–1; 0 = exact)"
        case .retainCompleted: return "workers delete completed jobs older than this (duration like 7d, 12h; unset = keep)"
        case .retainDead: return "workers delete dead jobs older than this (duration like 30d; unset = keep)"
        case .retainCancelled: return "workers delete cancelled jobs older than this (duration like 7d; unset = keep)"
        }
    }

    /// The value used while the key is unset (nil: no value).
    public var defaultValue: Double? {
        switch self {
        case .maxRetries: return 3
        case .backoffBase: return 2
        case .backoffMax: return RetryPolicy.defaultMaxDelaySeconds
        case .jobTimeout: return 0
        case .leaseTimeout: return 10
        case .outputLimit: return 10 * 1024 * 1024
        case .killGrace: return 2
        case .claimBatch: return 32
        case .backoffJitter: return 0
        case .retainCompleted, .retainDead, .retainCancelled: return nil
        }
    }

    /// Keys whose value is a time span: they take `90s`, `5m`, `1h`, `2d` as well
    /// as seconds (``DurationText``), and are shown that way.
    public var isDuration: Bool {
        switch self {
        case .backoffMax, .jobTimeout, .leaseTimeout, .killGrace,
             .retainCompleted, .retainDead, .retainCancelled: return true
        default: return false
        }
    }

    var isInteger: Bool {
        switch self {
        case .maxRetries, .leaseTimeout, .outputLimit, .claimBatch: return true
        default: return false
        }
    }

    /// Parses and range-checks a value given on the command line.
    public func parse(_ text: String) throws -> Double {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        var number: Double?
        if self == .outputLimit, let last = trimmed.last, let scale = ["K": 1024.0, "M": 1024.0 * 1024, "G": 1024.0 * 1024 * 1024][last.uppercased()] {
            number = Int64(trimmed.dropLast()).map { Double($0) * scale }
        } else if isDuration {
            number = DurationText.seconds(trimmed).flatMap { !isInteger || $0.rounded() == $0 ? $0 : nil }
        } else if isInteger {
            number = Int64(trimmed).map(Double.init)
        } else {
            number = Double(trimmed).flatMap { $0.isFinite ? $0 : nil }
        }
        guard let value = number, trimmed.allSatisfy({ !$0.isLetter || self == .outputLimit || isDuration }) else {
            throw QueueError.invalidInput("invalid value \(SafeText.quoted(text)) for \(rawValue): \(summary)")
        }
        let ok: Bool
        switch self {
        case .maxRetries: ok = (0...1000).contains(value)
        case .backoffBase: ok = (1...1000).contains(value)
        case .backoffMax: ok = value >= 0 && value <= 1e9
        case .jobTimeout: ok = value >= 0 && value <= 1e9
        case .leaseTimeout: ok = value >= 1 && value <= 2_147_483_647
        case .outputLimit: ok = value >= 1024 && value <= 1024 * 1024 * 1024 * 1024
        case .killGrace: ok = (0...3600).contains(value)
        case .claimBatch: ok = (1...64).contains(value)
        case .backoffJitter: ok = (0...1).contains(value)
        case .retainCompleted, .retainDead, .retainCancelled: ok = value > 0 && value <= 1e10
        }
        guard ok else { throw QueueError.invalidInput("value \(SafeText.quoted(text)) out of range for \(rawValue): \(summary)") }
        return value
    }

    /// Renders a stored value the way `config get` prints it: a plain number
    /// (seconds for durations), for scripts.
    public func format(_ value: Double?) -> String {
        guard let value else { return "none" }
        if value.rounded() == value, abs(value) < 9e15 { return String(Int64(value)) }
        return String(value)
    }

    /// Renders a value for people (`config list`, `config set`): durations as
    /// `10m`, `90s`, `1d` (``DurationText/exact(_:)``), the rest as ``format(_:)``.
    public func display(_ value: Double?) -> String {
        guard let value, isDuration else { return format(value) }
        return DurationText.exact(value)
    }
}
