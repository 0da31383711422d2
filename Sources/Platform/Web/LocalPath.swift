/// The one check for a "go back to" path a form posts (`back`): a path on this site or
/// nothing. Refused: other sites (`//host`, `/\host`, `https:`), and any control, space or
/// non-ASCII character — browsers strip tabs and newlines from a `Location`, so `/<TAB>/evil.test`
/// would become `//evil.test`.
public enum LocalPath {
    public static func safe(_ path: String?) -> String? {
        guard let path, path.hasPrefix("/"), !path.hasPrefix("//"), path.utf8.count <= 2000,
              path.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7F && $0 != "\\" }) else { return nil }
        return path
    }
}
