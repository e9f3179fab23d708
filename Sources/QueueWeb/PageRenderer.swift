import Hummingbird
import HummingbirdCore
import QueueCore
import QueueRunner

/// Draws the live pages from an address (path and query), the same way for a
/// browser's request and for the change feed's comparison: the overview, the
/// jobs list, a job, the DLQ and the workers.
struct PageRenderer: Sendable {
    let store: any JobStore
    let pages: WebPages
    /// The overview's chart, read in full once a minute (see `ThroughputCache`).
    let throughput = ThroughputCache()

    /// The paths of the pages that follow the change feed.
    static let paths = ["/", "/jobs", "/job", "/dlq", "/workers"]

    /// The cache and feed key of an address: its path and raw query.
    static func key(_ uri: URI) -> String { uri.path + (uri.query.map { $0.isEmpty ? "" : "?" + $0 } ?? "") }

    /// Whether `page` (from a browser's `/events?page=`) names a live page.
    static func isLive(_ page: String) -> Bool {
        page.utf8.count <= 2048 && paths.contains(URI(page).path) && page.hasPrefix("/")
    }

    /// The page at `uri` (a 400 or 404 as an `HTTPError`).
    func page(_ uri: URI) throws -> RenderedPage { RenderedPage(try html(uri)) }

    func html(_ uri: URI) throws -> String {
        let parameters = uri.queryParameters
        switch uri.path {
        case "/":
            let now = Timestamp.now()
            return pages.overview(counts: try store.counts(), workers: try store.workers(), queues: try store.queues(),
                                  throughput: try throughput.throughput(store, now: now), now: now)
        case "/jobs":
            let (query, offset, limit) = try Self.listQuery(uri, defaultLimit: WebServer.pageSize)
            let page = try store.jobPage(query, limit: limit, offset: offset)
            return pages.jobList(page: page, state: query.state, filter: query.filter, limit: limit, counts: try store.counts())
        case "/job":
            guard let id = parameters.get("id") else { throw HTTPError(.badRequest, message: "give ?id=JOB") }
            let job = try Self.found { try store.job(id: id) }
            let runs = try store.runs(jobID: id)
            let output = runs.last.map { RunOutputTail.lines(store: store, jobID: id, runID: $0.id).lines } ?? []
            return pages.job(job, runs: runs, output: output, now: .now())
        case "/dlq":
            let offset = max(0, Int(parameters.get("offset") ?? "") ?? 0)
            let page = try store.jobPage(JobListQuery(state: .dead), limit: WebServer.pageSize, offset: offset)
            return pages.dlq(page: page, limit: WebServer.pageSize)
        case "/workers":
            return pages.workers(try store.workers(), now: .now())
        default:
            throw HTTPError(.notFound)
        }
    }

    /// state, q, offset and limit of a list request; a bad value is a 400.
    /// Pages list newest first; the API oldest first like `queuectl list` (`newest=1` as `--newest`).
    static func listQuery(_ uri: URI, defaultLimit: Int, order: JobListQuery.Order = .newest) throws -> (JobListQuery, Int, Int) {
        let params = uri.queryParameters
        var state: JobState?
        if let raw = params.get("state"), !raw.isEmpty {
            guard let s = JobState(rawValue: raw) else {
                throw HTTPError(.badRequest, message: "unknown state \(raw) (one of \(JobState.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            state = s
        }
        guard let offset = Int(params.get("offset") ?? "0"), offset >= 0 else { throw HTTPError(.badRequest, message: "offset must be a number ≥ 0") }
        guard let limit = Int(params.get("limit") ?? String(defaultLimit)), (1...WebServer.maxAPILimit).contains(limit) else {
            throw HTTPError(.badRequest, message: "limit must be 1…\(WebServer.maxAPILimit)")
        }
        return (JobListQuery(state: state, filter: params.get("q") ?? "", order: order), offset, limit)
    }

    /// Runs a store lookup; "not found" becomes a 404, invalid input a 400, a conflict a 409.
    static func found<T>(_ body: () throws -> T) throws -> T {
        do { return try body() } catch let error as QueueError {
            switch error.kind {
            case .notFound: throw HTTPError(.notFound, message: error.message)
            case .invalidInput: throw HTTPError(.badRequest, message: error.message)
            case .conflict: throw HTTPError(.conflict, message: error.message)
            case .runtime: throw error
            }
        }
    }
}
