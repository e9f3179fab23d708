/// One state change of a job, as `queuectl events` prints it.
///
/// The stream is read from three places, so that the common path writes nothing
/// extra: `enqueued` from the jobs table, `started` and a run's end (`succeeded`,
/// `failed`, `timed_out`, `interrupted`) from the runs table, and every other
/// change (`cancel_requested`, `cancelled`, `retrying`, `dead`, `released`,
/// `retried`, `requeued`, `run_now`) from the events table, written in the same
/// transaction as the change. All three are durable and pruned with their jobs.
public struct QueueEvent: Sendable, Equatable {
    /// Where the event was read from, with that row's id: a follower's cursor.
    public enum Source: Int, Sendable, Comparable {
        case job, runStart, runEnd, change
        public static func < (a: Source, b: Source) -> Bool { a.rawValue < b.rawValue }
    }

    public var source: Source
    public var rowID: Int64
    public var at: Timestamp
    public var jobID: String
    public var kind: String
    public var attempt: Int?
    public var detail: String?

    public init(source: Source, rowID: Int64, at: Timestamp, jobID: String, kind: String, attempt: Int? = nil, detail: String? = nil) {
        self.source = source
        self.rowID = rowID
        self.at = at
        self.jobID = jobID
        self.kind = kind
        self.attempt = attempt
        self.detail = detail
    }

    /// Order of the stream: by time, then source, then row.
    public static func precedes(_ a: QueueEvent, _ b: QueueEvent) -> Bool {
        (a.at, a.source.rawValue, a.rowID) < (b.at, b.source.rawValue, b.rowID)
    }

    public var json: JSONValue {
        .object([
            ("at", .string(at.iso8601)),
            ("job_id", .string(jobID)),
            ("event", .string(kind)),
            ("attempt", .optional(attempt)),
            ("detail", .optional(detail)),
        ])
    }
}

/// Where a reader of the event stream is: the last row seen in each source. Run
/// ends are read by their end time, which a worker sets a little before it
/// commits, so that source is read again a few seconds back and rows already seen
/// are skipped.
public struct EventCursor: Sendable, Equatable {
    public var lastJobSeq: Int64 = 0
    public var lastRunStart: Int64 = 0
    public var lastChange: Int64 = 0
    /// Run ends are read from this time on (the lookback applied).
    public var runEndsFrom: Timestamp
    /// Run ends seen at or after `runEndsFrom`.
    public var seenRunEnds: Set<Int64> = []

    /// How far back run ends are read again.
    public static let runEndLookbackSeconds = 10.0

    public init(runEndsFrom: Timestamp) { self.runEndsFrom = runEndsFrom }
}

extension QueueEvent {
    /// The change event for a job that a run's end (or a lost worker) left in
    /// `state`; nil for `completed`, which the run's `succeeded` already tells.
    public static func kind(endingIn state: JobState) -> String? {
        switch state {
        case .failed: return "retrying"
        case .dead: return "dead"
        case .cancelled: return "cancelled"
        default: return nil
        }
    }
}
