import Testing
import Tensors

@Suite struct ByteSizeTests {
    @Test func sizesParseAsTheCLITakesThem() {
        #expect(ByteSize.parse("512") == 512)
        #expect(ByteSize.parse("20G") == 20 << 30)
        #expect(ByteSize.parse("512m") == 512 << 20)
        #expect(ByteSize.parse("1TB") == 1 << 40)
        #expect(ByteSize.parse("-1") == nil)
        #expect(ByteSize.parse("lots") == nil)
        #expect(ByteSize.parse("99999999999T") == nil)
    }
}
