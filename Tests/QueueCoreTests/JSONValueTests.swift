import Foundation
import Testing
@testable import QueueCore

/// The strict JSON reader: what it accepts, what it rejects (with a message), and
/// JSON lines vs one array for `enqueue -`.
@Suite struct JSONValueTests {
    func parseBytes(_ bytes: [UInt8]) throws -> JSONValue {
        try bytes.withUnsafeBufferPointer { try JSONValue.parse(bytes: $0) }
    }

    func rejection(_ text: String) -> String? {
        do { _ = try JSONValue.parse(text); return nil } catch let e as QueueError {
            #expect(e.kind == .invalidInput)
            return e.message
        } catch { return "\(error)" }
    }

    @Test func parsesEveryKindOfValueKeepingMemberOrder() throws {
        let v = try JSONValue.parse(#" { "z": 1, "a": [true, false, null], "m": {"s": "x\"y\\\n\u00e9\ud83d\ude00"}, "n": -0.5e1 } "#)
        guard case let .object(members) = v else { Issue.record("not an object"); return }
        #expect(members.map(\.0) == ["z", "a", "m", "n"])
        #expect(v["z"] == .int(1))
        #expect(v["a"] == .array([.bool(true), .bool(false), .null]))
        #expect(v["m"]?["s"] == .string("x\"y\\\né😀"))
        #expect(v["n"] == .double(-5))
    }

    @Test func integersKeepTheirExactValue() throws {
        guard case let .number(_, integer) = try JSONValue.parse("9007199254740993") else { Issue.record(); return }
        #expect(integer == 9_007_199_254_740_993)
        guard case let .number(_, i2) = try JSONValue.parse("-9223372036854775808") else { Issue.record(); return }
        #expect(i2 == Int64.min)
        guard case let .number(d, i3) = try JSONValue.parse("2.5") else { Issue.record(); return }
        #expect(d == 2.5 && i3 == nil)
    }

    /// Integers of up to 18 digits are read digit by digit; the result must be what
    /// converting the text gives, bit for bit (rounding above 2^53, the sign of -0).
    @Test(arguments: ["0", "-0", "7", "-42", "123456789012345678", "-999999999999999999", "900719925474099313",
                      "1234567890123456789", "-9223372036854775807"])
    func integerDigitsConvertLikeTheirText(_ text: String) throws {
        guard case let .number(d, integer) = try JSONValue.parse(text) else { Issue.record("not a number"); return }
        #expect(d.bitPattern == Double(text)!.bitPattern)
        #expect(integer == Int64(text)!)
    }

    @Test(arguments: [
        (#"{"a":1,"a":2}"#, "duplicate key"),
        (#"{"command":"x","command":"y"}"#, "duplicate key"),
        (#"{"a":{"b":1,"b":1}}"#, "duplicate key"),
        (#""\ud800""#, "surrogate"),
        (#""\udc00x""#, "surrogate"),
        (#""\ud800\u0041""#, "surrogate"),
        ("9223372036854775808", "out of range"),
        ("1e400", "out of range"),
        ("-1e400", "out of range"),
        (#"{"a":1} x"#, "after the JSON value"),
        (#"{"a":1}{"b":2}"#, "after the JSON value"),
        ("01", "leading zeros"),
        ("1.", "invalid number"),
        ("-", "invalid number"),
        ("+1", "unexpected character"),
        ("NaN", "unexpected character"),
        ("[1,]", "unexpected character"),
        (#"{"a":1,}"#, "quoted key"),
        ("{'a':1}", "quoted key"),
        (#"{"a" 1}"#, "expected ':'"),
        ("\"tab\there\"", "control character"),
        (#""\x""#, "invalid escape"),
        (#""\u12G4""#, "invalid \\u escape"),
        (#""abc"#, "unterminated string"),
        ("", "unexpected end"),
        ("   ", "unexpected end"),
        ("[1, 2", "unexpected end"),
        ("tru", "unexpected end"),
        ("nul", "unexpected end"),
    ])
    func rejectsWithAClearMessage(text: String, fragment: String) {
        let message = rejection(text)
        #expect(message != nil, "accepted \(text.debugDescription)")
        #expect(message?.hasPrefix("invalid JSON: ") == true)
        #expect(message?.contains(fragment) == true, "\(message ?? "nil") should mention \(fragment)")
        #expect(message?.contains("\n") == false)
    }

    @Test func invalidUTF8InsideAStringIsRejected() {
        for bytes: [UInt8] in [
            Array(#"{"command":"echo "#.utf8) + [0xFF] + Array(#""}"#.utf8),
            Array(#""a"#.utf8) + [0xC3] + Array(#"""#.utf8),           // truncated sequence
            Array(#"""#.utf8) + [0xED, 0xA0, 0x80] + Array(#"""#.utf8),  // UTF-8-encoded surrogate
            Array(#"""#.utf8) + [0xC0, 0xAF] + Array(#"""#.utf8),        // overlong '/'
            Array(#""\n"#.utf8) + [0xFE] + Array(#"""#.utf8),          // after an escape
        ] {
            #expect(throws: QueueError.self, "accepted \(bytes)") { try parseBytes(bytes) }
        }
    }

    @Test func validMultibyteUTF8IsAccepted() throws {
        #expect(try parseBytes(Array(#""héllo ✓ 😀""#.utf8)) == .string("héllo ✓ 😀"))
    }

    @Test func nestingIsLimited() throws {
        let ok = String(repeating: "[", count: JSONValue.maximumDepth) + String(repeating: "]", count: JSONValue.maximumDepth)
        #expect(throws: Never.self) { try JSONValue.parse(ok) }
        let deep = String(repeating: "[", count: JSONValue.maximumDepth + 1) + String(repeating: "]", count: JSONValue.maximumDepth + 1)
        #expect(rejection(deep)?.contains("nested deeper") == true)
        // Far deeper input fails cleanly instead of overflowing the stack.
        let absurd = String(repeating: #"{"a":"#, count: 200_000)
        #expect(rejection(absurd)?.contains("nested deeper") == true)
    }

    @Test func jsonLinesGiveOneValuePerLine() throws {
        let values = try JSONValue.parseSequence(Array("{\"a\":1}\n\n  {\"a\":2}  \r\n{\"a\":3}".utf8))
        #expect(values == [.object([("a", .int(1))]), .object([("a", .int(2))]), .object([("a", .int(3))])])
        #expect(try JSONValue.parseSequence(Array("\n \n".utf8)).isEmpty)
    }

    @Test func oneTopLevelArrayGivesItsElements() throws {
        let values = try JSONValue.parseSequence(Array(" [ {\"a\":1},\n {\"a\":2} ]\n".utf8))
        #expect(values.count == 2)
        #expect(try JSONValue.parseSequence(Array("[]".utf8)).isEmpty)
    }

    @Test func sequenceErrorsNameTheLine() {
        do {
            _ = try JSONValue.parseSequence(Array("{\"a\":1}\n{\"a\":2} {\"a\":3}\n".utf8))
            Issue.record("two values on one line were accepted")
        } catch let e as QueueError {
            #expect(e.message.contains("line 2"))
        } catch { Issue.record("\(error)") }
        do {
            _ = try JSONValue.parseSequence(Array("{\"a\":1}\n{\"a\":2}\n{\"a\":\n".utf8))
            Issue.record("a truncated line was accepted")
        } catch let e as QueueError {
            #expect(e.message.contains("line 3") || e.message.contains("line 4"), "\(e.message)")
        } catch { Issue.record("\(error)") }
        #expect(throws: QueueError.self) { try JSONValue.parseSequence(Array("[{\"a\":1}] {\"a\":2}".utf8)) }
        #expect(throws: QueueError.self) { try JSONValue.parseSequence(Array("{\"a\":1,\"a\":1}".utf8)) }
    }

    @Test func serializesEscapedAndInOrder() throws {
        let v = JSONValue.object([("b", .string("q\"\\\n\u{01}")), ("a", .array([.int(1), .double(1.5), .null, .bool(true)]))])
        #expect(v.serialized() == #"{"b":"q\"\\\n\u0001","a":[1,1.5,null,true]}"#)
        #expect(try JSONValue.parse(v.serialized()) == v)
        #expect(try JSONValue.parse(v.serialized(pretty: true)) == v)
    }
}
