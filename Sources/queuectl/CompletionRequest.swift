#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The call a shell completion script makes on Tab (`queuectl ---completion …`).
enum CompletionRequest {
    /// Sends stderr to /dev/null for a completion request: whatever goes wrong
    /// (a script from an older queuectl, a shell that passed odd words), an error
    /// line must not land in the middle of the command line being typed; the
    /// shell simply offers no candidates.
    static func silenceErrors(for arguments: [String]) {
        guard arguments.first == "---completion" else { return }
        let null = open("/dev/null", O_WRONLY)
        if null >= 0 { dup2(null, STDERR_FILENO); close(null) }
    }
}
