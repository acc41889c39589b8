import Testing
import WeftAgent

@Suite("the keyed diff every kind goes through")
struct KeyedDiffTests {
    static func describe(_ edits: [KeyedDiff<String, Int>.Edit]) -> [String] {
        edits.map { edit in
            switch edit {
            case .add(let k, let v): "+\(k)=\(v)"
            case .update(let k, let old, let new): "~\(k)=\(old)>\(new)"
            case .delete(let k, let v): "-\(k)=\(v)"
            }
        }
    }

    @Test("additions and updates in the desired order, the first of duplicate keys wins, deletions sorted, equal values untouched")
    func order() {
        let desired: [(key: String, value: Int)] = [(key: "c", value: 3), (key: "a", value: 9), (key: "c", value: 7), (key: "b", value: 2)]
        let diff = KeyedDiff(desired: desired, observed: ["a": 1, "b": 2, "z": 26, "y": 25], same: ==, deleteOrder: <)
        #expect(Self.describe(diff.upserts) == ["+c=3", "~a=1>9"])
        #expect(Self.describe(diff.deletes) == ["-y=25", "-z=26"])
        #expect(!diff.isEmpty)
    }

    @Test("`same` decides what counts as different (fields the kernel fills in are not compared)")
    func sameness() {
        let desired: [(key: String, value: Int)] = [(key: "a", value: 10)]
        let sameDecade: (Int, Int) -> Bool = { $0 / 10 == $1 / 10 }
        let diff = KeyedDiff(desired: desired, observed: ["a": 11], same: sameDecade, deleteOrder: <)
        #expect(diff.isEmpty)
    }

    @Test("maps walk in key order; sets only add and delete; equal inputs give nothing")
    func mapsAndSets() {
        let maps = KeyedDiff(desired: ["b": 1, "a": 1], observed: [:], order: <)
        #expect(Self.describe(maps.upserts) == ["+a=1", "+b=1"])
        let sets = KeyedDiff(desired: Set(["x", "y"]), observed: Set(["y", "w"]), order: <)
        #expect(sets.upserts.count == 1 && sets.deletes.count == 1)
        if case .add(let key, _) = sets.upserts[0] { #expect(key == "x") } else { Issue.record("not an add") }
        #expect(KeyedDiff(desired: ["a": 1], observed: ["a": 1], order: <).isEmpty)
    }
}
