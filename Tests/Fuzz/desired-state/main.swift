// libFuzzer target: the desired-state document and its deltas, as the controller (or a
// file an operator wrote) sends them to the agent: decoding, validation and applying a
// delta to a decoded state (scripts/fuzz).
import Foundation

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzDesiredState(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Data(bytes: data, count: size)
    // The first byte picks what the rest is: a document, or a delta for a fixed document.
    guard let selector = bytes.first else { return 0 }
    let body = bytes.dropFirst()
    if selector & 1 == 0 {
        guard let state = try? DesiredNodeState.decode(Data(body)) else { return 0 }
        _ = state.validate()
        _ = try? state.encoded()
    } else if let base = baseState, let delta = try? JSONDecoder().decode(DesiredStateDelta.self, from: Data(body)) {
        _ = try? base.applying(delta)
    }
    return 0
}

/// A small valid document deltas are applied to (the seed corpus's first entry).
let baseState: DesiredNodeState? = {
    let seed = #"{"version":"1.1","revision":1,"cluster":{"id":"c","vni":42,"port":4789,"encryption":false},"node":{"name":"a","index":1,"underlay":"192.0.2.1","uplink":"eth0","device":"weft0","vtepMAC":"02:57:46:00:00:01","vtepAddress":"10.244.1.0","podCIDR":"10.244.1.0/24","mtu":1450},"peers":[],"ipcache":[],"policy":[],"quarantined":[]}"#
    return try? DesiredNodeState.decode(Data(seed.utf8))
}()
