import Foundation
import Privacy

extension DemoPrivacy {
    /// The demo auditor's key and a policy that admits exactly the demo's own rounds: its
    /// placement, its q, its clip norm and its z (given, or calibrated as the coordinator will).
    func auditorArguments(keyPath: String, rounds: Int) -> [String] {
        let z =
            noiseMultiplier
            ?? targetEpsilon.flatMap {
                NoiseCalibration.noiseMultiplier(
                    targetEpsilon: $0,
                    delta: delta,
                    samplingRate: samplingRate,
                    rounds: rounds
                )
            }
        let floor = min(AuditorPolicy.standard.minNoiseMultiplier, z ?? AuditorPolicy.standard.minNoiseMultiplier)
        return [
            "--signing-key", keyPath, "--placements", placement, "--max-sampling-rate", "\(samplingRate)",
            "--max-clip-norm", "\(max(clipNorm, AuditorPolicy.standard.maxClipNorm))",
            // Calibration is a bisection; leave its last digits room.
            "--min-noise-multiplier", "\(floor * (1 - 1e-9))",
        ]
    }
}
