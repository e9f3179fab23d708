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
            throw QueueError.invalidInput("unknown config key '\(name)'; valid keys: \(ConfigKey.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        self = key
    }

    /// What the value means and which values are accepted, for help and errors.
    public var summary: String {
        switch self {
        case .maxRetries: return "retries after the first run before a job is dead (integer 0–1000)"
        case .backoffBase: return "retry n waits base^n seconds (number 1–1000)"
        case .backoffMax: return "cap on one backoff wait in seconds (number 0–1000000000; default 86400 = 1 day)"
        case .jobTimeout: return "default run timeout in seconds for jobs without one (number ≥ 0; 0 = none)"
        case .leaseTimeout: return "seconds without heartbeat before a worker is presumed dead (integer ≥ 1)"
        case .outputLimit: return "bytes of output kept per run (integer ≥ 1024, suffix K/M/G allowed)"
        case .killGrace: return "seconds between SIGTERM and SIGKILL when a run times out (number 0–3600)"
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
        case .claimBatch: return 8
        case .backoffJitter: return 0
        case .retainCompleted, .retainDead, .retainCancelled: return nil
        }
    }

    /// Keys whose values are durations (`90s`, `12h`, `7d`, or seconds).
    var isDuration: Bool { [.retainCompleted, .retainDead, .retainCancelled].contains(self) }

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
        if isDuration {
            number = DurationText.seconds(trimmed)
        } else if self == .outputLimit, let last = trimmed.last, let scale = ["K": 1024.0, "M": 1024.0 * 1024, "G": 1024.0 * 1024 * 1024][last.uppercased()] {
            number = Int64(trimmed.dropLast()).map { Double($0) * scale }
        } else if isInteger {
            number = Int64(trimmed).map(Double.init)
        } else {
            number = Double(trimmed).flatMap { $0.isFinite ? $0 : nil }
        }
        guard let value = number, trimmed.allSatisfy({ !$0.isLetter || self == .outputLimit || isDuration }) else {
            throw QueueError.invalidInput("invalid value '\(text)' for \(rawValue): \(summary)")
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
        guard ok else { throw QueueError.invalidInput("value '\(text)' out of range for \(rawValue): \(summary)") }
        return value
    }

    /// Renders a stored value the way `config get` prints it.
    public func format(_ value: Double?) -> String {
        guard let value else { return "none" }
        if isDuration { return DurationText.format(value) }
        if value.rounded() == value, abs(value) < 9e15 { return String(Int64(value)) }
        return String(value)
    }
}
