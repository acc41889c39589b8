import Netlink

/// `ip xfrm` has no JSON output; weftctl's uses the words of its text output
/// (src, dst, proto, spi, reqid, mode, sel, tmpl, …) as field names.
/// Keys print as `<redacted>` unless `--show-keys` was given.
enum XfrmFormat {
    static func spi(_ spi: UInt32) -> String {
        let digits = String(spi, radix: 16)
        return "0x" + String(repeating: "0", count: max(0, 8 - digits.count)) + digits
    }

    static func key(_ key: SecretBytes, show: Bool) -> String { show ? key.revealedHex : key.description }

    static func selectorJSON(_ s: XfrmSelector) -> JSON {
        var o = JSONObject()
        o.add("src", s.source.description)
        o.add("dst", s.destination.description)
        if s.protocolID != .any { o.add("proto", s.protocolID.description) }
        if s.sourcePortMask != 0 { o.add("sport", s.sourcePort) }
        if s.destinationPortMask != 0 { o.add("dport", s.destinationPort) }
        if s.ifindex != 0 { o.add("dev", s.ifindex) }
        return o.json
    }

    static func selectorText(_ s: XfrmSelector) -> String {
        var line = "src \(s.source) dst \(s.destination)"
        if s.protocolID != .any { line += " proto \(s.protocolID)" }
        if s.sourcePortMask != 0 { line += " sport \(s.sourcePort)" }
        if s.destinationPortMask != 0 { line += " dport \(s.destinationPort)" }
        return line
    }

    static func markJSON(_ mark: XfrmMark?) -> JSON? {
        mark.map { .object([("value", .string(hex($0.value))), ("mask", .string(hex($0.mask)))]) }
    }

    static func algorithmJSON(_ algorithm: XfrmAlgorithm?, lengthKey: String?, showKeys: Bool) -> JSON? {
        guard let algorithm else { return nil }
        var o = JSONObject()
        o.add("name", algorithm.name)
        o.add("key", key(algorithm.key, show: showKeys))
        o.add("key_bits", algorithm.key.count * 8)
        if let lengthKey { o.add(lengthKey, algorithm.lengthBits) }
        return o.json
    }

    static func limitsJSON(_ l: XfrmLifetime) -> JSON? {
        var o = JSONObject()
        let inf = XfrmLifetime.infinite
        if l.softByteLimit != inf { o.add("soft_bytes", l.softByteLimit) }
        if l.hardByteLimit != inf { o.add("hard_bytes", l.hardByteLimit) }
        if l.softPacketLimit != inf { o.add("soft_packets", l.softPacketLimit) }
        if l.hardPacketLimit != inf { o.add("hard_packets", l.hardPacketLimit) }
        if l.softAddExpiresSeconds != 0 { o.add("soft_add_seconds", l.softAddExpiresSeconds) }
        if l.hardAddExpiresSeconds != 0 { o.add("hard_add_seconds", l.hardAddExpiresSeconds) }
        return o.fields.isEmpty ? nil : o.json
    }

    static func json(_ s: XfrmState, showKeys: Bool) -> JSON {
        var o = JSONObject()
        o.add("src", s.source.description)
        o.add("dst", s.destination.description)
        o.add("proto", s.protocolID.description)
        o.add("spi", spi(s.spi))
        o.add("reqid", s.reqid)
        o.add("mode", s.mode.description)
        o.add("replay_window", s.replayWindow)
        o.add("flags", strings: flagNames(s.flags, XfrmStateFlags.names))
        o.add("aead", algorithmJSON(s.aead, lengthKey: "icv_len", showKeys: showKeys))
        o.add("enc", algorithmJSON(s.encryption, lengthKey: nil, showKeys: showKeys))
        o.add("auth_trunc", algorithmJSON(s.authentication, lengthKey: "trunc_len", showKeys: showKeys))
        o.add("mark", markJSON(s.mark))
        o.add("output_mark", markJSON(s.outputMark))
        o.add("if_id", s.interfaceID.map(hex))
        o.add("sel", selectorJSON(s.selector))
        o.add("limits", limitsJSON(s.lifetime))
        o.add("stats", JSON.object([
            ("bytes", .unsigned(s.counters.bytes)), ("packets", .unsigned(s.counters.packets)),
            ("add_time", .unsigned(s.counters.addTime)), ("use_time", .unsigned(s.counters.useTime)),
            ("replay", .unsigned(UInt64(s.replayStats.replay))),
            ("integrity_failed", .unsigned(UInt64(s.replayStats.integrityFailed))),
        ]))
        return o.json
    }

    static func text(_ s: XfrmState, showKeys: Bool) -> String {
        var lines = ["src \(s.source) dst \(s.destination)"]
        lines.append("\tproto \(s.protocolID) spi \(spi(s.spi)) reqid \(s.reqid) mode \(s.mode)")
        var replay = "\treplay-window \(s.replayWindow)"
        let flags = flagNames(s.flags, XfrmStateFlags.names)
        if !flags.isEmpty { replay += " flag " + flags.joined(separator: " ") }
        lines.append(replay)
        if let m = s.mark { lines.append("\tmark \(m)") }
        if let a = s.aead { lines.append("\taead \(a.name) \(key(a.key, show: showKeys)) \(a.lengthBits)") }
        if let a = s.authentication { lines.append("\tauth-trunc \(a.name) \(key(a.key, show: showKeys)) \(a.lengthBits)") }
        if let a = s.encryption { lines.append("\tenc \(a.name) \(key(a.key, show: showKeys))") }
        if let m = s.outputMark { lines.append("\toutput-mark \(hex(m.value))/\(hex(m.mask))") }
        if let id = s.interfaceID { lines.append("\tif_id \(hex(id))") }
        lines.append("\tsel " + selectorText(s.selector))
        lines.append("\tstats bytes \(s.counters.bytes) packets \(s.counters.packets) replay \(s.replayStats.replay) integrity-failed \(s.replayStats.integrityFailed)")
        return lines.joined(separator: "\n")
    }

    static func json(_ p: XfrmPolicy) -> JSON {
        var o = JSONObject()
        o.add("sel", selectorJSON(p.selector))
        o.add("dir", p.direction.description)
        o.add("priority", p.priority)
        o.add("index", p.index)
        o.add("action", p.action.description)
        o.add("mark", markJSON(p.mark))
        o.add("if_id", p.interfaceID.map(hex))
        o.add("tmpl", JSON.array(p.templates.map { t in
            var o = JSONObject()
            o.add("src", t.source.description)
            o.add("dst", t.destination.description)
            o.add("proto", t.protocolID.description)
            if t.spi != 0 { o.add("spi", spi(t.spi)) }
            o.add("reqid", t.reqid)
            o.add("mode", t.mode.description)
            o.add("level", t.optional ? "use" : "required")
            return o.json
        }))
        return o.json
    }

    static func text(_ p: XfrmPolicy) -> String {
        var lines = [selectorText(p.selector)]
        lines.append("\tdir \(p.direction) priority \(p.priority) index \(p.index)" + (p.action == .allow ? "" : " action \(p.action)"))
        if let m = p.mark { lines.append("\tmark \(m)") }
        if let id = p.interfaceID { lines.append("\tif_id \(hex(id))") }
        for t in p.templates {
            lines.append("\ttmpl src \(t.source) dst \(t.destination)")
            lines.append("\t\tproto \(t.protocolID) reqid \(t.reqid) mode \(t.mode)" + (t.optional ? " level use" : ""))
        }
        return lines.joined(separator: "\n")
    }
}
