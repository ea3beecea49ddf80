import Formats
import Graph

/// What must hold for every graph we accept: its JSON form, as convert writes it into a .xnor
/// file, reads back to the same graph (the If-nesting bug of issue 7 broke exactly this).
public enum GraphRoundTrip {
    public static func check(_ graph: Graph) {
        let text = JSONWriter(indent: nil).string(graph.json())
        do {
            let again = try Graph(json: JSONParser.parse(text)) { graph.initializer(named: $0) }
            let second = JSONWriter(indent: nil).string(again.json())
            guard second == text else {
                fatalError("graph JSON changed on a round trip: \(text.prefix(300)) became \(second.prefix(300))")
            }
        } catch {
            fatalError("the JSON of an accepted graph does not read back (\(error)): \(text.prefix(400))")
        }
    }
}
