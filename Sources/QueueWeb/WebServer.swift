import Foundation
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import QueueCore
import QueueRunner
import ServiceLifecycle

/// `queuectl web`: the dashboard, the JSON API and `/metrics` on one port,
/// reading the same store as the CLI and the console. Stops on SIGINT/SIGTERM
/// (ServiceLifecycle), ending open event streams first.
public struct WebServer: Sendable {
    public struct Options: Sendable {
        public var host: String
        public var port: Int
        public var readonly: Bool
        /// Required for any address other than loopback (checked by the caller).
        public var token: String?
        /// Printed in `/metrics` as `queuectl_build_info{version}`.
        public var version: String

        public init(host: String, port: Int, readonly: Bool, token: String?, version: String) {
            self.host = host
            self.port = port
            self.readonly = readonly
            self.token = token
            self.version = version
        }
    }

    /// Jobs per page in lists, and the most the API returns at once.
    static let pageSize = 50
    static let maxAPILimit = 1000

    let store: any JobStore
    let options: Options
    /// Checked on every POST; made new at each start.
    let csrf: String
    let feed: ChangeFeed
    /// The live pages, drawn once per change for all browsers (see `ChangeFeed`).
    let cache: PageCache
    let renderer: PageRenderer

    public init(store: any JobStore, options: Options) {
        self.store = store
        self.options = options
        var generator = SystemRandomNumberGenerator()
        let csrf = (0..<4).map { _ in String(generator.next() as UInt64, radix: 16) }.joined()
        self.csrf = csrf
        let renderer = PageRenderer(store: store, pages: WebPages(csrf: options.readonly ? nil : csrf))
        let cache = PageCache()
        self.renderer = renderer
        self.cache = cache
        self.feed = ChangeFeed(store: store, pageVersion: Self.pageVersion(cache: cache, renderer: renderer))
    }

    /// How the feed learns a page's current version: through the cache, so the
    /// browsers it then tells fetch the very render it compared.
    static func pageVersion(cache: PageCache, renderer: PageRenderer) -> ChangeFeed.PageVersion {
        { page, epoch in
            do {
                return try await cache.page(page, epoch: epoch) { try renderer.page(URI(page)) }.version
            } catch {
                return RenderedPage.failedVersion(error)
            }
        }
    }

    /// Serves until SIGINT or SIGTERM. `onListening` gets the address bound
    /// (with the real port when 0 was asked).
    public func run(onListening: @escaping @Sendable (String) -> Void) async throws {
        var logger = Logger(label: "queuectl-web")
        logger.logLevel = .warning
        let app = Application(
            router: makeRouter(),
            configuration: .init(address: .hostname(options.host, port: options.port), serverName: nil),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? options.port
                onListening("http://\(options.host.contains(":") ? "[\(options.host)]" : options.host):\(port)/")
            },
            logger: logger
        )
        // Shut down in reverse order: the feed first (ending event streams), then the server.
        let group = ServiceGroup(configuration: .init(services: [app, feed], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }

    func makeRouter() -> Router<BasicRequestContext> {
        let router = Router()
        router.add(middleware: SecurityMiddleware(token: options.token, readonly: options.readonly))

        router.read("/assets/app.css") { _, _ in asset(WebAssets.css, type: "text/css; charset=utf-8") }
        router.read("/assets/app.js") { _, _ in asset(WebAssets.js, type: "text/javascript; charset=utf-8") }

        // The live pages (overview, jobs, job, DLQ, workers): see `PageRenderer`.
        for path in PageRenderer.paths {
            router.read(RouterPath(path)) { request, _ in
                let key = PageRenderer.key(request.uri)
                let page = try await cache.page(key, epoch: feed.currentEpoch) { try renderer.page(request.uri) }
                return WebResponse.html(page.html)
            }
        }
        router.read("/events") { request, _ in events(request) }
        router.read("/metrics") { _, _ in
            WebResponse.make(try store.metrics(now: .now()).exposition(version: options.version),
                             type: "text/plain; version=0.0.4; charset=utf-8", status: .ok)
        }
        addAPI(to: router)
        if !options.readonly { addActions(to: router) }
        return router
    }

    /// The same objects as the CLI's `--json`.
    func addAPI(to router: Router<BasicRequestContext>) {
        let api = router.group("api")
        api.read("status") { _, _ in
            let (counts, workers) = try store.countsAndWorkers()
            return WebResponse.json(StatusReport.json(counts: counts, workers: workers, database: store.displayAddress))
        }
        api.read("jobs") { request, _ in
            let order: JobListQuery.Order = request.uri.queryParameters.get("newest") == "1" ? .newest : .oldest
            let (query, offset, limit) = try PageRenderer.listQuery(request.uri, defaultLimit: 100, order: order)
            return WebResponse.json(.array(try store.jobPage(query, limit: limit, offset: offset).jobs.map(\.json)))
        }
        api.read("jobs/:id") { _, context in
            let id = context.parameters.get("id").flatMap { $0.removingPercentEncoding } ?? ""
            let job = try found { try store.job(id: id) }
            let workers = job.workerID == nil ? [] : try store.workers()
            let dependents = try store.dependents(of: id, limit: StatusReport.dependentsShown)
            return WebResponse.json(StatusReport.json(job: job, runs: try store.runs(jobID: id), workers: workers,
                                                      dependents: dependents))
        }
        api.read("workers") { _, _ in WebResponse.json(.array(try store.workers().map(\.json))) }
        api.read("queues") { _, _ in
            let now = Timestamp.now()
            return WebResponse.json(.array(try store.queues().map { $0.json(now: now) }))
        }
    }

    /// POST forms, each checked against the CSRF token; not registered with `--readonly`.
    func addActions(to router: Router<BasicRequestContext>) {
        router.post("/dlq/retry") { request, _ in
            let form = try await checkedForm(request)
            let ids: [String]
            if form["all"] == "1" {
                // In pages, so a large DLQ is retried without one huge read.
                var all: [String] = []
                var offset = 0
                while true {
                    let page = try store.jobPage(JobListQuery(state: .dead), limit: Self.maxAPILimit, offset: offset)
                    all += page.jobs.map(\.id)
                    offset += page.jobs.count
                    if page.jobs.isEmpty || offset >= page.total { break }
                }
                ids = all
            } else if let id = form["id"] {
                ids = [id]
            } else {
                throw HTTPError(.badRequest, message: "give id=JOB or all=1")
            }
            if !ids.isEmpty { _ = try acting { try store.retryDead(ids: ids, now: .now()) } }
            return WebResponse.redirect(to: form["all"] == "1" ? "/dlq" : "/job?id=" + HTML.query(ids.first ?? ""))
        }
        // One job's cancel, run-now or requeue; a state that does not allow it is a 409.
        router.post("/job/cancel") { request, _ in
            let id = try await jobID(request)
            _ = try acting { try found { try store.cancel(ids: [id], now: .now()) } }
            return WebResponse.redirect(to: "/job?id=" + HTML.query(id))
        }
        router.post("/job/run-now") { request, _ in
            let id = try await jobID(request)
            _ = try acting { try found { try store.runNow(ids: [id], now: .now()) } }
            return WebResponse.redirect(to: "/job?id=" + HTML.query(id))
        }
        router.post("/job/requeue") { request, _ in
            let id = try await jobID(request)
            let copies = try acting { try found { try store.requeue(ids: [id], now: .now()) } }
            return WebResponse.redirect(to: "/job?id=" + HTML.query(copies.first?.id ?? id))
        }
        for (path, paused) in [("/queues/pause", true), ("/queues/resume", false)] {
            router.post(RouterPath(path)) { request, _ in
                let form = try await checkedForm(request)
                guard let queue = form["queue"] else { throw HTTPError(.badRequest, message: "give queue=NAME") }
                _ = try acting { try store.setPaused(paused, queues: [queue]) }
                return WebResponse.redirect(to: "/")
            }
        }
    }

    // MARK: Helpers

    /// The `id` of a CSRF-checked job form.
    func jobID(_ request: Request) async throws -> String {
        guard let id = try await checkedForm(request)["id"], !id.isEmpty else { throw HTTPError(.badRequest, message: "give id=JOB") }
        return id
    }

    /// An `text/event-stream` of `change` events from the shared feed: with
    /// `?page=PATH&v=VERSION` (the page's address and `data-v`), only when that
    /// page changed; without, at every change of the store.
    func events(_ request: Request) -> Response {
        let parameters = request.uri.queryParameters
        let page = parameters.get("page").flatMap { PageRenderer.isLive($0) ? $0 : nil }
        let stream = feed.subscribe(page: page, version: parameters.get("v"))
        var response = Response(status: .ok, headers: [.contentType: "text/event-stream"], body: ResponseBody { writer in
            try await writer.write(ByteBuffer(string: "retry: 2000\n\n"))
            for await version in stream {
                try await writer.write(ByteBuffer(string: "event: change\ndata: \(version)\n\n"))
            }
            try await writer.finish(nil)
        })
        response.headers[.cacheControl] = "no-store"
        return response
    }

    /// The form fields of a POST, after checking its CSRF token (403 without it).
    func checkedForm(_ request: Request) async throws -> [String: String] {
        let body = try await request.body.collect(upTo: 64 * 1024)
        let form = Self.parseForm(String(buffer: body))
        guard let given = form["csrf"], SecurityMiddleware<BasicRequestContext>.same(given, csrf) else {
            throw HTTPError(.forbidden, message: "missing or wrong CSRF token: reload the page and try again")
        }
        return form
    }

    static func parseForm(_ text: String) -> [String: String] {
        var fields: [String: String] = [:]
        for pair in text.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ s: Substring) -> String { s.replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String(s) }
            fields[decode(parts[0])] = parts.count > 1 ? decode(parts[1]) : ""
        }
        return fields
    }

    /// Runs a store lookup; "not found" becomes a 404 (see `PageRenderer.found`).
    func found<T>(_ body: () throws -> T) throws -> T { try PageRenderer.found(body) }

    /// Runs a change and tells open browsers about it.
    func acting<T>(_ body: () throws -> T) throws -> T {
        let result = try found(body)
        feed.announce()
        return result
    }

    func asset(_ text: String, type: String) -> Response {
        var response = WebResponse.make(text, type: type, status: .ok)
        response.headers[.cacheControl] = "max-age=300"
        return response
    }
}

extension RouterMethods {
    /// A GET route, and HEAD on the same handler (the security middleware drops HEAD's body).
    @discardableResult
    func read(_ path: RouterPath, use handler: @Sendable @escaping (Request, Context) async throws -> Response) -> Self {
        on(path, method: .get, use: handler)
        return on(path, method: .head, use: handler)
    }
}
