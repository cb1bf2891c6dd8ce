import Foundation
import NIOSSL
import Synchronization

/// The HTTPS listener's certificate chain and private key
/// (`server.tls_server_config`), re-read from their files on every reload
/// (SIGHUP or `POST /-/reload`) so a renewed certificate is served without a
/// restart. Each new TLS handshake asks ``configuration``'s context callback
/// for the current pair; connections already open keep theirs.
///
/// Thread-safe: the pair is swapped under a mutex; handshakes run on NIO's
/// event loops and only read it.
final class ListenerTLS: Sendable {
    let files: AlerterConfig.ListenerTLSFiles
    private let current: Mutex<Pair>

    struct Pair: Sendable {
        var chain: [NIOSSLCertificate]
        var key: NIOSSLPrivateKey
    }

    init(files: AlerterConfig.ListenerTLSFiles) throws {
        self.files = files
        self.current = Mutex(try Self.read(files))
    }

    /// What is wrong with the files (unreadable, not PEM, no certificate), or nil.
    static func problem(with files: AlerterConfig.ListenerTLSFiles) -> String? {
        do {
            _ = try read(files)
            return nil
        } catch {
            return "\(error)"
        }
    }

    static func read(_ files: AlerterConfig.ListenerTLSFiles) throws -> Pair {
        let chain: [NIOSSLCertificate]
        do {
            chain = try NIOSSLCertificate.fromPEMFile(files.certFile)
        } catch {
            throw ListenerTLSError("cert_file \(files.certFile): not a PEM certificate (\(error))")
        }
        if chain.isEmpty { throw ListenerTLSError("cert_file \(files.certFile): no certificate in it") }
        let key: NIOSSLPrivateKey
        do {
            key = try NIOSSLPrivateKey(file: files.keyFile, format: .pem)
        } catch {
            throw ListenerTLSError("key_file \(files.keyFile): not a PEM private key (\(error))")
        }
        return Pair(chain: chain, key: key)
    }

    /// Re-reads the files; on failure the pair in use stays and the error is thrown.
    func reload() throws {
        let pair = try Self.read(files)
        current.withLock { $0 = pair }
    }

    /// The pair new handshakes get.
    var pair: Pair { current.withLock { $0 } }

    /// A server configuration whose handshakes use the current pair.
    var configuration: TLSConfiguration {
        let initial = pair
        var tls = TLSConfiguration.makeServerConfiguration(
            certificateChain: initial.chain.map { .certificate($0) }, privateKey: .privateKey(initial.key)
        )
        tls.sslContextCallback = { [self] _, promise in
            let pair = self.pair
            var override = NIOSSLContextConfigurationOverride()
            override.certificateChain = pair.chain.map { .certificate($0) }
            override.privateKey = .privateKey(pair.key)
            promise.succeed(override)
        }
        return tls
    }
}

public struct ListenerTLSError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
