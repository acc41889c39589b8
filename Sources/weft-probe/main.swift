#if canImport(Glibc)
import Glibc
#endif

// weft-probe: the lab's test image (weft.local/probe:1), like Kubernetes' agnhost for the
// upstream NetworkPolicy tests.
//   weft-probe serve --ports 80,81          TCP and UDP on each port; answers with the host name
//   weft-probe connect [--timeout S] tcp|udp HOST PORT
//                                           exit 0 with the answer printed, 1 without one
// Glibc only (no Foundation): the binary is small and starts at once.

func fail(_ message: String) -> Never {
    let line = Array("weft-probe: \(message)\n".utf8)
    _ = line.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
    exit(2)
}

func hostName() -> [UInt8] {
    var buffer = [CChar](repeating: 0, count: 256)
    gethostname(&buffer, buffer.count - 1)
    return Array(String(cString: buffer).utf8) + [0x0a]
}

func ipv4(_ host: String, _ port: UInt16) -> sockaddr_in {
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = port.bigEndian
    guard inet_pton(AF_INET, host, &address.sin_addr) == 1 else { fail("\(host) is not an IPv4 address") }
    return address
}

func withSockaddr<T>(_ address: inout sockaddr_in, _ body: (UnsafePointer<sockaddr>, socklen_t) -> T) -> T {
    withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
}

func listener(_ type: Int32, _ port: UInt16) -> Int32 {
    let fd = socket(AF_INET, type, 0)
    var one: Int32 = 1
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
    var address = ipv4("0.0.0.0", port)
    guard withSockaddr(&address, { bind(fd, $0, $1) }) == 0 else { fail("bind port \(port): \(String(cString: strerror(errno)))") }
    if type == Int32(SOCK_STREAM.rawValue) { listen(fd, 128) }
    return fd
}

func serve(ports: [UInt16]) -> Never {
    let answer = hostName()
    let tcp = Int32(SOCK_STREAM.rawValue), udp = Int32(SOCK_DGRAM.rawValue)
    var sockets: [(fd: Int32, stream: Bool)] = []
    for port in ports { sockets += [(listener(tcp, port), true), (listener(udp, port), false)] }
    var fds = sockets.map { pollfd(fd: $0.fd, events: Int16(POLLIN), revents: 0) }
    let banner = Array("weft-probe: serving TCP and UDP on \(ports.map(String.init).joined(separator: ","))\n".utf8)
    _ = banner.withUnsafeBytes { write(1, $0.baseAddress, $0.count) }
    var buffer = [UInt8](repeating: 0, count: 2048)
    while true {
        guard poll(&fds, nfds_t(fds.count), -1) > 0 else { continue }
        for (i, entry) in fds.enumerated() where entry.revents & Int16(POLLIN) != 0 {
            if sockets[i].stream {
                let client = accept(entry.fd, nil, nil)
                guard client >= 0 else { continue }
                _ = answer.withUnsafeBytes { write(client, $0.baseAddress, $0.count) }
                close(client)
            } else {
                var from = sockaddr_storage(), length = socklen_t(MemoryLayout<sockaddr_storage>.size)
                let n = withUnsafeMutablePointer(to: &from) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { recvfrom(entry.fd, &buffer, buffer.count, 0, $0, &length) }
                }
                guard n >= 0 else { continue }
                _ = withUnsafePointer(to: &from) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                        answer.withUnsafeBytes { sendto(entry.fd, $0.baseAddress, $0.count, 0, pointer, length) }
                    }
                }
            }
        }
    }
}

/// Waits for `fd` to be ready for `events` within `milliseconds`.
func ready(_ fd: Int32, _ events: Int32, _ milliseconds: Int32) -> Bool {
    var entry = pollfd(fd: fd, events: Int16(events), revents: 0)
    return poll(&entry, 1, milliseconds) == 1 && entry.revents & Int16(events) != 0
}

func connectProbe(proto: String, host: String, port: UInt16, timeout: Double) -> Never {
    let milliseconds = Int32(timeout * 1000)
    let stream = proto == "tcp"
    let fd = socket(AF_INET, Int32(stream ? SOCK_STREAM.rawValue : SOCK_DGRAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
    var address = ipv4(host, port)
    let started = withSockaddr(&address) { Glibc.connect(fd, $0, $1) }
    if started != 0 && errno != EINPROGRESS { exit(1) }
    if stream {
        guard ready(fd, POLLOUT, milliseconds) else { exit(1) }
        var error: Int32 = 0, length = socklen_t(MemoryLayout<Int32>.size)
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length)
        guard error == 0 else { exit(1) }
    } else {
        _ = send(fd, "probe\n", 6, 0)
    }
    var buffer = [UInt8](repeating: 0, count: 512)
    guard ready(fd, POLLIN, milliseconds) else { exit(1) }
    let n = read(fd, &buffer, buffer.count)
    guard n > 0 else { exit(1) }
    _ = buffer.withUnsafeBytes { write(1, $0.baseAddress, n) }
    exit(0)
}

var arguments = Array(CommandLine.arguments.dropFirst())
switch arguments.first {
case "serve":
    guard arguments.count == 3, arguments[1] == "--ports" else { fail("usage: weft-probe serve --ports 80,81") }
    let ports = arguments[2].split(separator: ",").map { text -> UInt16 in
        guard let port = UInt16(text) else { fail("\(text) is not a port") }
        return port
    }
    serve(ports: ports)
case "connect":
    arguments.removeFirst()
    var timeout = 2.0
    if arguments.first == "--timeout", arguments.count >= 2 {
        guard let seconds = Double(arguments[1]), seconds > 0 else { fail("--timeout takes seconds") }
        timeout = seconds
        arguments.removeFirst(2)
    }
    guard arguments.count == 3, ["tcp", "udp"].contains(arguments[0].lowercased()), let port = UInt16(arguments[2]) else {
        fail("usage: weft-probe connect [--timeout S] tcp|udp HOST PORT")
    }
    connectProbe(proto: arguments[0].lowercased(), host: arguments[1], port: port, timeout: timeout)
default:
    fail("usage: weft-probe serve --ports P,Q | connect [--timeout S] tcp|udp HOST PORT")
}
