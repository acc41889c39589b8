import Foundation

/// A command running in the background (a ping across a reconcile, a capture), its output
/// collected in a temporary file. `finish()` waits for it; `stop()` ends it first, with
/// SIGKILL: a child inherits the test runner's signal mask, in which SIGINT and SIGTERM
/// may be blocked (run line-buffered commands, so that nothing is lost).
final class Background: @unchecked Sendable {
    let process = Process()
    let output: URL

    init(_ command: [String]) throws {
        output = FileManager.default.temporaryDirectory.appendingPathComponent("weft-bg-\(UUID().uuidString)")
        FileManager.default.createFile(atPath: output.path, contents: nil)
        let handle = try FileHandle(forWritingTo: output)
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = command
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
    }

    deinit { try? FileManager.default.removeItem(at: output) }

    var text: String { (try? String(contentsOf: output, encoding: .utf8)) ?? "" }

    /// Waits until the output contains `marker` (at most `timeout` seconds).
    func wait(for marker: String, timeout: TimeInterval = 10) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if text.contains(marker) { return true }
            Thread.sleep(forTimeInterval: 0.05)
        }
        return false
    }

    @discardableResult
    func finish() -> String {
        process.waitUntilExit()
        return text
    }

    @discardableResult
    func stop() -> String {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        return finish()
    }
}

/// "N packets transmitted, M received" of a finished ping.
func pingLoss(_ output: String) -> (sent: Int, received: Int)? {
    guard let line = output.split(separator: "\n").first(where: { $0.contains("packets transmitted") }) else { return nil }
    let numbers = line.split(whereSeparator: { !$0.isNumber }).compactMap { Int($0) }
    return numbers.count >= 2 ? (numbers[0], numbers[1]) : nil
}
