import Foundation
import QueueCore

/// Lines that processes other than the workers append to `<db>-logs/workers.log`
/// (the workers' and supervisors' stderr), in the same format, so the log tells
/// what happened to the workers whoever found out: a `status` that released a dead
/// worker's job names the job there, as a worker's own sweep does.
enum WorkerLogFile {
    /// Appends `lines`, each stamped and labelled, in one write; only to a log that
    /// exists (a sweep by a read command creates nothing), opened the way every file
    /// beside the database is (PrivateFolder). Best effort: a log that cannot be
    /// written is skipped; the sweep's work is done.
    static func append(_ lines: [String], location: DatabaseLocation, label: String) {
        guard !lines.isEmpty, access(location.workerLogPath, F_OK) == 0,
              let fd = try? PrivateFolder.openFile(location.workerLogPath, .append) else { return }
        defer { close(fd) }
        let stamp = timestamp()
        let text = lines.map { "\(stamp) warning \(label): [pid \(getpid())] \($0)\n" }.joined()
        _ = text.utf8CString.withUnsafeBufferPointer { write(fd, $0.baseAddress, $0.count - 1) }
    }

    /// Local time as the workers' log handler writes it (`2026-12-02T15:06:27+0000`).
    private static func timestamp() -> String {
        var now = time(nil)
        var parts = tm()
        localtime_r(&now, &parts)
        var buffer = [CChar](repeating: 0, count: 64)
        let count = strftime(&buffer, buffer.count, "%Y-%m-%dT%H:%M:%S%z", &parts)
        return String(decoding: buffer.prefix(count).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
