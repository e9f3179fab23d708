import Foundation

/// The environment jobs run with: the worker's own, converted to C strings once
/// per worker instead of once per spawn, plus per-run variables.
public final class JobEnvironment: @unchecked Sendable {
    /// Variables queuectl sets for each run; inherited values of these are dropped.
    public static let runVariables: Set<String> = ["QUEUECTL_JOB_ID", "QUEUECTL_ATTEMPT"]

    private let base: [UnsafeMutablePointer<CChar>?]

    /// Snapshots the current process environment.
    public init() {
        var entries: [UnsafeMutablePointer<CChar>?] = []
        var pointer = environ
        while let entry = pointer.pointee {
            let text = String(cString: entry)
            let name = text.split(separator: "=", maxSplits: 1).first.map(String.init) ?? text
            if !Self.runVariables.contains(name) { entries.append(strdup(entry)) }
            pointer += 1
        }
        base = entries
    }

    deinit { base.forEach { free($0) } }

    /// Calls `body` with a NULL-terminated `envp` holding the base plus `extra`
    /// (`NAME=value` strings) and a job's own variables, which replace the base's
    /// entries of the same names.
    func withEnvp<R>(extra: [String], overriding variables: [String: String] = [:],
                     _ body: (UnsafePointer<UnsafeMutablePointer<CChar>?>) -> R) -> R {
        let added = (extra + variables.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }).map { strdup($0) }
        defer { added.forEach { free($0) } }
        var all = base
        if !variables.isEmpty {
            all = base.filter { entry in
                guard let entry else { return false }
                let text = String(cString: entry)
                let name = text.split(separator: "=", maxSplits: 1).first.map(String.init) ?? text
                return variables[name] == nil
            }
        }
        all.append(contentsOf: added)
        all.append(nil)
        return all.withUnsafeBufferPointer { body($0.baseAddress!) }
    }
}
