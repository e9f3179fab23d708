import Foundation

/// Reads JSON Lines (one value per non-blank line), or one top-level array whose
/// elements are the values, a piece at a time: `enqueue -` takes hundreds of
/// thousands of jobs without holding them all in memory.
///
/// Only the bytes of values not yet returned are kept. A value cut by the end of a
/// piece is parsed again once more bytes are in (the buffer at least doubles each
/// time, so a huge value costs a few passes, not one per piece).
public struct JSONSequenceReader {
    /// Where more bytes come from: fills the buffer, returns the count (0 at the end).
    public typealias Source = (UnsafeMutableRawBufferPointer) throws -> Int

    private enum Form { case unknown, lines, arrayStart, arrayNext, arrayEnd }

    private var buffer: [UInt8]
    private var start = 0
    private var line = 1
    private var atEOF: Bool
    private var form = Form.unknown
    private let source: Source?
    private let pieceSize: Int

    /// Reads `bytes`, then whatever `source` adds (nil: `bytes` is all there is).
    public init(bytes: [UInt8] = [], source: Source? = nil, pieceSize: Int = 1 << 16) {
        self.buffer = bytes
        self.source = source
        self.atEOF = source == nil
        self.pieceSize = pieceSize
    }

    /// Reads from a file descriptor (which it neither owns nor closes).
    public init(fileDescriptor fd: Int32, bytes: [UInt8] = [], name: String) {
        self.init(bytes: bytes, source: { try Self.read(fd, into: $0, name: name) })
    }

    /// One `read(2)`, retried on EINTR; an error names `name` (e.g. "stdin").
    public static func read(_ fd: Int32, into target: UnsafeMutableRawBufferPointer, name: String) throws -> Int {
        while true {
            let n = Foundation.read(fd, target.baseAddress, target.count)
            if n >= 0 { return n }
            if errno == EINTR { continue }
            throw QueueError.invalidInput("cannot read \(name): \(String(cString: strerror(errno)))")
        }
    }

    /// The next value; nil after the last.
    public mutating func next() throws -> JSONValue? {
        while true {
            if let outcome = try step() {
                if case let .value(value) = outcome { return value }
                return nil
            }
            try fill()
        }
    }

    private enum Outcome { case value(JSONValue), end }

    /// Tries to take the next value from the buffer; nil when more bytes are needed.
    private mutating func step() throws -> Outcome? {
        let eof = atEOF
        let first = line
        let result: (Outcome?, consumed: Int, line: Int, form: Form) = try buffer.withUnsafeBufferPointer { all in
            let bytes = UnsafeBufferPointer(rebasing: all[start...])
            var reader = JSONReader(bytes: bytes, line: first)
            var form = self.form
            do {
                while true {
                    reader.skipSpace()
                    switch form {
                    case .unknown:
                        if reader.atEnd { return eof ? (.end, reader.position, reader.line, .lines) : (nil, reader.position, reader.line, form) }
                        if reader.current == UInt8(ascii: "[") {
                            reader.position += 1
                            form = .arrayStart
                        } else {
                            form = .lines
                        }
                    case .lines:
                        if reader.atEnd { return eof ? (.end, reader.position, reader.line, form) : (nil, reader.position, reader.line, form) }
                        let valueLine = reader.line
                        let value = try reader.value(depth: 0)
                        reader.skipInlineSpace()
                        if reader.atEnd {
                            if !eof { return (nil, 0, first, self.form) }
                        } else if reader.current != UInt8(ascii: "\n") && reader.current != UInt8(ascii: "\r") {
                            throw reader.error("line \(valueLine): expected one JSON value per line")
                        }
                        return (.value(value), reader.position, reader.line, form)
                    case .arrayStart, .arrayNext:
                        if reader.atEnd { throw reader.endOfInput("unexpected end of input in an array") }
                        if form == .arrayStart, reader.current == UInt8(ascii: "]") {
                            reader.position += 1
                            form = .arrayEnd
                            continue
                        }
                        let value = try reader.value(depth: 1)
                        reader.skipSpace()
                        guard !reader.atEnd else { throw reader.endOfInput("unexpected end of input in an array") }
                        if reader.current == UInt8(ascii: ",") {
                            form = .arrayNext
                        } else if reader.current == UInt8(ascii: "]") {
                            form = .arrayEnd
                        } else {
                            throw reader.error("expected ',' or ']' in an array")
                        }
                        reader.position += 1
                        return (.value(value), reader.position, reader.line, form)
                    case .arrayEnd:
                        if reader.atEnd { return eof ? (.end, reader.position, reader.line, form) : (nil, reader.position, reader.line, form) }
                        throw reader.error("unexpected data after the JSON array")
                    }
                }
            } catch let error as QueueError {
                // Cut short by the end of the buffer: more bytes may complete it.
                if reader.ranOut && !eof { return (nil, 0, first, self.form) }
                throw error
            }
        }
        start += result.consumed
        line = result.line
        form = result.form
        return result.0
    }

    /// Drops what was returned and reads more; at the end, marks it.
    private mutating func fill() throws {
        guard let source, !atEOF else { throw QueueError.runtime("JSON reader asked for bytes past the end") }
        if start > 0 {
            buffer.removeSubrange(0..<start)
            start = 0
        }
        let want = max(pieceSize, buffer.count)
        let old = buffer.count
        buffer.append(contentsOf: repeatElement(0, count: want))
        let n = try buffer.withUnsafeMutableBytes { try source(UnsafeMutableRawBufferPointer(rebasing: $0[old...])) }
        buffer.removeLast(want - n)
        if n == 0 { atEOF = true }
    }
}

extension JSONValue {
    /// Parses JSON Lines (one value per non-blank line), or a single top-level array
    /// whose elements become the values.
    public static func parseSequence(_ data: [UInt8]) throws -> [JSONValue] {
        var reader = JSONSequenceReader(bytes: data)
        var values: [JSONValue] = []
        while let value = try reader.next() { values.append(value) }
        return values
    }
}
