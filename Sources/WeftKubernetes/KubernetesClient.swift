import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOSSL

/// HTTPS to one API server: JSON requests, paginated lists and watch streams. Every answer
/// is bounded: a list page, a single object or a watch event larger than its limit is an
/// error naming it, never an unbounded buffer.
public final class KubernetesClient: Sendable {
    public let endpoint: KubernetesEndpoint
    let http: HTTPClient
    let authorization: String?

    /// A list page (500 objects) or a single object beyond this is refused.
    public static let maximumBody = 64 << 20
    /// One watch event (one object) beyond this is refused: etcd keeps objects under 1.5 MB.
    public static let maximumEvent = 4 << 20
    public static let requestTimeout: TimeAmount = .seconds(30)

    public struct Failure: Error, CustomStringConvertible, Sendable {
        /// The HTTP status (0: no answer).
        public var status: Int
        public var description: String
        public var isGone: Bool { status == 410 }
    }

    public init(endpoint: KubernetesEndpoint) throws {
        self.endpoint = endpoint
        var tls = TLSConfiguration.makeClientConfiguration()
        if let ca = endpoint.caPEM { tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(ca)) }
        switch endpoint.credential {
        case .token(let token):
            authorization = "Bearer \(token)"
        case .clientCertificate(let certificate, let key):
            tls.certificateChain = try NIOSSLCertificate.fromPEMBytes(certificate).map { .certificate($0) }
            tls.privateKey = .privateKey(try NIOSSLPrivateKey(bytes: key, format: .pem))
            authorization = nil
        case nil:
            authorization = nil
        }
        var configuration = HTTPClient.Configuration(tlsConfiguration: tls)
        configuration.timeout = .init(connect: .seconds(5))
        configuration.decompression = .disabled
        http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    public func shutdown() async throws { try await http.shutdown() }

    func request(_ path: String, method: HTTPMethod = .GET, body: [UInt8]? = nil, contentType: String = "application/json") -> HTTPClientRequest {
        var request = HTTPClientRequest(url: endpoint.server + path)
        request.method = method
        request.headers.add(name: "Accept", value: "application/json")
        if let authorization { request.headers.add(name: "Authorization", value: authorization) }
        if let body {
            request.headers.add(name: "Content-Type", value: contentType)
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        return request
    }

    /// One call whose answer is a JSON body: its bytes, or a `Failure` with the API's message.
    public func call(_ path: String, method: HTTPMethod = .GET, body: [UInt8]? = nil, contentType: String = "application/json") async throws -> [UInt8] {
        let response: HTTPClientResponse
        do { response = try await http.execute(request(path, method: method, body: body, contentType: contentType), timeout: Self.requestTimeout) } catch {
            throw Failure(status: 0, description: "\(method) \(path): no answer from \(endpoint.server) (\(error))")
        }
        let bytes: ByteBuffer
        do { bytes = try await response.body.collect(upTo: Self.maximumBody) } catch {
            throw Failure(status: Int(response.status.code), description: "\(method) \(path): answer larger than \(Self.maximumBody) bytes or cut (\(error))")
        }
        let data = Array(bytes.readableBytesView)
        guard (200..<300).contains(response.status.code) else { throw Self.failure(Int(response.status.code), data, "\(method) \(path)") }
        return data
    }

    static func failure(_ status: Int, _ body: [UInt8], _ what: String) -> Failure {
        let message = (try? JSONDecoder().decode(StatusObject.self, from: Data(body)))?.message ?? String(decoding: body.prefix(256), as: UTF8.self)
        return Failure(status: status, description: "\(what): \(status) \(message.prefix(512))")
    }

    /// Every page of a list: its items and the list's resourceVersion.
    func list<Item: Decodable>(_ path: String, as: Item.Type, pageSize: Int = 500) async throws -> (items: [Item], resourceVersion: String) {
        var items: [Item] = [], token: String? = nil, version = ""
        repeat {
            var query = "?limit=\(pageSize)"
            if let token { query += "&continue=" + (token.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? token) }
            let bytes = try await call(path + query)
            let page: ListPage<Item>
            do { page = try JSONDecoder().decode(ListPage<Item>.self, from: Data(bytes)) } catch {
                throw Failure(status: 200, description: "GET \(path): not a list (\(error))")
            }
            items += page.items
            version = page.metadata.resourceVersion ?? version
            token = page.metadata.continue.flatMap { $0.isEmpty ? nil : $0 }
        } while token != nil
        return (items, version)
    }

    /// A watch from `resourceVersion`: `event` gets each event's raw JSON line, in the
    /// caller's task, until the server ends the stream (its `timeoutSeconds`), the
    /// connection breaks (thrown) or `event` throws.
    func watch(_ path: String, from resourceVersion: String, timeoutSeconds: Int, event: ([UInt8]) async throws -> Void) async throws {
        let query = "?watch=1&allowWatchBookmarks=true&resourceVersion=\(resourceVersion)&timeoutSeconds=\(timeoutSeconds)"
        let response: HTTPClientResponse
        do { response = try await http.execute(request(path + query), timeout: .seconds(Int64(timeoutSeconds) + 30)) } catch {
            throw Failure(status: 0, description: "watch \(path): no answer from \(endpoint.server) (\(error))")
        }
        guard response.status == .ok else {
            let body = (try? await response.body.collect(upTo: 64 << 10)).map { Array($0.readableBytesView) } ?? []
            throw Self.failure(Int(response.status.code), body, "watch \(path)")
        }
        var line: [UInt8] = []
        for try await chunk in response.body {
            for byte in chunk.readableBytesView {
                guard byte == 0x0a else {
                    line.append(byte)
                    guard line.count <= Self.maximumEvent else {
                        throw Failure(status: 200, description: "watch \(path): an event larger than \(Self.maximumEvent) bytes")
                    }
                    continue
                }
                if !line.isEmpty { try await event(line) }
                line.removeAll(keepingCapacity: true)
            }
        }
    }
}
