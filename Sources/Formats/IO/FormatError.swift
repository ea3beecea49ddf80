/// A problem with an input file, phrased so one line tells the user where and what.
///
/// Every reader throws this type, so the CLI can print `description` as the single line of
/// stderr the project promises for bad input.
public struct FormatError: Error, CustomStringConvertible, Sendable, Equatable {
    /// Where in the file the problem is.
    public enum Location: Sendable, Equatable {
        case file
        case offset(Int)
        case field(String)
        case fieldAtOffset(String, Int)
    }

    public var path: String
    public var location: Location
    public var message: String

    public init(path: String, location: Location = .file, _ message: String) {
        self.path = path
        self.location = location
        self.message = message
    }

    public var description: String {
        switch location {
        case .file: "\(path): \(message)"
        case .offset(let offset): "\(path): byte offset \(offset): \(message)"
        case .field(let field): "\(path): \(field): \(message)"
        case .fieldAtOffset(let field, let offset): "\(path): \(field) at byte offset \(offset): \(message)"
        }
    }
}
