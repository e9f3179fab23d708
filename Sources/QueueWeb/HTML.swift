import QueueCore

/// Text made safe to put in an HTML page. Job fields (commands, ids, errors,
/// output) are untrusted: every one goes through `escape`, which also shows the
/// characters `SafeText` deems unsafe (terminal escape sequences, bells,
/// bidirectional overrides) the way the CLI does (ESC as `␛`), marked in red.
public enum HTML {
    public static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            case "\n", "\t": out.unicodeScalars.append(scalar)
            default:
                if SafeText.isUnsafe(scalar) {
                    out += "<span class=\"ctl\">" + SafeText.visible(String(scalar)) + "</span>"
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out
    }

    /// A value for a URL query (`?id=…`): everything but unreserved characters is percent-encoded.
    public static func query(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                out += "%" + hex2(UInt32(byte)).uppercased()
            }
        }
        return out
    }

    private static func hex2(_ v: UInt32) -> String {
        let digits = String(v, radix: 16)
        return digits.count < 2 ? "0" + digits : digits
    }
}
