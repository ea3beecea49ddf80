import BitPacking
import Testing
import Verify

/// verify's op check and the simulated reference share one relative-error criterion. Where
/// they differed was an all-zero reference: Verifier took the absolute difference there, so
/// a kernel off by 1e-7 of nothing passed a 1e-6 relative tolerance.
struct RelativeErrorTests {
    @Test func anAllZeroReferenceAgreesOnlyWithAllZeros() {
        #expect(SimulatedReference.relativeError([0, 0, 0], [0, 0, 0]) == 0)
        #expect(SimulatedReference.relativeError([-0.0, 0], [0, -0.0]) == 0)
        #expect(SimulatedReference.relativeError([1e-7, 0], [0, 0]) == .infinity)
        #expect(!(SimulatedReference.relativeError([1e-7, 0], [0, 0]) <= OpCheck.tolerance))
    }

    @Test func aNonZeroReferenceIsTheScale() {
        // max |a − r| = 0.5 over max |r| = 4, by hand.
        #expect(SimulatedReference.relativeError([0.5, 4, -2], [0, 4, -2]) == 0.125)
        #expect(SimulatedReference.relativeError([3, -4], [2, -4]) == 0.25)
    }
}
