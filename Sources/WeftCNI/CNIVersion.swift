/// The CNI spec versions weft-cni speaks. Results are the same shape from 0.3.0 on, except
/// that before 1.0.0 each IP carries `"version": "4"`; CHECK exists from 0.4.0, STATUS and
/// GC from 1.1.0.
public enum CNIVersion {
    public static let supported = ["0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"]
    public static let newest = "1.1.0"

    /// The VERSION command's answer.
    public static func versionResult(for requested: String?) -> String {
        JSONText.encode(["cniVersion": requested.flatMap { supported.contains($0) ? $0 : nil } ?? newest,
                         "supportedVersions": supported])
    }

    /// Whether `command` exists in spec version `version` (a supported one).
    public static func allows(_ command: CNICommand, in version: String) -> Bool {
        switch command {
        case .add, .del, .version: true
        case .check: version != "0.3.0" && version != "0.3.1"
        case .status, .gc: version == "1.1.0"
        }
    }

    /// Results before 1.0.0 name each IP's family.
    static func listsIPVersion(_ version: String) -> Bool { version.hasPrefix("0.") }
}
