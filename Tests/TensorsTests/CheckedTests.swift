import Testing
import Tensors

@Suite struct CheckedTests {
    @Test func productOfSizes() {
        #expect(Checked.product([3, 4, 5]) == 60)
        #expect(Checked.product([Int]()) == 1)
        #expect(Checked.product([0]) == 0)
        #expect(Checked.product([Int.max, 0]) == 0)
        #expect(Checked.product([Int.max, 1]) == Int.max)
        #expect(Checked.product([-1, 0]) == nil)
        #expect(Checked.product([1 << 32, 1 << 31]) == nil)
    }

    /// FuzzGGUF found a shape whose count is 0 in GGUF's ne order but overflows in shape order
    /// before the zero: refused in every order, so no later `reduce(1, *)` over it can trap.
    @Test func aZeroDoesNotHideAnOverflowOfTheOtherSizes() {
        let ne = [42_949_672_961, 0, 5312, 1 << 56]
        #expect(Checked.product(ne) == nil)
        #expect(Checked.product(ne.reversed()) == nil)
        #expect(Checked.product([1 << 40, 0, 1 << 30]) == nil)
    }
}
