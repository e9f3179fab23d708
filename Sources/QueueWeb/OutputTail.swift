import Foundation
import QueueCore

/// The end of a run's output file for the job page: the last 16 KiB, read from
/// the end only (logs can be large), never through a planted link (OwnedFile).
enum OutputTail {
    static let bytes = 16 * 1024

    static func lines(path: String) -> [String] {
        guard let fd = try? OwnedFile.open(path, .read) else { return [] }
        let handle = FileHandle(fileDescriptor: fd, closeOnDealloc: true)
        let size = (try? handle.seekToEnd()) ?? 0
        let start = size > UInt64(bytes) ? size - UInt64(bytes) : 0
        try? handle.seek(toOffset: start)
        let data = (try? handle.read(upToCount: bytes)) ?? Data()
        var lines = String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if start > 0, !lines.isEmpty { lines.removeFirst() }   // a partial first line
        if lines.last == "" { lines.removeLast() }
        return lines
    }
}
