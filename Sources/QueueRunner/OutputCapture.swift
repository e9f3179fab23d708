import Foundation

/// Writes a run's output to its log file as it arrives, up to a byte limit, and
/// keeps only the last line in memory (for the error message). The file is created
/// on the first byte, so silent jobs cost no file at all.
struct OutputCapture {
    let path: String
    let limit: Int64
    private var fd: Int32 = -1
    private(set) var totalBytes: Int64 = 0
    private var written: Int64 = 0
    private var tail: [UInt8] = []
    private var failed = false

    init(path: String, limit: Int64) {
        self.path = path
        self.limit = limit
    }

    mutating func append(_ buffer: [UInt8], count: Int) {
        totalBytes += Int64(count)
        keepTail(buffer, count: count)
        guard written < limit, !failed else { return }
        if fd < 0 {
            fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
            if fd < 0 { failed = true; return }
        }
        let n = Int(min(Int64(count), limit - written))
        let result = buffer.withUnsafeBytes { write(fd, $0.baseAddress, n) }
        if result < 0 { failed = true; return }
        written += Int64(result)
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
            if totalBytes > written {
                let note = Array("\n[queuectl: output truncated at \(limit) bytes; \(totalBytes - written) more bytes dropped]\n".utf8)
                _ = note.withUnsafeBytes { write(fd, $0.baseAddress, note.count) }
            }
            Foundation.close(fd)
            fd = -1
        }
    }
}
