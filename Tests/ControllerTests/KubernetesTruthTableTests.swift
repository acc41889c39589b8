import Foundation
import GRPCCore
import Testing
import WeftControlAPI
import WeftModel

/// The upstream NetworkPolicy tables through a real API server: each case's namespace and
/// pod labels set and its policies created with kubectl, then every cell asked over the
/// admin socket of a weft-controller whose source is that API server, until the whole
/// table holds (the controller follows the API's watch; a deadline bounds the wait).
/// scripts/test-kubernetes.sh starts the API server and the controller and runs this with
/// WEFT_TEST_K8S_NETNS, WEFT_TEST_KUBECTL, WEFT_TEST_KUBECONFIG and WEFT_TEST_ADMIN_SOCKET;
/// without them it is skipped, saying so.
@Suite("NetworkPolicy tables through the Kubernetes API",
       .enabled(if: ProcessInfo.processInfo.environment["WEFT_TEST_ADMIN_SOCKET"] != nil,
                "needs a running API server and controller: scripts/test-kubernetes.sh"))
struct KubernetesTruthTableTests {
    let env = ProcessInfo.processInfo.environment

    /// kubectl in the API server's namespace; stdin optional. Throws with its stderr on failure.
    func kubectl(_ arguments: [String], input: String? = nil) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/nsenter")
        process.arguments = ["--net=/run/netns/\(env["WEFT_TEST_K8S_NETNS"]!)", env["WEFT_TEST_KUBECTL"]!,
                             "--kubeconfig", env["WEFT_TEST_KUBECONFIG"]!, "--request-timeout=20s"] + arguments
        let stdin = Pipe(), stderr = Pipe()
        process.standardInput = stdin
        process.standardError = stderr
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        if let input { stdin.fileHandleForWriting.write(Data(input.utf8)) }
        try stdin.fileHandleForWriting.close()
        process.waitUntilExit()
        let message = String(decoding: stderr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        try #require(process.terminationStatus == 0, "kubectl \(arguments.joined(separator: " ")): \(message)")
    }

    /// The case's objects in the API: labels as the case says (the world's otherwise), its
    /// policies and no others. `labels` holds what this test last set on each object (it
    /// is the only writer), so a label an earlier case added is removed.
    func apply(_ c: NetpolTruthTable.Case, in table: NetpolTruthTable, labels: inout [String: [String: String]]) throws {
        for ns in ["x", "y", "z"] { try kubectl(["delete", "networkpolicy", "--all", "-n", ns]) }
        for ns in table.world.namespaces {
            try relabel(["namespace", ns.name], to: c.namespaceLabels?[ns.name] ?? ns.labels, labels: &labels)
        }
        for pod in table.world.pods {
            try relabel(["pod", "-n", pod.namespace, pod.name], to: c.podLabels?["\(pod.namespace)/\(pod.name)"] ?? pod.labels, labels: &labels)
        }
        guard !c.policies.isEmpty else { return }
        struct Item: Encodable { var apiVersion = "networking.k8s.io/v1", kind = "NetworkPolicy"; var metadata: ObjectReference; var spec: NetworkPolicySpec }
        struct List: Encodable { var apiVersion = "v1", kind = "List"; var items: [Item] }
        let list = List(items: c.policies.map { Item(metadata: $0.metadata, spec: $0.spec) })
        try kubectl(["apply", "-f", "-"], input: String(decoding: try JSONEncoder().encode(list), as: UTF8.self))
    }

    /// Sets `target` on the object and removes the labels it had beyond it (the name label
    /// is the API server's business, never set or removed here).
    func relabel(_ object: [String], to target: [String: String], labels: inout [String: [String: String]]) throws {
        let key = object.joined(separator: " "), name = NamespaceSpec.nameLabel
        let wanted = target.filter { $0.key != name }
        let before = labels[key] ?? [:]
        guard before != wanted || labels[key] == nil else { return }
        let removals = before.keys.filter { wanted[$0] == nil }.map { "\($0)-" }
        try kubectl(["label", "--overwrite"] + object + wanted.map { "\($0.key)=\($0.value)" }.sorted() + removals.sorted())
        labels[key] = wanted
    }

    @Test("every cell of every table, the policies created with kubectl")
    func everyCell() async throws {
        let table = try NetpolTruthTable.load()
        let socket = env["WEFT_TEST_ADMIN_SOCKET"]!
        var cells = 0, wrong: [String] = [], labels: [String: [String: String]] = [:]
        for c in table.cases {
            try apply(c, in: table, labels: &labels)
            let deadline = ContinuousClock.now + .seconds(60)
            var mismatches: [String] = []
            let expected = try NetpolTruthTable.cells(of: c)
            repeat {
                mismatches = try await AdminTests.admin(socket) { admin in
                    var found: [String] = []
                    for cell in expected {
                        let answer = try await admin.checkPolicy(PolicyCheckTests.request(cell.from, cell.to, cell.proto.rawValue, UInt32(cell.port)))
                        if answer.allowed != cell.allowed { found.append("\(c.title) \(cell.text)") }
                    }
                    return found
                }
                if mismatches.isEmpty { break }
                try await Task.sleep(for: .milliseconds(200))
            } while ContinuousClock.now < deadline
            cells += expected.count
            wrong += mismatches
        }
        let listed = wrong.prefix(20).joined(separator: "\n"), allRight = wrong.isEmpty
        #expect(allRight, "\(wrong.count) of \(cells) cells wrong:\n\(listed)")
        print("KubernetesTruthTable: \(table.cases.count) cases, \(cells) cells")
    }
}
