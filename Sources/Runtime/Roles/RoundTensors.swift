import Rounds

/// The tensor names of a statistics round, for the coordinator that folds the moments into
/// its spec; the layout itself is `Rounds.TensorLayout`, shared by shards and the global tier.
enum RoundTensors {
    static let statisticsNames = TensorLayout.statisticsNames
}
