import QueueCore

/// Column layouts of the list panes: fixed columns first, the command or error
/// takes what is left, everything cut by display width.
struct JobColumns {
    let width: Int
    var idWidth: Int { min(26, max(8, width / 4)) }

    var header: String {
        DisplayWidth.pad(" " + DisplayWidth.pad("ID", idWidth) + " " + DisplayWidth.pad("STATE", 11) + DisplayWidth.pad("RUNS", 6)
                         + DisplayWidth.padLeft("PRI", 4) + "  " + DisplayWidth.pad("AGE/NEXT", 10) + "COMMAND", width)
    }

    func row(_ job: Job, now: Timestamp) -> Line {
        let when: String
        switch job.state {
        case .pending, .failed: when = job.runAt > now ? "in " + MonitorViewModel.duration(job.runAt.seconds(since: now)) : MonitorViewModel.duration(now.seconds(since: job.createdAt))
        default: when = MonitorViewModel.duration(now.seconds(since: job.updatedAt))
        }
        let fixed = 1 + idWidth + 1 + 11 + 6 + 4 + 2 + 10
        return Line([
            Span(" " + DisplayWidth.pad(job.id, idWidth) + " "),
            Span(DisplayWidth.pad(job.state.rawValue, 11), TextStyle(color: job.state.color)),
            Span(DisplayWidth.pad("\(job.attempts)/\(job.maxRetries + 1)", 6) + DisplayWidth.padLeft(String(job.priority), 4) + "  "
                 + DisplayWidth.pad(when, 10) + DisplayWidth.fit(job.command, max(0, width - fixed))),
        ])
    }
}

struct DeadColumns {
    let width: Int
    var idWidth: Int { min(26, max(8, width / 4)) }

    var header: String {
        DisplayWidth.pad("   " + DisplayWidth.pad("ID", idWidth) + " " + DisplayWidth.pad("RUNS", 5) + DisplayWidth.pad("DIED", 9) + "LAST ERROR", width)
    }

    func row(_ job: Job, marked: Bool, now: Timestamp) -> Line {
        let fixed = 3 + idWidth + 1 + 5 + 9
        return Line([
            Span(marked ? " ● " : "   ", TextStyle(color: .yellow, bold: true)),
            Span(DisplayWidth.pad(job.id, idWidth) + " " + DisplayWidth.pad(String(job.attempts), 5)
                 + DisplayWidth.pad(MonitorViewModel.duration(now.seconds(since: job.updatedAt)) + " ago", 9)),
            Span(DisplayWidth.fit(job.lastError ?? "-", max(0, width - fixed)), TextStyle(color: .red)),
        ])
    }
}

struct WorkerColumns {
    let width: Int

    var header: String {
        DisplayWidth.pad(" " + DisplayWidth.pad("ID", 13) + DisplayWidth.padLeft("PID", 7) + " " + DisplayWidth.pad("STATE", 9)
                         + DisplayWidth.pad("ON JOB", 7) + DisplayWidth.padLeft("DONE", 5) + DisplayWidth.padLeft("BEAT", 6) + "  JOB", width)
    }

    func row(_ w: WorkerRecord, now: Timestamp) -> Line {
        let color: StateColor = w.state == .busy ? .blue : (w.state == .idle ? .green : .yellow)
        let onJob = w.jobStartedAt.map { MonitorViewModel.duration(now.seconds(since: $0)) } ?? "-"
        let beat = MonitorViewModel.duration(now.seconds(since: w.heartbeatAt))
        let fixed = 1 + 13 + 7 + 1 + 9 + 7 + 5 + 6 + 2
        return Line([
            Span(" " + DisplayWidth.pad(w.id, 13) + DisplayWidth.padLeft(String(w.pid), 7) + " "),
            Span(DisplayWidth.pad(w.state.rawValue, 9), TextStyle(color: color)),
            Span(DisplayWidth.pad(onJob, 7) + DisplayWidth.padLeft(String(w.jobsDone), 5) + DisplayWidth.padLeft(beat, 6) + "  "
                 + DisplayWidth.fit(w.jobID ?? "-", max(0, width - fixed))),
        ])
    }
}
