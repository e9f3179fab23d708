import Foundation

/// Generates job and worker ids that sort by creation time (ULID layout: 48-bit
/// millisecond time + 80 random bits, Crockford base32, 26 characters). Ids made
/// by one process sort in the order they were made, even within a millisecond.
public enum JobID {
    private static let alphabet = Array("0123456789ABCDEFGHJKMNPQRSTVWXYZ".utf8)

    public static func generate(at time: Timestamp = .now()) -> String {
        var bytes = [UInt8](repeating: 0, count: 16)
        let ms = UInt64(max(0, time.milliseconds))
        for i in 0..<6 { bytes[i] = UInt8(truncatingIfNeeded: ms >> (8 * (5 - i))) }
        let random = last.next(milliseconds: ms)
        for i in 0..<10 { bytes[6 + i] = random[i] }
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

    /// The random part of the last id, so ids made in the same millisecond by this
    /// process (a batch enqueue) still sort in the order they were made: the random
    /// part is incremented instead of drawn again (ULID's monotonic mode).
    private static let last = LastRandom()

    private final class LastRandom: @unchecked Sendable {
        private let lock = NSLock()
        private var milliseconds: UInt64 = 0
        private var random = [UInt8](repeating: 0, count: 10)

        func next(milliseconds ms: UInt64) -> [UInt8] {
            lock.withLock {
                if ms == milliseconds {
                    // Big-endian increment; 80 bits never run out within a millisecond.
                    var i = random.count - 1
                    while i >= 0 {
                        random[i] &+= 1
                        if random[i] != 0 { break }
                        i -= 1
                    }
                } else {
                    var rng = SystemRandomNumberGenerator()
                    for i in random.indices { random[i] = rng.next() }
                    // Leave headroom so increments within this millisecond never wrap.
                    random[0] &= 0x7F
                    milliseconds = ms
                }
                return random
            }
        }
    }

    /// Ids users may choose: 1–128 printable characters without spaces or slashes,
    /// so an id is always safe as a file name and as one shell word.
    /// `field` names the value in the message (queue names follow the same rule).
    public static func validate(_ id: String, field: String = "id") throws {
        guard !id.isEmpty else { throw QueueError.invalidInput("\"\(field)\" must not be empty") }
        guard id.utf8.count <= 128 else { throw QueueError.invalidInput("\"\(field)\" is longer than 128 bytes") }
        let allowed = id.unicodeScalars.allSatisfy { s in
            (s.value >= 0x21 && s.value <= 0x7E) && s != "/" && s != "\\" && s != "'" && s != "\"" && s != "`"
        }
        guard allowed, id != ".", id != ".." else {
            throw QueueError.invalidInput("\"\(field)\" may only hold printable ASCII without spaces, quotes or slashes: \(SafeText.quoted(id))")
        }
    }
}
