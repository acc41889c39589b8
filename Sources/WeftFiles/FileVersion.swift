#if canImport(Glibc)
import Glibc
#endif

/// A version of a file, without reading it, for sources that poll one (the controller's
/// cluster file, the agent's desired-state file): device, inode, modification time and
/// size, by stat() (which follows symlinks: a Kubernetes volume swaps its `..data` link,
/// not the file). "missing" when there is none.
public enum FileVersion {
    public static let missing = "missing"

    public static func of(_ path: String) -> String {
        var info = stat()
        guard stat(path, &info) == 0 else { return missing }
        return "\(info.st_dev):\(info.st_ino):\(info.st_mtim.tv_sec).\(info.st_mtim.tv_nsec):\(info.st_size)"
    }
}
