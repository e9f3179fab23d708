import Foundation
import Testing
@testable import QueueCore

/// Job specs from JSON: required and optional fields, types, ranges, unknown fields.
@Suite struct JobSpecTests {
    func spec(_ text: String) throws -> JobSpec { try JobSpec(json: JSONValue.parse(text)) }

    func rejection(_ text: String) -> QueueError? {
        do { _ = try spec(text); return nil } catch let e as QueueError { return e } catch { return nil }
    }

    @Test func minimalSpecGetsDefaults() throws {
        let s = try spec(#"{"command":"echo hi"}"#)
        #expect(s.command == "echo hi")
        #expect(s.id == nil && s.maxRetries == nil && s.priority == 0 && s.runAt == nil && s.delaySeconds == nil && s.timeout == nil)
        let now = Timestamp(milliseconds: 1_800_000_000_000)
        #expect(s.eligibleAt(now: now) == now)
    }

    @Test func everyFieldIsRead() throws {
        let s = try spec(#"{"id":"job-1","command":"sleep 1","max_retries":2,"priority":-3,"run_at":"2030-01-02T03:04:05.678Z","timeout":1.5}"#)
        #expect(s.id == "job-1" && s.maxRetries == 2 && s.priority == -3 && s.timeout == 1.5)
        #expect(s.runAt == Timestamp(iso8601: "2030-01-02T03:04:05.678Z"))
        #expect(s.eligibleAt(now: .now()) == s.runAt)
        #expect(try spec(#"{"command":"x","max-retries":4}"#).maxRetries == 4)
        #expect(try spec(#"{"command":"x","max_retries":2.0}"#).maxRetries == 2)
    }

    @Test func delayCountsFromEnqueueTime() throws {
        let s = try spec(#"{"command":"x","delay":2.5}"#)
        let now = Timestamp(milliseconds: 1_800_000_000_000)
        #expect(s.eligibleAt(now: now) == Timestamp(milliseconds: 1_800_000_002_500))
    }

    @Test func nullOptionalFieldsMeanDefault() throws {
        let s = try spec(#"{"id":null,"command":"x","max_retries":null,"priority":null,"run_at":null,"delay":null,"timeout":null}"#)
        #expect(s.id == nil && s.maxRetries == nil && s.priority == 0 && s.timeout == nil)
    }

    @Test(arguments: [
        (#"{}"#, "missing required field \"command\""),
        (#"{"id":"a"}"#, "missing required field \"command\""),
        (#"{"command":""}"#, "must not be empty"),
        (#"{"command":"   \t\n"}"#, "must not be empty"),
        (#"{"command":null}"#, "\"command\" must be a string"),
        (#"{"command":42}"#, "\"command\" must be a string"),
        (#"{"command":["echo","hi"]}"#, "\"command\" must be a string"),
        (#"{"command":"x\u0000y"}"#, "NUL"),
        (#"{"command":"x","max_retries":-1}"#, "max_retries"),
        (#"{"command":"x","max_retries":1001}"#, "max_retries"),
        (#"{"command":"x","max_retries":1.5}"#, "max_retries\" must be an integer"),
        (#"{"command":"x","max_retries":"3"}"#, "max_retries\" must be an integer"),
        (#"{"command":"x","max_retries":true}"#, "max_retries\" must be an integer"),
        (#"{"command":"x","priority":"high"}"#, "priority\" must be an integer"),
        (#"{"command":"x","priority":2000000}"#, "priority"),
        (#"{"command":"x","id":7}"#, "\"id\" must be a string"),
        (#"{"command":"x","id":""}"#, "\"id\" must not be empty"),
        (#"{"command":"x","id":"a b"}"#, "\"id\" may only hold"),
        (#"{"command":"x","id":"../etc"}"#, "\"id\" may only hold"),
        (#"{"command":"x","id":".."}"#, "\"id\" may only hold"),
        (#"{"command":"x","timeout":0}"#, "timeout"),
        (#"{"command":"x","timeout":-1}"#, "timeout"),
        (#"{"command":"x","timeout":"ten seconds"}"#, "timeout"),
        (#"{"command":"x","delay":-5}"#, "delay"),
        (#"{"command":"x","delay":"soon"}"#, "delay"),
        (#"{"command":"x","run_at":"tomorrow"}"#, "run_at"),
        (#"{"command":"x","run_at":"2030-01-01T25:00:00"}"#, "run_at"),
        (#"{"command":"x","run_at":1893456000}"#, "run_at"),
        (#"{"command":"x","run_at":"2030-01-01T00:00:00Z","delay":5}"#, "either \"run_at\" or \"delay\""),
        (#"{"command":"x","retries":3}"#, "unknown field \"retries\""),
        (#"{"command":"x","state":"completed"}"#, "unknown field \"state\""),
        (#"["command","x"]"#, "must be a JSON object"),
        (#""echo hi""#, "must be a JSON object"),
    ])
    func invalidSpecsAreRejected(text: String, fragment: String) {
        let error = rejection(text)
        #expect(error?.kind == .invalidInput, "accepted \(text)")
        #expect(error?.message.contains(fragment) == true, "\(error?.message ?? "nil") should mention \(fragment)")
    }

    @Test func unknownFieldErrorListsTheAcceptedOnes() {
        let message = rejection(#"{"command":"x","cmd":"y"}"#)?.message ?? ""
        for field in JobSpec.fields { #expect(message.contains(field)) }
    }

    @Test func commandLengthIsLimitedToWhatExecAccepts() throws {
        let longest = String(repeating: "a", count: JobSpec.maximumCommandBytes)
        #expect(throws: Never.self) { try JobSpec(command: longest) }
        #expect(throws: QueueError.self) { try JobSpec(command: longest + "a") }
    }

    @Test func flagFormIsValidatedTheSameWay() {
        #expect(throws: QueueError.self) { try JobSpec(command: "") }
        #expect(throws: QueueError.self) { try JobSpec(command: "x", maxRetries: -1) }
        #expect(throws: QueueError.self) { try JobSpec(command: "x", delaySeconds: -1) }
        #expect(throws: QueueError.self) { try JobSpec(command: "x", timeout: 0) }
        #expect(throws: QueueError.self) { try JobSpec(command: "x", runAt: .now(), delaySeconds: 1) }
        #expect(throws: QueueError.self) { try JobSpec(id: "has space", command: "x") }
    }
}
