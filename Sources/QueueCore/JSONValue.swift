/// A JSON value that keeps object members in order.
///
/// queuectl parses job specs with its own strict RFC 8259 reader instead of
/// `JSONSerialization` because a queue must reject, with a precise message, what
/// Foundation silently accepts or mangles: duplicate keys, lone surrogates, NUL in
/// strings' raw bytes, numbers that do not fit, absurd nesting. Output objects keep
/// their field order so `--json` reads the same every time.
public enum JSONValue: Equatable, Sendable {
    case null
    case bool(Bool)
    case number(Double, integer: Int64?)
    case string(String)
    case array([JSONValue])
    case object([(String, JSONValue)])

    public static func == (a: JSONValue, b: JSONValue) -> Bool {
        switch (a, b) {
        case (.null, .null): return true
        case let (.bool(x), .bool(y)): return x == y
        case let (.number(x, _), .number(y, _)): return x == y
        case let (.string(x), .string(y)): return x == y
        case let (.array(x), .array(y)): return x == y
        case let (.object(x), .object(y)):
            return x.count == y.count && zip(x, y).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        default: return false
        }
    }

    public static func int(_ v: Int) -> JSONValue { .number(Double(v), integer: Int64(v)) }
    public static func int64(_ v: Int64) -> JSONValue { .number(Double(v), integer: v) }
    public static func double(_ v: Double) -> JSONValue {
        if v.rounded() == v, abs(v) < 9e15 { return .number(v, integer: Int64(v)) }
        return .number(v, integer: nil)
    }
    public static func optional(_ v: String?) -> JSONValue { v.map(JSONValue.string) ?? .null }
    public static func optional(_ v: Int?) -> JSONValue { v.map(JSONValue.int) ?? .null }
    public static func optional(_ v: Double?) -> JSONValue { v.map(JSONValue.double) ?? .null }
    public static func optional(_ v: Timestamp?) -> JSONValue { v.map { .string($0.iso8601) } ?? .null }

    /// Looks a key up in an object (nil for other values).
    public subscript(key: String) -> JSONValue? {
        guard case let .object(members) = self else { return nil }
        return members.first { $0.0 == key }?.1
    }

    /// The name of the value's JSON type, for error messages.
    public var typeName: String {
        switch self {
        case .null: return "null"
        case .bool: return "a boolean"
        case .number: return "a number"
        case .string: return "a string"
        case .array: return "an array"
        case .object: return "an object"
        }
    }
}

// MARK: - Writing

extension JSONValue {
    /// Compact JSON (`pretty: false`) or two-space indented JSON; `indent` levels
    /// deep (for writing the elements of a long array one at a time).
    public func serialized(pretty: Bool = false, indent: Int = 0) -> String {
        var out = ""
        write(to: &out, pretty: pretty, indent: indent)
        return out
    }

    private func write(to out: inout String, pretty: Bool, indent: Int) {
        switch self {
        case .null: out += "null"
        case let .bool(b): out += b ? "true" : "false"
        case let .number(d, integer):
            if let integer { out += String(integer) } else if d.isFinite { out += "\(d)" } else { out += "null" }
        case let .string(s): JSONValue.writeString(s, to: &out)
        case let .array(items):
            if items.isEmpty { out += "[]"; return }
            out += "["
            for (i, item) in items.enumerated() {
                if i > 0 { out += "," }
                if pretty { out += "\n" + String(repeating: "  ", count: indent + 1) }
                item.write(to: &out, pretty: pretty, indent: indent + 1)
            }
            if pretty { out += "\n" + String(repeating: "  ", count: indent) }
            out += "]"
        case let .object(members):
            if members.isEmpty { out += "{}"; return }
            out += "{"
            for (i, (key, value)) in members.enumerated() {
                if i > 0 { out += "," }
                if pretty { out += "\n" + String(repeating: "  ", count: indent + 1) }
                JSONValue.writeString(key, to: &out)
                out += pretty ? ": " : ":"
                value.write(to: &out, pretty: pretty, indent: indent + 1)
            }
            if pretty { out += "\n" + String(repeating: "  ", count: indent) }
            out += "}"
        }
    }

    private static func writeString(_ s: String, to out: inout String) {
        out += "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                // Controls, C1 controls and bidi overrides as \u escapes (see
                // `SafeText`): a script that prints a field to a terminal stays safe.
                if SafeText.isUnsafe(scalar) {
                    out += SafeText.unicodeEscape(scalar)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        out += "\""
    }
}

// MARK: - Parsing

extension JSONValue {
    /// Deepest nesting accepted; a job spec needs two levels.
    public static let maximumDepth = 64

    /// Parses one JSON document; trailing non-space bytes are an error.
    public static func parse(_ text: String) throws -> JSONValue {
        var copy = text
        return try copy.withUTF8 { try parse(bytes: $0) }
    }

    public static func parse(bytes: UnsafeBufferPointer<UInt8>) throws -> JSONValue {
        var reader = JSONReader(bytes: bytes)
        reader.skipSpace()
        let value = try reader.value(depth: 0)
        reader.skipSpace()
        guard reader.atEnd else { throw reader.error("unexpected data after the JSON value") }
        return value
    }
}

/// A byte-level recursive-descent reader (UTF-8 validated by construction of `String`).
struct JSONReader {
    let bytes: UnsafeBufferPointer<UInt8>
    var position = 0
    var line = 1
    /// Set when an error was found at the end of the bytes: with more input the
    /// value might be complete (what a streaming caller needs to know).
    var ranOut = false

    init(bytes: UnsafeBufferPointer<UInt8>, line: Int = 1) {
        self.bytes = bytes
        self.line = line
    }

    var atEnd: Bool { position >= bytes.count }
    var current: UInt8 { bytes[position] }

    func error(_ message: String) -> QueueError {
        .invalidInput("invalid JSON: \(message) (line \(line))")
    }

    /// An error caused by the bytes ending too early.
    mutating func endOfInput(_ message: String = "unexpected end of input") -> QueueError {
        ranOut = true
        return error(message)
    }

    mutating func skipSpace() {
        while position < bytes.count {
            switch bytes[position] {
            case 0x20, 0x09, 0x0D: position += 1
            case 0x0A: position += 1; line += 1
            default: return
            }
        }
    }

    mutating func skipInlineSpace() {
        while position < bytes.count, bytes[position] == 0x20 || bytes[position] == 0x09 { position += 1 }
    }

    mutating func value(depth: Int) throws -> JSONValue {
        guard depth < JSONValue.maximumDepth else { throw error("nested deeper than \(JSONValue.maximumDepth) levels") }
        guard !atEnd else { throw endOfInput() }
        switch current {
        case UInt8(ascii: "{"): return try object(depth: depth)
        case UInt8(ascii: "["): return try array(depth: depth)
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try number()
        default:
            throw error("unexpected character \(describe(current))")
        }
    }

    private func describe(_ byte: UInt8) -> String {
        if byte >= 0x21 && byte < 0x7F { return "'\(Character(Unicode.Scalar(byte)))'" }
        return "byte 0x" + String(byte, radix: 16, uppercase: true)
    }

    private mutating func literal(_ word: StaticString) throws {
        let n = word.utf8CodeUnitCount
        guard position + n <= bytes.count else { throw endOfInput() }
        for k in 0..<n where bytes[position + k] != word.utf8Start[k] {
            throw error("unexpected character \(describe(bytes[position + k]))")
        }
        position += n
    }

    private mutating func object(depth: Int) throws -> JSONValue {
        position += 1
        var members: [(String, JSONValue)] = []
        skipSpace()
        if !atEnd, current == UInt8(ascii: "}") { position += 1; return .object(members) }
        while true {
            skipSpace()
            guard !atEnd else { throw endOfInput() }
            guard current == UInt8(ascii: "\"") else { throw error("expected a quoted key") }
            let key = try string()
            // A linear scan: objects here have a handful of keys, and hashing each
            // key into a set cost more than comparing it.
            guard !members.contains(where: { $0.0 == key }) else { throw error("duplicate key \"\(key)\"") }
            skipSpace()
            guard !atEnd else { throw endOfInput() }
            guard current == UInt8(ascii: ":") else { throw error("expected ':' after key \"\(key)\"") }
            position += 1
            skipSpace()
            members.append((key, try value(depth: depth + 1)))
            skipSpace()
            guard !atEnd else { throw endOfInput("unexpected end of input in an object") }
            if current == UInt8(ascii: ",") { position += 1; continue }
            if current == UInt8(ascii: "}") { position += 1; return .object(members) }
            throw error("expected ',' or '}' in an object")
        }
    }

    private mutating func array(depth: Int) throws -> JSONValue {
        position += 1
        var items: [JSONValue] = []
        skipSpace()
        if !atEnd, current == UInt8(ascii: "]") { position += 1; return .array(items) }
        while true {
            skipSpace()
            items.append(try value(depth: depth + 1))
            skipSpace()
            guard !atEnd else { throw endOfInput("unexpected end of input in an array") }
            if current == UInt8(ascii: ",") { position += 1; continue }
            if current == UInt8(ascii: "]") { position += 1; return .array(items) }
            throw error("expected ',' or ']' in an array")
        }
    }

    private mutating func hex4() throws -> UInt32 {
        guard position + 4 <= bytes.count else { throw endOfInput("truncated \\u escape") }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let c = bytes[position]
            let d: UInt32
            switch c {
            case 48...57: d = UInt32(c - 48)
            case 65...70: d = UInt32(c - 55)
            case 97...102: d = UInt32(c - 87)
            default: throw error("invalid \\u escape")
            }
            v = v << 4 | d
            position += 1
        }
        return v
    }

    mutating func string() throws -> String {
        position += 1
        let start = position
        // Fast path: no escapes.
        var ascii = true
        while position < bytes.count {
            let c = bytes[position]
            if c == UInt8(ascii: "\"") {
                let slice = UnsafeBufferPointer(rebasing: bytes[start..<position])
                position += 1
                // ASCII needs no validation (and decoding it cannot repair anything).
                return ascii ? String(decoding: slice, as: UTF8.self) : try validated(slice)
            }
            if c == UInt8(ascii: "\\") { break }
            if c < 0x20 { throw error("control character \(describe(c)) in a string (escape it)") }
            if c >= 0x80 { ascii = false }
            position += 1
        }
        var out = [UInt8](UnsafeBufferPointer(rebasing: bytes[start..<position]))
        while position < bytes.count {
            let c = bytes[position]
            if c == UInt8(ascii: "\"") {
                position += 1
                return try out.withUnsafeBufferPointer { try validated($0) }
            }
            if c < 0x20 { throw error("control character \(describe(c)) in a string (escape it)") }
            if c != UInt8(ascii: "\\") { out.append(c); position += 1; continue }
            position += 1
            guard position < bytes.count else { break }
            let e = bytes[position]
            position += 1
            switch e {
            case UInt8(ascii: "\""): out.append(0x22)
            case UInt8(ascii: "\\"): out.append(0x5C)
            case UInt8(ascii: "/"): out.append(0x2F)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = try hex4()
                if (0xD800...0xDBFF).contains(scalar) {
                    if position + 2 > bytes.count, position == bytes.count || bytes[position] == UInt8(ascii: "\\") {
                        throw endOfInput("unterminated string")
                    }
                    guard position + 2 <= bytes.count,
                          bytes[position] == UInt8(ascii: "\\"), bytes[position + 1] == UInt8(ascii: "u") else {
                        throw error("unpaired surrogate in a \\u escape")
                    }
                    position += 2
                    let low = try hex4()
                    guard (0xDC00...0xDFFF).contains(low) else { throw error("unpaired surrogate in a \\u escape") }
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                } else if (0xDC00...0xDFFF).contains(scalar) {
                    throw error("unpaired surrogate in a \\u escape")
                }
                guard let u = Unicode.Scalar(scalar) else { throw error("invalid \\u escape") }
                out.append(contentsOf: Array(String(u).utf8))
            default:
                throw error("invalid escape '\\\(Character(Unicode.Scalar(e)))'")
            }
        }
        throw endOfInput("unterminated string")
    }

    private func validated(_ slice: UnsafeBufferPointer<UInt8>) throws -> String {
        guard let s = String(validating: slice, as: UTF8.self) else { throw error("string is not valid UTF-8") }
        return s
    }

    private mutating func number() throws -> JSONValue {
        let start = position
        if current == UInt8(ascii: "-") { position += 1 }
        guard !atEnd else { throw endOfInput("invalid number") }
        guard (48...57).contains(current) else { throw error("invalid number") }
        if current == 48 {
            position += 1
            if !atEnd, (48...57).contains(current) { throw error("numbers may not have leading zeros") }
        } else {
            while !atEnd, (48...57).contains(current) { position += 1 }
        }
        var isInteger = true
        if !atEnd, current == UInt8(ascii: ".") {
            isInteger = false
            position += 1
            guard !atEnd else { throw endOfInput("invalid number") }
            guard (48...57).contains(current) else { throw error("invalid number") }
            while !atEnd, (48...57).contains(current) { position += 1 }
        }
        if !atEnd, current == UInt8(ascii: "e") || current == UInt8(ascii: "E") {
            isInteger = false
            position += 1
            if !atEnd, current == UInt8(ascii: "+") || current == UInt8(ascii: "-") { position += 1 }
            guard !atEnd else { throw endOfInput("invalid number") }
            guard (48...57).contains(current) else { throw error("invalid number") }
            while !atEnd, (48...57).contains(current) { position += 1 }
        }
        // Up to 18 digits an integer fits Int64, and converting it to Double rounds
        // exactly as parsing its text would.
        if isInteger {
            let negative = bytes[start] == UInt8(ascii: "-")
            let digits = UnsafeBufferPointer(rebasing: bytes[(negative ? start + 1 : start)..<position])
            if digits.count <= 18 {
                var magnitude: Int64 = 0
                for digit in digits { magnitude = magnitude * 10 + Int64(digit - 48) }
                return .number(negative ? -Double(magnitude) : Double(magnitude), integer: negative ? -magnitude : magnitude)
            }
        }
        let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self)
        guard let d = Double(text) else { throw error("invalid number \(text)") }
        guard d.isFinite else { throw error("number out of range: \(text)") }
        if isInteger {
            guard let i = Int64(text) else { throw error("integer out of range: \(text)") }
            return .number(d, integer: i)
        }
        if d.rounded() == d, abs(d) < 9e15 { return .number(d, integer: Int64(d)) }
        return .number(d, integer: nil)
    }
}
