import Runtime

/// Picks the next token from a row of logits.
public struct Sampler {
    public init() {}

    /// The id of the largest logit (the lowest id on ties).
    public mutating func sample(_ logits: UnsafeBufferPointer<Float>) throws -> Int {
        try Self.argmax(logits)
    }

    static func argmax(_ logits: UnsafeBufferPointer<Float>) throws -> Int {
        var best = 0
        for i in logits.indices {
            // NaN compares false both ways: a non-finite logit would pick a token silently.
            guard logits[i].isFinite else { throw SamplingError.nonFinite(index: i, value: logits[i]) }
            if logits[i] > logits[best] { best = i }
        }
        return best
    }
}

public enum SamplingError: Error, CustomStringConvertible {
    case nonFinite(index: Int, value: Float)

    public var description: String {
        switch self {
        case .nonFinite(let index, let value):
            "logit \(index) is \(value): the model's numbers overflowed or are invalid"
        }
    }
}
