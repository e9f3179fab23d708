import Foundation
import PostgresNIO
import QueueCore

/// What a connection's TLS checks, from the address's `sslmode` and `sslrootcert`,
/// with libpq's meaning (the reference):
///
/// | sslmode | encrypted | the certificate checked |
/// |---|---|---|
/// | `disable` | no | — |
/// | `prefer` | when the server offers TLS | never |
/// | `require` | always | only if a root certificate file exists (then as `verify-ca`) |
/// | `verify-ca` | always | signed by a root of the root certificate file, and in date |
/// | `verify-full` | always | as `verify-ca`, and it names the host of the address |
///
/// The root certificate file is `sslrootcert=/path` (PEM, one or more certificates),
/// else `~/.postgresql/root.crt` (home from `HOME`, else the password database). The
/// verifying modes fail when it is missing, as libpq does; `sslrootcert=system`
/// (verify-full only) trusts the system's roots instead.
///
/// The name check follows RFC 6125, as swift-nio-ssl does it: a host name matches
/// the certificate's DNS names (wildcards in the first label), an IP address its IP
/// addresses. One difference from libpq: swift-nio-ssl also accepts a host name
/// whose resolved address is one of the certificate's IP addresses.
enum PostgresTLS {
    /// The root certificate file libpq reads by default, under the home folder.
    static let defaultRootFile = ".postgresql/root.crt"

    /// postgres-nio's TLS setting for `address`; throws one line when a verifying
    /// mode has no usable root certificate file.
    static func configuration(for address: PostgresAddress,
                              defaultRootFile: String?) throws -> PostgresConnection.Configuration.TLS {
        if address.tlsMode == .disable { return .disable }
        var tls = TLSConfiguration.makeClientConfiguration()
        let verification = try verification(for: address, defaultRootFile: defaultRootFile)
        switch verification {
        case .none:
            tls.certificateVerification = .none
        case .chain(let roots), .chainAndName(let roots):
            tls.certificateVerification = verification.checksName ? .fullVerification : .noHostnameVerification
            tls.trustRoots = roots
        }
        let context = try NIOSSLContext(configuration: tls)
        return address.tlsMode == .prefer ? .prefer(context) : .require(context)
    }

    /// What is checked of the server's certificate.
    enum Verification {
        case none
        case chain(NIOSSLTrustRoots)
        case chainAndName(NIOSSLTrustRoots)

        var checksName: Bool { if case .chainAndName = self { true } else { false } }
    }

    static func verification(for address: PostgresAddress, defaultRootFile: String?) throws -> Verification {
        switch address.tlsMode {
        case .disable, .prefer:
            return .none
        case .require, .verifyCA, .verifyFull:
            break
        }
        if address.rootCertificate == PostgresAddress.systemRoots { return .chainAndName(.default) }
        let explicit = address.rootCertificate != nil
        guard let path = address.rootCertificate ?? defaultRootFile else {
            if address.tlsMode == .require { return .none }
            throw failure(address, "no home folder to find ~/\(Self.defaultRootFile) in; give sslrootcert=PATH")
        }
        guard FileManager.default.fileExists(atPath: path) else {
            // As libpq: without the file, require encrypts without checking; a
            // verifying mode, or a file named in the address, cannot go on.
            if address.tlsMode == .require && !explicit { return .none }
            throw failure(address, """
                root certificate file \(SafeText.quoted(path)) does not exist (sslmode=\(address.tlsMode.rawValue)); \
                provide it, give sslrootcert=PATH, or sslrootcert=system for the system's trust roots
                """)
        }
        let roots: [NIOSSLCertificate]
        do {
            roots = try NIOSSLCertificate.fromPEMFile(path)
        } catch {
            throw failure(address, "cannot read root certificate file \(SafeText.quoted(path)): \(readFailure(path))")
        }
        guard !roots.isEmpty else {
            throw failure(address, "root certificate file \(SafeText.quoted(path)) holds no PEM certificate")
        }
        return address.tlsMode == .verifyFull ? .chainAndName(.certificates(roots)) : .chain(.certificates(roots))
    }

    /// The reason a connection failed, when it is that the server's certificate did
    /// not pass the checks: one line naming what was checked.
    static func verificationFailure(_ error: any Error, address: PostgresAddress) -> String? {
        let mode = "(sslmode=\(address.tlsMode.rawValue))"
        if let extra = error as? NIOSSLExtraError, extra == .failedToValidateHostname {
            return "the server's certificate does not name \(address.host) \(mode)"
        }
        if let ssl = error as? NIOSSLError, case .handshakeFailed(let reason) = ssl,
           String(describing: reason).contains("CERTIFICATE_VERIFY_FAILED") {
            let roots = switch address.rootCertificate {
            case PostgresAddress.systemRoots?: "one of the system's trust roots"
            case let path?: "a root in \(SafeText.quoted(path))"
            case nil: "a root in ~/\(defaultRootFile)"
            }
            return "the server's certificate is not signed by \(roots), or is out of date \(mode)"
        }
        return nil
    }

    /// `~/.postgresql/root.crt`, nil when there is no home folder.
    static func defaultRootPath(environment: [String: String]) -> String? {
        var home = environment["HOME"] ?? ""
        if home.isEmpty, let entry = getpwuid(geteuid()), let dir = entry.pointee.pw_dir { home = String(cString: dir) }
        return home.isEmpty ? nil : (home.hasSuffix("/") ? home : home + "/") + defaultRootFile
    }

    private static func readFailure(_ path: String) -> String {
        access(path, R_OK) != 0 ? String(cString: strerror(errno)).lowercased() : "not a PEM certificate file"
    }

    private static func failure(_ address: PostgresAddress, _ reason: String) -> QueueError {
        PostgresFailure.unreachable(address, reason)
    }
}
