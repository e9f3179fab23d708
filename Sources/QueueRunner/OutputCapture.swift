import Foundation
import QueueCore

/// Writes a run's output to its log file as it arrives, up to a byte limit, and
/// keeps only the last line in memory (for the error message). The file is created
/// on the first byte, so silent jobs cost no file at all, in the private logs
/// folder and never through a planted link (see PrivateFolder).
///
/// Output that cannot be written (folder not writable, disk full) is counted, and
/// ``lost`` says why, so the loss is recorded in the run's history instead of
/// leaving an empty log behind as if the job had printed nothing.
struct OutputCapture {
    let path: String
    let limit: Int64
    private var fd: Int32 = -1
    private(set) var totalBytes: Int64 = 0
    private var written: Int64 = 0
    private var tail: [UInt8] = []
    /// Why writing stopped, once it failed.
    private var failure: String?

    init(path: String, limit: Int64) {
        self.path = path
        self.limit = limit
    }

    mutating func append(_ buffer: [UInt8], count: Int) {
        totalBytes += Int64(count)
        keepTail(buffer, count: count)
        guard written < limit, failure == nil else { return }
        if fd < 0 {
            do {
                fd = try PrivateFolder.openFile(path, .replace)
            } catch {
                failure = "\(error)"
                return
            }
        }
        let n = Int(min(Int64(count), limit - written))
        var done = 0
        // A short write (the disk filling up) is continued: the next write says why.
        while done < n {
            let result = buffer.withUnsafeBytes { write(fd, $0.baseAddress! + done, n - done) }
            if result < 0 {
                let code = errno
                if code == EINTR { continue }
                failure = "cannot write \(path): \(String(cString: strerror(code)).lowercased())"
                return
            }
            done += result
            written += Int64(result)
        }
    }

    /// Why output of this run is missing from its log, with how much: nil when all
    /// of it (up to the limit) was written.
    var lost: String? {
        guard let failure else { return nil }
        let kept = min(totalBytes, limit)
        return "output not saved: \(failure) (\(kept - written) of \(kept) bytes lost)"
    }

    private mutating func keepTail(_ buffer: [UInt8], count: Int) {
        let keep = 512
        tail.append(contentsOf: buffer[max(0, count - keep)..<count])
        if tail.count > keep { tail.removeFirst(tail.count - keep) }
    }

    /// The last non-empty line of output, cut to 200 characters.
    /// It ends up in `last_error`, which `show`, `dlq list` and the monitor print to a
    /// terminal: control characters (escape sequences a job printed, BEL, NUL…) are
    /// replaced with U+FFFD, like bytes that are not UTF-8. `logs` keeps the exact output.
    var lastLine: String? {
        let text = String(decoding: tail, as: UTF8.self)
        guard let raw = text.split(whereSeparator: \.isNewline).last?.trimmingCharacters(in: .whitespaces), !raw.isEmpty else {
            return nil
        }
        var line = String.UnicodeScalarView()
        for scalar in raw.unicodeScalars {
            line.append(scalar.properties.generalCategory == .control && scalar != "\t" ? "\u{FFFD}" : scalar)
        }
        let clean = String(line)
        return clean.count > 200 ? String(clean.prefix(200)) + "…" : clean
    }

    mutating func close() {
        if fd >= 0 {
            if totalBytes > written && failure == nil {
                let note = Array("\n[queuectl: output truncated at \(limit) bytes; \(totalBytes - written) more bytes dropped]\n".utf8)
                _ = note.withUnsafeBytes { write(fd, $0.baseAddress, note.count) }
            }
            Foundation.close(fd)
            fd = -1
        }
    }
}
