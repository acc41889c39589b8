// libFuzzer target: the cluster file, as an operator (or whoever can write the ConfigMap)
// writes it: the raw-text scan, Yams, decoding and every validation rule (scripts/fuzz).
// Built from the sources of Yams (with libyaml), WeftModel, the planner's validation and
// ClusterFile.swift in one module, so all of them are instrumented.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzClusterFile(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard let text = String(validating: UnsafeBufferPointer(start: data, count: size), as: UTF8.self) else { return 0 }
    _ = try? ClusterFile.parse(text, name: "fuzz")
    return 0
}
