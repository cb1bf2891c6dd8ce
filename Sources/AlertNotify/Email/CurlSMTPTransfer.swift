import CCurl

/// Everything one SMTP transfer needs, as plain values (no C pointers), so it
/// can be handed to the transfer's thread.
struct SMTPRequest: Sendable {
    /// `smtp://host:port/<EHLO name>` or `smtps://…` (libcurl sends the URL's
    /// path as the EHLO name).
    var url: String
    /// A `CURLOPT_CONNECT_TO` entry `name:port:host:port`, when the URL names
    /// the TLS server name rather than the host to connect to.
    var connectTo: String?
    /// STARTTLS required (`CURLUSESSL_ALL`) or used when offered (`CURLUSESSL_TRY`).
    var requireTLS: Bool
    /// `<address>` for MAIL FROM.
    var mailFrom: String
    /// `<address>` each, for RCPT TO.
    var recipients: [String]
    var message: [UInt8]
    var username: String?
    var password: String?
    var authorizationIdentity: String?
    var caFile: String?
    var certFile: String?
    var keyFile: String?
    var insecureSkipVerify: Bool
    var timeoutMilliseconds: Int
}

/// How a transfer ended: libcurl's code, the last SMTP reply code (0 when
/// none), and libcurl's own words.
struct SMTPTransferOutcome: Sendable {
    var code: CURLcode
    var responseCode: Int
    var detail: String

    var succeeded: Bool { code == CURLE_OK }
}

/// `curl_global_init` must run once before any other libcurl call and is not
/// thread-safe in every build: a global `let` is initialized exactly once,
/// on first use, under Swift's lazy-global lock.
private let curlGlobalInitialization: CURLcode = CCurl_global_init_default()

/// One libcurl easy handle doing one SMTP transfer. The only type that holds
/// libcurl pointers; it lives on the transfer's thread from creation to
/// `deinit`, and nothing else sees it.
///
/// Lifetimes: the handle points at the slists, the error buffer and the
/// upload source while it lives, so `deinit` cleans the handle up first and
/// frees those after. Strings set as options are copied by libcurl.
final class CurlSMTPTransfer {
    private let handle: UnsafeMutableRawPointer
    private var recipients: UnsafeMutablePointer<curl_slist>?
    private var connectTo: UnsafeMutablePointer<curl_slist>?
    private let errorBuffer: UnsafeMutablePointer<CChar>
    private let upload: UploadSource
    /// The first option libcurl refused, if any.
    private var refusedOption: (option: String, code: CURLcode)?

    /// Runs `request` to the end, blocking the calling thread (up to
    /// `timeoutMilliseconds`). Call from a dedicated thread, never from the
    /// cooperative pool.
    static func perform(_ request: SMTPRequest) -> SMTPTransferOutcome {
        guard curlGlobalInitialization == CURLE_OK else {
            return SMTPTransferOutcome(code: curlGlobalInitialization, responseCode: 0, detail: "curl_global_init failed")
        }
        guard let handle = curl_easy_init() else {
            return SMTPTransferOutcome(code: CURLE_FAILED_INIT, responseCode: 0, detail: "curl_easy_init failed")
        }
        return CurlSMTPTransfer(handle: handle, request: request).run()
    }

    private init(handle: UnsafeMutableRawPointer, request: SMTPRequest) {
        self.handle = handle
        errorBuffer = .allocate(capacity: CCurl_error_size)
        errorBuffer.initialize(repeating: 0, count: CCurl_error_size)
        upload = UploadSource(request.message)
        configure(request)
    }

    deinit {
        curl_easy_cleanup(handle)
        curl_slist_free_all(recipients)
        curl_slist_free_all(connectTo)
        errorBuffer.deallocate()
    }

    private func configure(_ request: SMTPRequest) {
        set(CURLOPT_ERRORBUFFER, "CURLOPT_ERRORBUFFER", pointer: UnsafeMutableRawPointer(errorBuffer))
        // No signals: libcurl is used from several threads (its advice for
        // multi-threaded programs; timeouts still work with the threaded resolver).
        set(CURLOPT_NOSIGNAL, "CURLOPT_NOSIGNAL", 1)
        // Only SMTP, whatever a misconfigured URL says.
        set(CURLOPT_PROTOCOLS_STR, "CURLOPT_PROTOCOLS_STR", "smtp,smtps")
        set(CURLOPT_URL, "CURLOPT_URL", request.url)
        if let entry = request.connectTo {
            connectTo = curl_slist_append(nil, entry)
            set(CURLOPT_CONNECT_TO, "CURLOPT_CONNECT_TO", list: connectTo)
        }
        set(CURLOPT_USE_SSL, "CURLOPT_USE_SSL", Int(request.requireTLS ? CURLUSESSL_ALL.rawValue : CURLUSESSL_TRY.rawValue))
        set(CURLOPT_TIMEOUT_MS, "CURLOPT_TIMEOUT_MS", request.timeoutMilliseconds)

        set(CURLOPT_MAIL_FROM, "CURLOPT_MAIL_FROM", request.mailFrom)
        for recipient in request.recipients {
            recipients = curl_slist_append(recipients, recipient)
        }
        set(CURLOPT_MAIL_RCPT, "CURLOPT_MAIL_RCPT", list: recipients)
        set(CURLOPT_UPLOAD, "CURLOPT_UPLOAD", 1)
        set(CURLOPT_READDATA, "CURLOPT_READDATA", pointer: Unmanaged.passUnretained(upload).toOpaque())
        record(CCurl_setopt_read_function(handle, readUploadSource), "CURLOPT_READFUNCTION")

        if let username = request.username {
            set(CURLOPT_USERNAME, "CURLOPT_USERNAME", username)
            set(CURLOPT_PASSWORD, "CURLOPT_PASSWORD", request.password ?? "")
        }
        if let identity = request.authorizationIdentity {
            set(CURLOPT_SASL_AUTHZID, "CURLOPT_SASL_AUTHZID", identity)
        }

        if let caFile = request.caFile { set(CURLOPT_CAINFO, "CURLOPT_CAINFO", caFile) }
        if let certFile = request.certFile { set(CURLOPT_SSLCERT, "CURLOPT_SSLCERT", certFile) }
        if let keyFile = request.keyFile { set(CURLOPT_SSLKEY, "CURLOPT_SSLKEY", keyFile) }
        if request.insecureSkipVerify {
            set(CURLOPT_SSL_VERIFYPEER, "CURLOPT_SSL_VERIFYPEER", 0)
            set(CURLOPT_SSL_VERIFYHOST, "CURLOPT_SSL_VERIFYHOST", 0)
        }
    }

    private func run() -> SMTPTransferOutcome {
        if let refused = refusedOption {
            let reason = String(cString: curl_easy_strerror(refused.code))
            return SMTPTransferOutcome(code: refused.code, responseCode: 0, detail: "libcurl refused \(refused.option): \(reason)")
        }
        let code = curl_easy_perform(handle)
        var responseCode = 0
        _ = CCurl_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &responseCode)
        let message = String(cString: errorBuffer)
        let detail = message.isEmpty ? String(cString: curl_easy_strerror(code)) : message
        return SMTPTransferOutcome(code: code, responseCode: responseCode, detail: detail)
    }

    // MARK: Options (each checked: a refused option fails the transfer before it starts)

    private func set(_ option: CURLoption, _ name: String, _ value: Int) {
        record(CCurl_setopt_long(handle, option, value), name)
    }

    private func set(_ option: CURLoption, _ name: String, _ value: String) {
        record(CCurl_setopt_string(handle, option, value), name)
    }

    private func set(_ option: CURLoption, _ name: String, pointer: UnsafeMutableRawPointer) {
        record(CCurl_setopt_pointer(handle, option, pointer), name)
    }

    private func set(_ option: CURLoption, _ name: String, list: UnsafeMutablePointer<curl_slist>?) {
        record(CCurl_setopt_slist(handle, option, list), name)
    }

    private func record(_ code: CURLcode, _ name: String) {
        if code != CURLE_OK && refusedOption == nil { refusedOption = (name, code) }
    }
}

/// The message bytes, handed to libcurl piece by piece from its read
/// callback. Used only on the transfer's thread.
private final class UploadSource {
    private let bytes: [UInt8]
    private var offset = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    /// Copies the next bytes into `buffer`; 0 at the end.
    func read(into buffer: UnsafeMutableRawBufferPointer) -> Int {
        let count = min(buffer.count, bytes.count - offset)
        guard count > 0 else { return 0 }
        bytes.withUnsafeBytes { source in
            buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: source[offset..<(offset + count)]))
        }
        offset += count
        return count
    }
}

/// libcurl's `CURLOPT_READFUNCTION`: `context` is the transfer's
/// `UploadSource` (`CURLOPT_READDATA`), alive for the whole transfer.
private func readUploadSource(_ buffer: UnsafeMutablePointer<CChar>?, _ size: Int, _ count: Int, _ context: UnsafeMutableRawPointer?) -> Int {
    guard let buffer, let context else { return CCurl_read_abort }
    let source = Unmanaged<UploadSource>.fromOpaque(context).takeUnretainedValue()
    return source.read(into: UnsafeMutableRawBufferPointer(start: buffer, count: size * count))
}
