/// Which S input columns of a matrix get the salient plane set, from the calibration
/// statistics: the S largest scores, ties to the lower index, returned in increasing order.
public enum SalientColumnChoice: String, Sendable, CaseIterable {
    /// diag(H)_j · Σ_n W[n, j]²: the output error a column's weights would add alone if every
    /// input were uncorrelated with the others.
    case hessianDiagonal
    /// BiLLM's saliency Σ_n W[n, j]² / [H⁻¹]_jj² (damped H), the OBS weight importance.
    case inverseHessian

    func choose(_ weights: [Float], n: Int, k: Int, count s: Int, statistics: InputStatistics, damp: Double) throws(QuantizerFailure) -> [Int] {
        var columnEnergy = [Double](repeating: 0, count: k)
        for row in 0..<n {
            for j in 0..<k { columnEnergy[j] += Double(weights[row * k + j]) * Double(weights[row * k + j]) }
        }
        var score = [Double](repeating: 0, count: k)
        switch self {
        case .hessianDiagonal:
            for j in 0..<k { score[j] = statistics.hessian[j * k + j] * columnEnergy[j] }
        case .inverseHessian:
            let hessian = DampedHessian(statistics.hessian, k: k, damp: damp)
            guard let u = DampedHessian.inverseUpperCholesky(hessian.values, k: k) else {
                throw .statistics("hessian is not positive semidefinite (its damped Cholesky fails)")
            }
            // H⁻¹ = UᵀU: [H⁻¹]_jj is the squared norm of column j of U (rows 0...j).
            var inverseDiagonal = [Double](repeating: 0, count: k)
            for i in 0..<k {
                for j in i..<k { inverseDiagonal[j] += u[i * k + j] * u[i * k + j] }
            }
            for j in 0..<k { score[j] = columnEnergy[j] / (inverseDiagonal[j] * inverseDiagonal[j]) }
        }
        let ranked = (0..<k).sorted { score[$0] > score[$1] || (score[$0] == score[$1] && $0 < $1) }
        return ranked.prefix(s).sorted()
    }
}

extension QuantizerGroups {
    /// These groups with their salient columns chosen by `choice` (unchanged without any).
    func choosingSalient(_ weights: [Float], n: Int, statistics: InputStatistics?, choice: SalientColumnChoice,
                         damp: Double) throws(QuantizerFailure) -> QuantizerGroups {
        guard salient > 0 else { return self }
        guard let statistics else {
            throw .statistics("salient columns are chosen from calibration statistics, and there are none (convert with --calibrate)")
        }
        var result = self
        result.salientColumns = try choice.choose(weights, n: n, k: k, count: salient, statistics: statistics, damp: damp)
        return result
    }
}

extension SalientColumnChoice {
    /// The quantizers' default, chosen by measurement (formats/XNORPopcountGemm.md "Salient columns").
    public static let defaultChoice = SalientColumnChoice.hessianDiagonal
}
