import Foundation
import Testing
@testable import Verify

/// The page's structure; tools/html_report_check.py renders it in Chromium and looks at the pixels.
struct FidelityPageTests {
    let page = FidelityPage(
        title: "SmolLM2 <w1a8> & co",
        summary: [("bits per weight", "2.25")],
        matrices: [
            .init(name: "blk.0.attn_q.weight", format: "b2g128", bitsPerWeight: 2.25, errorBefore: 0.3, errorAfter: 0.05),
            .init(name: "blk.0.ffn_down.weight", format: "b3g192", bitsPerWeight: 3.25, errorBefore: 0.2, errorAfter: 0.01),
            .init(name: "blk.1.attn_v.weight", format: "source", bitsPerWeight: 16),
        ],
        positions: [.init(kl: 0.1, sameTop1: true), .init(kl: 2.5, sameTop1: false), .init(kl: .nan, sameTop1: false)])

    func count(_ needle: String, in text: String) -> Int {
        text.components(separatedBy: needle).count - 1
    }

    @Test func drawsOneMarkPerMatrixAndPosition() {
        let html = page.html()
        #expect(count("<svg id=\"chart-bits\"", in: html) == 1)
        #expect(count("<svg id=\"chart-error\"", in: html) == 1)
        #expect(count("<svg id=\"chart-kl\"", in: html) == 1)
        // One bar per matrix; a dot per error that exists (two matrices have both).
        #expect(count("fill=\"\(FidelityPage.bitsColor)\"><title>", in: html) == 3)
        #expect(count("<circle", in: html) == 4)
        // Two positions whose top-1 differs, the NaN one included; the NaN KL is left out of the path.
        #expect(count("stroke=\"\(FidelityPage.missColor)\" stroke-width=\"1.5\"", in: html) == 2)
        #expect(count(" L", in: html.components(separatedBy: "<path d=\"")[1].components(separatedBy: "\"")[0]) == 1)
    }

    @Test func selfContainedAndEscaped() {
        let html = page.html()
        // The SVG namespace is a name, not a fetch; nothing else may point off the page.
        let withoutNamespace = html.replacingOccurrences(of: "xmlns=\"http://www.w3.org/2000/svg\"", with: "")
        #expect(!withoutNamespace.contains("http://") && !withoutNamespace.contains("https://"))
        #expect(!html.contains("src="))
        #expect(!html.contains("<script"))
        #expect(html.contains("SmolLM2 &lt;w1a8&gt; &amp; co"))
    }

    @Test func saysWhenThereIsNothingToDraw() {
        let html = FidelityPage(title: "empty").html()
        #expect(html.contains("no converted matrices"))
        #expect(html.contains("not calibrated"))
        #expect(html.contains("no per-position KL divergence"))
    }

    @Test func numbersAreShort() {
        #expect(FidelityPage.number(2.25) == "2.25")
        #expect(FidelityPage.number(16) == "16")
        #expect(FidelityPage.number(0.000123) == "1.23e-4")
        #expect(FidelityPage.number(123456) == "1.235e5")
    }
}
