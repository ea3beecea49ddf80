import Foundation

/// A path for a file a test writes: `name` in a folder of this process for `suite`, with no
/// file there yet, so a test that checks a refusal to overwrite starts from nothing.
public func scratchFile(_ name: String, suite: String) -> String {
    let dir = NSTemporaryDirectory() + "xnor-\(suite)-tests-\(getpid())"
    try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    let path = dir + "/" + name
    try? FileManager.default.removeItem(atPath: path)
    return path
}
