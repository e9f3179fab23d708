import Foundation

/// Generates job and worker ids that sort by creation time (ULID layout: 48-bit
/// millisecond time + 80 random bits, Crockford base32, 26 characters).
public enum JobID {
    private static let alphabet = Array("0123456789ABCDEFGHJKMNPQRSTVWXYZ".utf8)

    public static func generate(at time: Timestamp = .now()) -> String {
        var bytes = [UInt8](repeating: 0, count: 16)
        let ms = UInt64(max(0, time.milliseconds))
        for i in 0..<6 { bytes[i] = UInt8(truncatingIfNeeded: ms >> (8 * (5 - i))) }
        var rng = SystemRandomNumberGenerator()
        let random = (rng.next() as UInt64, rng.next() as UInt64)
        for i in 6..<14 { bytes[i] = UInt8(truncatingIfNeeded: random.0 >> (8 * (i - 6))) }
        for i in 14..<16 { bytes[i] = UInt8(truncatingIfNeeded: random.1 >> (8 * (i - 14))) }
        // 128 bits → 26 base32 digits (the first digit carries 3 bits).
        var value = (hi: UInt64(0), lo: UInt64(0))
        for i in 0..<8 { value.hi = value.hi << 8 | UInt64(bytes[i]) }
        for i in 8..<16 { value.lo = value.lo << 8 | UInt64(bytes[i]) }
        var out = [UInt8](repeating: 0, count: 26)
        for i in stride(from: 25, through: 0, by: -1) {
            let digit = Int(value.lo & 31)
            out[i] = alphabet[digit]
            value.lo = value.lo >> 5 | (value.hi & 31) << 59
            value.hi >>= 5
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Ids users may choose: 1–128 printable characters without spaces or slashes,
    /// so an id is always safe as a file name and as one shell word.
    public static func validate(_ id: String) throws {
        guard !id.isEmpty else { throw QueueError.invalidInput("\"id\" must not be empty") }
        guard id.utf8.count <= 128 else { throw QueueError.invalidInput("\"id\" is longer than 128 bytes") }
        let allowed = id.unicodeScalars.allSatisfy { s in
            (s.value >= 0x21 && s.value <= 0x7E) && s != "/" && s != "\\" && s != "'" && s != "\"" && s != "`"
        }
        guard allowed, id != ".", id != ".." else {
            throw QueueError.invalidInput("\"id\" may only hold printable ASCII without spaces, quotes or slashes: \(id.debugDescription)")
        }
    }
}
