import Generation
import Testing

/// Streamed text is what decoding all the bytes at once gives, cut before the first stop
/// string; nothing that could begin a stop string is shown before it is known not to.
@Suite struct TextStreamTests {
    static func run(_ pieces: [[UInt8]], stops: [String]) -> (chunks: [String], all: String, stopped: Bool) {
        var stream = TextStream(stops: stops)
        var chunks = pieces.map { stream.append($0) }
        chunks.append(stream.finish())
        return (chunks, chunks.joined(), stream.stopped)
    }

    @Test func aCharacterSplitAcrossTokensIsShownWhole() {
        let euro = Array("€".utf8), smile = Array("🙂".utf8)
        let result = Self.run([[euro[0]], [euro[1], euro[2], smile[0]], [smile[1], smile[2]], [smile[3]], Array(" ok".utf8)], stops: [])
        #expect(result.chunks == ["", "€", "", "🙂", " ok", ""])
        #expect(!result.stopped)
    }

    @Test func textStopsBeforeTheStopStringAndHoldsAPartialMatch() {
        let result = Self.run(["Hello", " wor", "ld\nUs", "er:", " more"].map { Array($0.utf8) }, stops: ["\nUser:"])
        #expect(result.all == "Hello world")
        #expect(result.chunks == ["Hello", " wor", "ld", "", "", ""])
        #expect(result.stopped)
    }

    @Test func aPartialMatchThatFailsIsShownLater() {
        let result = Self.run(["a\nU", "sual"].map { Array($0.utf8) }, stops: ["\nUser:"])
        #expect(result.chunks == ["a", "\nUsual", ""])
        #expect(result.all == "a\nUsual")
    }

    @Test func theEarliestOfSeveralStopsWins() {
        #expect(Self.run([Array("x END y STOP".utf8)], stops: ["STOP", "END"]).all == "x ")
    }

    @Test func bytesThatNeverBecomeUTF8AreReplacedAtTheEnd() {
        let result = Self.run([[0x61, 0xE2, 0x82]], stops: [])
        #expect(result.chunks == ["a", "\u{FFFD}"])
    }
}
