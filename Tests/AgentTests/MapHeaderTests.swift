import Foundation
import Testing
import WeftAgent

/// bpf/weft_maps.h is the one definition of the trust maps and verdict reasons; the
/// agent's names for them must be the header's, in the header's order.
@Suite("the agent's map and reason names against bpf/weft_maps.h")
struct MapHeaderTests {
    static let header: String = {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return (try? String(contentsOf: root.appendingPathComponent("bpf/weft_maps.h"), encoding: .utf8)) ?? ""
    }()

    static func matches(_ pattern: String) -> [String] {
        let regex = try! NSRegularExpression(pattern: pattern, options: [.anchorsMatchLines])
        let text = header as NSString
        return regex.matches(in: header, range: NSRange(location: 0, length: text.length)).map { text.substring(with: $0.range(at: 1)) }
    }

    @Test("verdict reasons: the enum weft_reason's names, lower-cased, by key")
    func reasons() {
        let fromHeader = Self.matches(#"^\s*WEFT_((?:PASS|DROP)_[A-Z_]+) = \d+,"#).map { $0.lowercased() }
        #expect(!fromHeader.isEmpty, "bpf/weft_maps.h not found or its enum changed shape")
        #expect(TrustFilters.reasons == fromHeader)
    }

    @Test("trust maps: every map the agent fills from the desired state is declared in the header (the pods' entries, the connections and the counters are kept apart)")
    func maps() {
        let fromHeader = Self.matches(#"^\} (weft_[a-z_]+) SEC\("\.maps"\);"#)
        let apart: Set = ["weft_counters", "weft_conntrack", "weft_endpoints", "weft_pod_counters"]
        #expect(fromHeader.filter { !apart.contains($0) } == TrustMapContents.names)
        #expect(apart.isSubset(of: fromHeader))
    }

    @Test("programs: each TrustProgram's function is defined in its object's source")
    func programs() throws {
        let bpf = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("bpf")
        for program in TrustProgram.all {
            let source = try String(contentsOf: bpf.appendingPathComponent(program.object.replacingOccurrences(of: ".o", with: ".c")), encoding: .utf8)
            #expect(source.contains("int \(program.function)(struct __sk_buff *skb)"), "\(program.function) in \(program.object)")
        }
    }
}
