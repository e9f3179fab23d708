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

    /// Linux refuses a single exec argument longer than this (MAX_ARG_STRLEN).
    public static let maximumCommandBytes = 131_071
    public static let fields = ["id", "command", "max_retries", "priority", "run_at", "delay", "timeout", "queue"]

    public init(id: String? = nil, command: String, maxRetries: Int? = nil, priority: Int = 0,
                runAt: Timestamp? = nil, delaySeconds: Double? = nil, timeout: Double? = nil,
                queue: String = QueueName.defaultName) throws {
        self.id = id
        self.command = command
        self.maxRetries = maxRetries
        self.priority = priority
        self.runAt = runAt
        self.delaySeconds = delaySeconds
        self.timeout = timeout
        self.queue = queue
        try validate()
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
            default:
                throw QueueError.invalidInput("unknown field \(SafeText.quoted(key)); a job accepts: \(Self.fields.joined(separator: ", "))")
            }
        }
        guard let command else { throw QueueError.invalidInput("missing required field \"command\"") }
        try self.init(id: id, command: command, maxRetries: maxRetries, priority: priority, runAt: runAt,
                      delaySeconds: delay, timeout: timeout, queue: queue)
    }

    private func validate() throws {
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
