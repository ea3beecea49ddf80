import ArgumentParser

/// Usage errors found from the command line alone, before any file is read.
enum UsageCheck {
    /// An empty path names no file: refused at once, not after the model has been built.
    static func paths(_ options: [(option: String, value: String?)]) throws {
        for (option, value) in options where value == "" {
            throw ValidationError("\(option) is empty: give a path")
        }
    }

    /// An option that the model's kind does not use is an error, not silently ignored.
    static func refuse(_ options: [(option: String, given: Bool)], because reason: String) throws {
        if let first = options.first(where: \.given) {
            throw ValidationError("\(first.option) does not apply: \(reason)")
        }
    }
}
