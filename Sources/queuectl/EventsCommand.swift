import ArgumentParser
import Foundation
import QueueCore
import QueueRunner

struct EventsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "events",
        abstract: "Print jobs' state changes, and with --follow keep printing them as they happen.",
        discussion: """
            Events: enqueued, started, succeeded, failed, timed_out, interrupted (a run's \
            end), retrying, dead, cancel_requested, cancelled, released (dependencies \
            completed), retried (dlq retry), requeued, run_now. One line each, or one JSON \
            object per line (NDJSON) with --json: {"at", "job_id", "event", "attempt", \
            "detail"}. They are read from the jobs, runs and events tables, which prune \
            and retention clean up with their jobs.

            Without --since the last --last events are printed (default 20). --follow \
            then waits for new ones on the database's change events (no polling).

            Examples:
              queuectl events
              queuectl events --since 1h
              queuectl events --since 2026-12-02T09:00:00Z --json
              queuectl events --follow --json | jq -c 'select(.event == "dead")'
            """
    )
    @OptionGroup var global: GlobalOptions
    @Flag(name: .shortAndLong, help: "Keep printing events as they happen (Ctrl-C stops).")
    var follow = false
    @Option(help: ArgumentHelp("Start at this time: ISO-8601 with a zone, or a duration ago (90s, 10m, 2h, 1d).", valueName: "time"))
    var since: String?
    @Option(help: "Without --since: how many recent events to print first.")
    var last = 20
    @Flag(help: "Print one JSON object per line (NDJSON).")
    var json = false

    func validate() throws {
        if let since, Self.time(since) == nil {
            throw ValidationError("--since must be an ISO-8601 time with a zone or a duration like 10m, got \(SafeText.quoted(since))")
        }
        guard last >= 0 else { throw ValidationError("--last must not be negative") }
    }

    static func time(_ text: String) -> Timestamp? {
        if let t = Timestamp(iso8601: text) { return t }
        return DurationText.seconds(text).map { Timestamp.now().adding(seconds: -$0) }
    }

    func run() throws {
        try reportingErrors {
            let store = try global.openStoreForReading()
            var cursor = try since.flatMap(Self.time).map { try store.eventCursor(since: $0) } ?? store.eventCursor(last: last)
            let watcher = follow ? ChangeWatcher(store: store) : nil
            var skip = since == nil ? -1 : 0
            while true {
                let (events, next) = try store.events(after: cursor)
                cursor = next
                // The first read of --last may hold a few more than asked for.
                if skip < 0 { skip = max(0, events.count - last) }
                let shown = events.dropFirst(skip)
                skip = 0
                if !shown.isEmpty {
                    let text = shown.map { json ? $0.json.serialized() : Self.line($0) }.joined(separator: "\n") + "\n"
                    FileHandle.standardOutput.write(Data(text.utf8))
                }
                if events.count >= 1000 { continue }   // more waiting: read on at once
                guard let watcher else { return }
                watcher.wait(seconds: ChangeWatcher.fallbackSeconds)
            }
        }
    }

    static func line(_ event: QueueEvent) -> String {
        var parts = [event.at.iso8601, event.jobID, event.kind]
        if let attempt = event.attempt { parts.append("attempt \(attempt)") }
        if let detail = event.detail { parts.append(Terminal.clip(detail, 100)) }
        return parts.joined(separator: "  ")
    }
}
