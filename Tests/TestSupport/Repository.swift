/// The repository's root folder, found from this file's path, so tests read fixtures/
/// wherever the checkout is.
public let repositoryRoot: String = {
    var parts = #filePath.split(separator: "/", omittingEmptySubsequences: false)
    parts.removeLast(3)
    return parts.joined(separator: "/")
}()

/// A path under fixtures/.
public func fixturePath(_ relative: String) -> String {
    repositoryRoot + "/fixtures/" + relative
}
