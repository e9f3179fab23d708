import QueueCore

/// The dashboard's pages as HTML: plain data in, a string out. Every job field
/// goes through `HTML.escape`; forms carry the server's CSRF token and are left
/// out in read-only mode.
struct WebPages {
    /// nil in `--readonly` mode: no forms are drawn.
    let csrf: String?

    func layout(title: String, _ body: String) -> String {
        """
        <!doctype html><html lang="en"><head><meta charset="utf-8">
        <meta name="viewport" content="width=device-width,initial-scale=1">
        <title>\(HTML.escape(title)) · queuectl</title>
        <link rel="stylesheet" href="/assets/app.css"><script src="/assets/app.js" defer></script></head>
        <body><header><b>queuectl</b><a href="/">Overview</a><a href="/jobs">Jobs</a><a href="/dlq">Dead letters</a>\
        <a href="/workers">Workers</a><span class="mute">\(csrf == nil ? "read-only" : "")</span></header>
        <main>\(body)</main></body></html>
        """
    }

    func overview(counts: JobCounts, workers: [WorkerRecord], queues: [QueueSummary], throughput: Throughput, now: Timestamp) -> String {
        var h = "<h1>Overview</h1><div class=\"cards\" id=\"counts\">"
        h += "<a class=\"card\" href=\"/jobs\"><b>\(counts.total)</b>total</a>"
        for state in JobState.allCases {
            h += "<a class=\"card\" href=\"/jobs?state=\(state.rawValue)\" data-state=\"\(state.rawValue)\"><b>\(counts[state])</b>\(state.rawValue)</a>"
        }
        h += "</div><h2>Throughput, last \(throughput.succeededPerMinute.count) minutes</h2>"
        h += chart(throughput)
        h += "<h2>Workers (\(workers.count))</h2>" + workerTable(workers, now: now)
        h += "<h2>Queues (\(queues.count))</h2>" + queueTable(queues, now: now)
        return layout(title: "Overview", h)
    }

    /// Bars of succeeded (green) and failed (red) runs per minute, oldest left.
    /// SVG attributes, no inline style, so the CSP holds.
    func chart(_ t: Throughput) -> String {
        let minutes = t.succeededPerMinute.count
        guard minutes > 0 else { return "<p class=\"mute\">no runs yet</p>" }
        let peak = max(1, zip(t.succeededPerMinute, t.failedPerMinute).map { $0 + $1 }.max() ?? 1)
        var s = "<svg class=\"chart\" viewBox=\"0 0 \(minutes * 12) 60\" width=\"\(minutes * 12)\" height=\"60\" role=\"img\" aria-label=\"runs per minute\">"
        for i in 0..<minutes {
            let ok = t.succeededPerMinute[i], bad = i < t.failedPerMinute.count ? t.failedPerMinute[i] : 0
            let okH = ok * 58 / peak, badH = bad * 58 / peak
            if okH > 0 { s += "<rect class=\"ok\" x=\"\(i * 12)\" y=\"\(60 - okH)\" width=\"10\" height=\"\(okH)\"><title>\(ok) ok</title></rect>" }
            if badH > 0 { s += "<rect class=\"bad\" x=\"\(i * 12)\" y=\"\(60 - okH - badH)\" width=\"10\" height=\"\(badH)\"><title>\(bad) failed</title></rect>" }
        }
        return s + "</svg><p class=\"mute\">last minute: \(t.succeededLastMinute) succeeded, \(t.failedLastMinute) failed</p>"
    }

    func workerTable(_ workers: [WorkerRecord], now: Timestamp) -> String {
        guard !workers.isEmpty else { return "<p class=\"mute\">no workers running</p>" }
        var h = "<table><tr><th>Worker</th><th>PID</th><th>State</th><th>Current job</th><th>Queues</th><th>Done</th><th>Heartbeat</th></tr>"
        for w in workers {
            let job = w.jobID.map { "<a href=\"/job?id=\(HTML.query($0))\">\(HTML.escape($0))</a>" } ?? "<span class=\"mute\">-</span>"
            h += "<tr><td>\(HTML.escape(w.id))</td><td class=\"n\">\(w.pid)</td><td>\(w.state.rawValue)\(w.stopRequested ? " (stopping)" : "")</td>"
            h += "<td>\(job)</td><td>\(HTML.escape(w.queuesText))</td><td class=\"n\">\(w.jobsDone)</td><td>\(heartbeat(w.heartbeatAt, now))</td></tr>"
        }
        return h + "</table>"
    }

    func queueTable(_ queues: [QueueSummary], now: Timestamp) -> String {
        guard !queues.isEmpty else { return "<p class=\"mute\">no queues yet</p>" }
        var h = "<table><tr><th>Queue</th><th>Pending</th><th>Running</th><th>Dead</th><th>Limit</th><th>Latency</th><th>State</th><th></th></tr>"
        for q in queues {
            h += "<tr><td><a href=\"/jobs?q=\(HTML.query(JobListQuery.queuePrefix + q.name))\">\(HTML.escape(q.name))</a></td>"
            h += "<td class=\"n\">\(q.counts[.pending])</td><td class=\"n\">\(q.running)</td><td class=\"n\">\(q.counts[.dead])</td>"
            h += "<td class=\"n\">\(q.concurrency.map(String.init) ?? "-")</td><td>\(DurationText.format(q.latency(now: now)))</td>"
            h += "<td>\(q.paused ? "paused" : "running")</td><td>"
            h += form(action: q.paused ? "/queues/resume" : "/queues/pause", fields: [("queue", q.name)], label: q.paused ? "Resume" : "Pause")
            h += "</td></tr>"
        }
        return h + "</table>"
    }

    func jobList(page: JobPage, state: JobState?, filter: String, limit: Int, counts: JobCounts) -> String {
        var h = "<h1>Jobs</h1><p class=\"tabs\">"
        h += "<a href=\"/jobs\"\(state == nil ? " class=\"on\"" : "")>all \(counts.total)</a>"
        for s in JobState.allCases {
            h += "<a href=\"/jobs?state=\(s.rawValue)\"\(state == s ? " class=\"on\"" : "")>\(s.rawValue) \(counts[s])</a>"
        }
        h += "</p><form method=\"get\" action=\"/jobs\">"
        if let state { h += "<input type=\"hidden\" name=\"state\" value=\"\(state.rawValue)\">" }
        h += "<input name=\"q\" value=\"\(HTML.escape(filter))\" placeholder=\"id or command contains… (queue:NAME)\"> <button>Search</button></form>"
        h += jobTable(page.jobs, retry: false)
        h += pager(base: "/jobs?" + [state.map { "state=\($0.rawValue)" }, filter.isEmpty ? nil : "q=\(HTML.query(filter))"]
            .compactMap { $0 }.joined(separator: "&"), page: page, limit: limit)
        return layout(title: "Jobs", h)
    }

    func dlq(page: JobPage, limit: Int) -> String {
        var h = "<h1>Dead letter queue (\(page.total))</h1>"
        if page.total > 0 { h += "<p>" + form(action: "/dlq/retry", fields: [("all", "1")], label: "Retry all \(page.total)") + "</p>" }
        h += jobTable(page.jobs, retry: true)
        h += pager(base: "/dlq?", page: page, limit: limit)
        return layout(title: "Dead letter queue", h)
    }

    func jobTable(_ jobs: [Job], retry: Bool) -> String {
        guard !jobs.isEmpty else { return "<p class=\"mute\">no jobs</p>" }
        var h = "<table><tr><th>ID</th><th>State</th><th>Queue</th><th>Runs</th><th>Command</th><th>Last error</th>\(retry && csrf != nil ? "<th></th>" : "")</tr>"
        for j in jobs {
            h += "<tr><td><a href=\"/job?id=\(HTML.query(j.id))\">\(HTML.escape(j.id))</a></td><td>\(badge(j.state))</td>"
            h += "<td>\(HTML.escape(j.queue))</td><td class=\"n\">\(j.attempts)</td><td><code>\(HTML.escape(clip(j.command, 120)))</code></td>"
            h += "<td>\(HTML.escape(clip(j.lastError ?? "", 80)))</td>"
            if retry && csrf != nil { h += "<td>" + form(action: "/dlq/retry", fields: [("id", j.id)], label: "Retry") + "</td>" }
            h += "</tr>"
        }
        return h + "</table>"
    }

    func job(_ job: Job, runs: [RunRecord], output: [String], now: Timestamp) -> String {
        var h = "<h1>Job \(HTML.escape(job.id)) \(badge(job.state))</h1>"
        // The same actions as the CLI and the console, where the job's state allows them.
        var actions: [String] = []
        if job.state == .dead { actions.append(form(action: "/dlq/retry", fields: [("id", job.id)], label: "Retry")) }
        if !job.state.isFinal { actions.append(form(action: "/job/cancel", fields: [("id", job.id)], label: "Cancel")) }
        if [.scheduled, .failed].contains(job.state) { actions.append(form(action: "/job/run-now", fields: [("id", job.id)], label: "Run now")) }
        if job.state.isFinal { actions.append(form(action: "/job/requeue", fields: [("id", job.id)], label: "Requeue")) }
        let drawn = actions.filter { !$0.isEmpty }
        if !drawn.isEmpty { h += "<p>" + drawn.joined(separator: " ") + "</p>" }
        h += "<table>"
        let rows: [(String, String)] = [
            ("command", "<pre>\(HTML.escape(job.command))</pre>"), ("queue", HTML.escape(job.queue)),
            ("attempts", "\(job.attempts) of \(job.maxRetries + 1)"), ("priority", String(job.priority)),
            ("run_at", job.runAt.iso8601), ("timeout", job.timeout.map { DurationText.format($0) } ?? "default"),
            ("created_at", job.createdAt.iso8601), ("updated_at", job.updatedAt.iso8601),
            ("exit_code", job.exitCode.map(String.init) ?? "-"), ("last_error", HTML.escape(job.lastError ?? "-")),
            ("worker", HTML.escape(job.workerID ?? "-")),
        ]
        for (k, v) in rows { h += "<tr><th>\(k)</th><td>\(v)</td></tr>" }
        h += "</table><h2>Runs (\(runs.count))</h2>"
        if runs.isEmpty {
            h += "<p class=\"mute\">no runs yet</p>"
        } else {
            h += "<table><tr><th>Run</th><th>Outcome</th><th>Exit</th><th>Duration</th><th>Started</th><th>Worker</th><th>Error</th></tr>"
            for r in runs {
                let exit = r.exitCode.map(String.init) ?? r.signal.map { "sig \($0)" } ?? "-"
                let duration = r.durationSeconds.map { DurationText.format($0) } ?? DurationText.format(now.seconds(since: r.startedAt))
                h += "<tr><td>#\(r.attempt)</td><td>\(r.outcome?.rawValue ?? "running")</td><td>\(exit)</td><td>\(duration)</td>"
                h += "<td>\(r.startedAt.iso8601)</td><td>\(HTML.escape(r.workerID))</td><td>\(HTML.escape(r.error ?? r.outputLost ?? ""))</td></tr>"
            }
            h += "</table>"
        }
        h += "<h2>Output (last run, tail)</h2>"
        h += output.isEmpty ? "<p class=\"mute\">no output</p>" : "<pre id=\"output\">\(HTML.escape(output.joined(separator: "\n")))</pre>"
        return layout(title: "Job \(job.id)", h)
    }

    func workers(_ workers: [WorkerRecord], now: Timestamp) -> String {
        layout(title: "Workers", "<h1>Workers (\(workers.count))</h1>" + workerTable(workers, now: now))
    }

    // MARK: Pieces

    /// A POST button with the CSRF token; nothing in read-only mode.
    func form(action: String, fields: [(String, String)], label: String) -> String {
        guard let csrf else { return "" }
        var h = "<form class=\"inline\" method=\"post\" action=\"\(action)\"><input type=\"hidden\" name=\"csrf\" value=\"\(csrf)\">"
        for (name, value) in fields { h += "<input type=\"hidden\" name=\"\(name)\" value=\"\(HTML.escape(value))\">" }
        return h + "<button>\(HTML.escape(label))</button></form>"
    }

    func pager(base: String, page: JobPage, limit: Int) -> String {
        let sep = base.hasSuffix("?") ? "" : "&"   // base always holds a "?"
        var h = "<p class=\"pager mute\">"
        if page.total > 0 { h += "\(page.offset + 1)–\(page.offset + page.jobs.count) of \(page.total) " }
        if page.offset > 0 { h += "<a href=\"\(base)\(sep)offset=\(max(0, page.offset - limit))\">← newer</a>" }
        if page.offset + page.jobs.count < page.total { h += "<a href=\"\(base)\(sep)offset=\(page.offset + limit)\">older →</a>" }
        return h + "</p>"
    }

    func badge(_ state: JobState) -> String { "<span class=\"st st-\(state.rawValue)\">\(state.rawValue)</span>" }

    func clip(_ text: String, _ max: Int) -> String { text.count > max ? String(text.prefix(max - 1)) + "…" : text }

    /// A worker's last heartbeat, its age drawn only once it is late: a worker beats
    /// at least every 0.4 s, and a page showing "0.4s ago" would change with every
    /// beat, sending every browser that shows it a refresh (see `ChangeFeed`).
    func heartbeat(_ time: Timestamp, _ now: Timestamp) -> String {
        now.seconds(since: time) < Self.lateHeartbeatSeconds ? "just now" : ago(time, now)
    }

    static let lateHeartbeatSeconds = 2.0

    func ago(_ time: Timestamp, _ now: Timestamp) -> String { DurationText.format(max(0, now.seconds(since: time).rounded())) + " ago" }
}
