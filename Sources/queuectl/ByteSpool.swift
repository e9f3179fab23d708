import Foundation
import QueueCore

/// Bytes held in memory up to a limit and beyond it in an unlinked temporary file
/// (in `$TMPDIR`), so a command can take or produce any amount of data with bounded
/// memory: `enqueue -` stages its input in one and the ids it will print in another.
final class ByteSpool {
    private var memory: [UInt8] = []
    private var fd: Int32 = -1
    private let memoryLimit: Int

    init(memoryLimit: Int) {
        self.memoryLimit = memoryLimit
    }

    deinit {
        if fd >= 0 { close(fd) }
    }

    /// Whether everything so far fits in memory.
    var isInMemory: Bool { fd < 0 }

    func append(_ text: String) throws {
        var text = text
        try text.withUTF8 { try append(UnsafeRawBufferPointer($0)) }
    }

    func append(_ bytes: UnsafeRawBufferPointer) throws {
        memory.append(contentsOf: bytes)
        if memory.count > memoryLimit { try flush() }
    }

    /// Appends everything `fd` yields until its end (e.g. stdin, named `name` in errors).
    func append(readingFrom source: Int32, name: String) throws {
        let piece = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 16, alignment: 1)
        defer { piece.deallocate() }
        while true {
            let n = try JSONSequenceReader.read(source, into: piece, name: name)
            if n == 0 { return }
            try append(UnsafeRawBufferPointer(rebasing: piece[0..<n]))
        }
    }

    /// A reader of everything appended (from the start).
    func jsonSequence() throws -> JSONSequenceReader {
        guard fd >= 0 else { return JSONSequenceReader(bytes: memory) }
        try flush()
        guard lseek(fd, 0, SEEK_SET) == 0 else { throw Self.failure("rewind") }
        let fd = self.fd
        return JSONSequenceReader(fileDescriptor: fd, name: "the staged input")
    }

    /// Writes everything appended to `out`.
    func write(to out: Int32) throws {
        if fd >= 0 {
            try flush()
            guard lseek(fd, 0, SEEK_SET) == 0 else { throw Self.failure("rewind") }
            let piece = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 16, alignment: 1)
            defer { piece.deallocate() }
            while true {
                let n = try JSONSequenceReader.read(fd, into: piece, name: "the staged output")
                if n == 0 { return }
                try Self.writeAll(UnsafeRawBufferPointer(rebasing: piece[0..<n]), to: out, name: "stdout")
            }
        }
        try memory.withUnsafeBytes { try Self.writeAll($0, to: out, name: "stdout") }
    }

    private func flush() throws {
        if fd < 0 {
            var template = Array((NSTemporaryDirectory() + "/queuectl-XXXXXX").utf8CString)
            fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
            guard fd >= 0 else { throw Self.failure("create") }
            template.withUnsafeBufferPointer { _ = unlink($0.baseAddress!) }
        }
        try memory.withUnsafeBytes { try Self.writeAll($0, to: fd, name: nil) }
        memory.removeAll(keepingCapacity: true)
    }

    /// Writes every byte to `fd` (`name` in errors; nil: the temporary file).
    private static func writeAll(_ bytes: UnsafeRawBufferPointer, to fd: Int32, name: String?) throws {
        var offset = 0
        while offset < bytes.count {
            let n = Foundation.write(fd, bytes.baseAddress! + offset, bytes.count - offset)
            if n < 0 {
                if errno == EINTR { continue }
                if errno == EPIPE { return }
                if let name { throw QueueError.runtime("cannot write \(name): \(String(cString: strerror(errno)))") }
                throw failure("write")
            }
            offset += n
        }
    }

    private static func failure(_ what: String) -> QueueError {
        .runtime("cannot \(what) a temporary file in \(NSTemporaryDirectory()): \(String(cString: strerror(errno)))")
    }
}
