import CNetlink
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Batches: many requests, few syscalls, each failure matched to its request.
extension NetlinkSocket {
    /// Sends many requests with few syscalls and reports exactly which ones failed.
    ///
    /// Requests go out in chunks of at most `chunkBytes`, each chunk in one `sendmsg`. Only the
    /// last message of a chunk asks for an ACK; the kernel answers every failing message with
    /// an error regardless, and processes a chunk in order, so when the last ACK arrives every
    /// error of the chunk has arrived before it. The receive buffer (8 MiB) holds far more
    /// error replies than a chunk can produce, so none is lost; if one ever were (ENOBUFS),
    /// the unanswered requests are reported as `replyLost` rather than assumed done.
    public func apply(_ requests: [Request], chunkBytes: Int = 64 << 10) -> BatchResult {
        lock.lock()
        defer { lock.unlock() }
        var result = BatchResult(count: requests.count)
        var start = 0
        while start < requests.count {
            var end = start, size = 0
            while end < requests.count, end == start || size + requests[end].bytes.count <= chunkBytes {
                size += requests[end].bytes.count
                end += 1
            }
            result.failures += applyChunk(requests, start..<end, size: size)
            start = end
        }
        return result
    }

    private func applyChunk(_ requests: [Request], _ range: Range<Int>, size: Int) -> [BatchFailure] {
        var chunk: [UInt8] = []
        chunk.reserveCapacity(size)
        var firstSequence: UInt32 = 0
        for index in range {
            var bytes = requests[index].bytes
            let sequence = stamp(&bytes, ack: index == range.upperBound - 1)
            if index == range.lowerBound { firstSequence = sequence }
            chunk += bytes
        }
        let lastSequence = firstSequence &+ UInt32(range.count - 1)
        do {
            try send(chunk, operation: requests[range.lowerBound].summary)
        } catch {
            return range.map { BatchFailure(index: $0, error: NetlinkError(operation: requests[$0].summary, reason: error.reason)) }
        }
        var failures: [BatchFailure] = []
        while true {
            let messages: [Message]
            do {
                messages = try receiveBatch(operation: requests[range.lowerBound].summary)
            } catch {
                // Overrun or timeout: every request not yet answered has an unknown outcome.
                let answered = Set(failures.map(\.index))
                let reason: NetlinkError.Reason = error.errno == .noBufferSpace ? .replyLost : error.reason
                return failures + range.filter { !answered.contains($0) }.map {
                    BatchFailure(index: $0, error: NetlinkError(operation: requests[$0].summary, reason: reason))
                }
            }
            for message in messages where message.header.type == .error && message.header.portID == portID {
                let offset = Int(message.header.sequence &- firstSequence)
                guard offset >= 0, offset < range.count else { continue }
                let index = range.lowerBound + offset
                do {
                    let reply = try ErrorMessage(decoding: message)
                    if !reply.isAck {
                        failures.append(BatchFailure(index: index, error: NetlinkError(
                            operation: requests[index].summary,
                            reason: .kernel(Errno(rawValue: reply.errno), message: reply.extAckMessage))))
                    }
                } catch {
                    failures.append(BatchFailure(index: index, error: NetlinkError(operation: requests[index].summary, reason: .malformedReply(error))))
                }
                if message.header.sequence == lastSequence { return failures }
            }
        }
    }
}
