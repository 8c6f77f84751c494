import ArgumentParser
import Foundation
import Runtime

extension FedPulse {
    /// Synthetic users as CSV exports: sample data in the format real exports take.
    struct ExportSynthetic: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "export-synthetic",
            abstract: "Write synthetic wearable users as CSV files (one per device, plus test.csv) for --data / --data-dir."
        )

        @Option(help: "Directory to write into.")
        var out: String

        @Option(help: "Number of device files.")
        var devices: Int = 12

        @Option(help: "Users in test.csv (the central hold-out).")
        var holdoutUsers: Int = 60

        @OptionGroup var learning: LearningOptions

        func validate() throws {
            guard devices >= 1, holdoutUsers >= 1 else { throw ValidationError("--devices and --holdout-users must be at least 1") }
        }

        func run() throws {
            let export = SyntheticExport(generator: learning.generator(), spec: try learning.spec())
            let files = try export.write(devices: devices, holdoutUsers: holdoutUsers, to: URL(fileURLWithPath: out, isDirectory: true))
            print("wrote \(files.count) files to \(out)")
        }
    }
}
