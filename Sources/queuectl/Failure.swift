import ArgumentParser
import Foundation
import QueueCore

/// Runs a command body, turning queuectl errors into one `error: …` line on stderr
/// and the documented exit code (1 runtime, 3 not found, 4 conflict, 64 invalid input).
func reportingErrors(_ body: () throws -> Void) throws {
    do {
        try body()
    } catch let error as QueueError {
        Terminal.printError(error.message)
        throw ExitCode(error.kind.exitStatus)
    } catch let error as ExitCode {
        throw error
    } catch let error as ValidationError {
        throw error
    } catch {
        Terminal.printError("\(error)")
        throw ExitCode(1)
    }
}
