import Foundation

/// Classification metrics kept as sufficient statistics, so they add up exactly across workers.
///
/// Federated evaluation reports one of these per worker; a shard and then the global aggregator
/// ``merge(_:)`` them. Accuracy, log loss and macro-F1 are computed from merged counts (a
/// confusion matrix and a loss sum), so the merged value equals the value on the union of the
/// data — unlike averaging per-worker accuracies.
///
/// **AUC is approximate.** An AUC cannot be merged from AUCs. Instead each binary evaluation
/// carries two histograms of the predicted positive-class probability (``scoreBins`` equal-width
/// bins, one for positive and one for negative examples); merging adds the histograms and
/// ``rocAUC`` is computed from them, counting pairs in the same bin as half-concordant. The
/// error against the exact AUC on the union is at most half the fraction of positive–negative
/// pairs that share a bin, which ``rocAUCMaximumError`` reports.
public struct EvaluationMetrics: Codable, Sendable, Hashable {
    /// Number of classes (rows and columns of the confusion matrix).
    public let classCount: Int
    /// Row-major `classCount × classCount` counts: row = true class, column = predicted class.
    public private(set) var confusion: [Int]
    /// Sum of per-example cross-entropies (natural log), probabilities clamped to ≥ 1e-7.
    public private(set) var logLossSum: Double
    /// Binary tasks only: histogram of P(positive) over positive examples; empty otherwise.
    public private(set) var positiveScores: [Int]
    /// Binary tasks only: histogram of P(positive) over negative examples; empty otherwise.
    public private(set) var negativeScores: [Int]

    /// Width of the score histograms: 200 bins of 0.005.
    public static let scoreBins = 200

    /// Empty metrics for `classCount` classes (the identity of ``merge(_:)``).
    public init(classCount: Int) {
        precondition(classCount >= 2, "a classifier has at least two classes")
        self.classCount = classCount
        self.confusion = [Int](repeating: 0, count: classCount * classCount)
        self.logLossSum = 0
        let bins = classCount == 2 ? Self.scoreBins : 0
        self.positiveScores = [Int](repeating: 0, count: bins)
        self.negativeScores = [Int](repeating: 0, count: bins)
    }

    /// Number of examples evaluated.
    public var count: Int { confusion.reduce(0, +) }

    /// Fraction of examples whose most probable class is the true class (nil when empty).
    public var accuracy: Double? {
        let total = count
        guard total > 0 else { return nil }
        let correct = (0..<classCount).reduce(0) { $0 + confusion[$1 * classCount + $1] }
        return Double(correct) / Double(total)
    }

    /// Mean cross-entropy in nats (nil when empty).
    public var logLoss: Double? {
        let total = count
        return total > 0 ? logLossSum / Double(total) : nil
    }

    /// Unweighted mean over classes of per-class F1; a class absent from both truth and
    /// predictions is left out of the mean (nil when empty).
    public var macroF1: Double? {
        var sum = 0.0
        var classes = 0
        for k in 0..<classCount {
            let truePositives = confusion[k * classCount + k]
            let actual = (0..<classCount).reduce(0) { $0 + confusion[k * classCount + $1] }
            let predicted = (0..<classCount).reduce(0) { $0 + confusion[$1 * classCount + k] }
            guard actual + predicted > 0 else { continue }
            sum += 2 * Double(truePositives) / Double(actual + predicted)
            classes += 1
        }
        return classes > 0 ? sum / Double(classes) : nil
    }

    /// ROC AUC from the merged score histograms; nil unless binary with both classes present.
    public var rocAUC: Double? {
        guard classCount == 2 else { return nil }
        let positives = positiveScores.reduce(0, +)
        let negatives = negativeScores.reduce(0, +)
        guard positives > 0, negatives > 0 else { return nil }
        // Walk bins from low to high score: a positive in bin b beats every negative below b
        // and ties with the negatives in b.
        var negativesBelow = 0
        var concordant = 0.0
        for bin in 0..<positiveScores.count {
            concordant += Double(positiveScores[bin]) * (Double(negativesBelow) + Double(negativeScores[bin]) / 2)
            negativesBelow += negativeScores[bin]
        }
        return concordant / (Double(positives) * Double(negatives))
    }

    /// Upper bound on |``rocAUC`` − exact AUC|: half the share of positive–negative pairs in one bin.
    public var rocAUCMaximumError: Double? {
        guard classCount == 2 else { return nil }
        let pairs = Double(positiveScores.reduce(0, +)) * Double(negativeScores.reduce(0, +))
        guard pairs > 0 else { return nil }
        let tied = zip(positiveScores, negativeScores).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
        return tied / pairs / 2
    }

    /// Adds another worker's statistics to these.
    ///
    /// - Precondition: both have the same class count (they evaluate the same spec).
    public mutating func merge(_ other: EvaluationMetrics) {
        precondition(other.classCount == classCount, "cannot merge metrics of different tasks")
        for index in confusion.indices { confusion[index] += other.confusion[index] }
        for index in positiveScores.indices {
            positiveScores[index] += other.positiveScores[index]
            negativeScores[index] += other.negativeScores[index]
        }
        logLossSum += other.logLossSum
    }

    /// The sum of several workers' statistics.
    public static func merged(_ parts: some Sequence<EvaluationMetrics>, classCount: Int) -> EvaluationMetrics {
        parts.reduce(into: EvaluationMetrics(classCount: classCount)) { $0.merge($1) }
    }

    /// Records one example.
    mutating func record(label: Int, probabilities: UnsafePointer<Float>) {
        var predicted = 0
        for k in 1..<classCount where probabilities[k] > probabilities[predicted] { predicted = k }
        confusion[label * classCount + predicted] += 1
        logLossSum -= log(Double(max(probabilities[label], 1e-7)))
        if classCount == 2 {
            // A model whose logits overflowed gives NaN or ∞ here; `Int(_:)` of either traps, so
            // a non-finite score goes to the lowest bin instead (its loss already says it is wrong).
            let scaled = probabilities[1] * Float(Self.scoreBins)
            let bin = scaled.isFinite ? min(Int(max(scaled, 0)), Self.scoreBins - 1) : 0
            if label == 1 { positiveScores[max(bin, 0)] += 1 } else { negativeScores[max(bin, 0)] += 1 }
        }
    }

    private enum CodingKeys: String, CodingKey {
        case classCount, confusion, logLossSum, positiveScores, negativeScores
    }

    /// Decodes and checks shapes and signs: metrics arrive from workers and must not trap a merge.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        classCount = try container.decode(Int.self, forKey: .classCount)
        confusion = try container.decode([Int].self, forKey: .confusion)
        logLossSum = try container.decode(Double.self, forKey: .logLossSum)
        positiveScores = try container.decode([Int].self, forKey: .positiveScores)
        negativeScores = try container.decode([Int].self, forKey: .negativeScores)
        let bins = classCount == 2 ? Self.scoreBins : 0
        guard (2...10_000).contains(classCount), confusion.count == classCount * classCount,
            positiveScores.count == bins, negativeScores.count == bins,
            logLossSum.isFinite, logLossSum >= 0,
            !(confusion + positiveScores + negativeScores).contains(where: { $0 < 0 })
        else {
            throw DecodingError.dataCorruptedError(
                forKey: .confusion,
                in: container,
                debugDescription: "inconsistent evaluation metrics"
            )
        }
    }
}
