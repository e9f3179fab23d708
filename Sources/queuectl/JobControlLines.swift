import QueueCore

/// The lines `show` adds for the job-control fields, only those set.
enum JobControlLines {
    static func lines(for job: Job, store: any JobStore, dependents: [Job], dependentTotal: Int) throws -> [(String, String)] {
        var lines: [(String, String)] = []
        if !job.dependsOn.isEmpty {
            let states = Dictionary(try store.jobs(ids: job.dependsOn).map { ($0.id, $0.state) }, uniquingKeysWith: { a, _ in a })
            lines.append(("depends_on", job.dependsOn.map { "\($0) (\(states[$0]?.rawValue ?? "deleted"))" }.joined(separator: ", ")))
        }
        if dependentTotal > 0 {
            var text = dependents.prefix(20).map { "\($0.id) (\($0.state.rawValue))" }.joined(separator: ", ")
            if dependentTotal > 20 { text += ", … \(dependentTotal) in all" }
            lines.append(("dependents", text))
        }
        if let schedule = job.options.schedule { lines.append(("schedule", schedule)) }
        if let key = job.uniqueKey { lines.append(("unique_key", key)) }
        if !job.tags.isEmpty { lines.append(("tags", job.tags.joined(separator: ", "))) }
        if let cwd = job.options.cwd { lines.append(("cwd", cwd)) }
        if !job.options.env.isEmpty {
            lines.append(("env", job.options.env.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")))
        }
        var retry: [String] = []
        if let base = job.options.backoffBase { retry.append("backoff_base \(ConfigKey.backoffBase.format(base))") }
        if let max = job.options.backoffMax { retry.append("backoff_max \(ConfigKey.backoffMax.format(max)) s") }
        if let codes = job.options.retryOnExit { retry.append("retries only exit \(codes.map(String.init).joined(separator: ", "))") }
        if let codes = job.options.noRetryExit { retry.append("never retries exit \(codes.map(String.init).joined(separator: ", "))") }
        if !retry.isEmpty { lines.append(("retry", retry.joined(separator: "; "))) }
        if let from = job.requeuedFrom { lines.append(("requeued", "from \(from)")) }
        return lines
    }
}
