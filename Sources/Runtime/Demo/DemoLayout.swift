import Foundation
import Learning

/// Which edge processes the demo starts, with which devices, and the data the baseline sees.
struct DemoLayout {
    struct EdgeProcess {
        var name: String
        var deviceClass: DeviceClass
        var arguments: [String]
        var devices: [(id: String, source: DeviceDataSource)]
    }

    var edges: [EdgeProcess] = []
    var holdoutArguments: [String] = []
    var holdoutCSV: String?

    var deviceCount: Int { edges.reduce(0) { $0 + $1.devices.count } }

    init(config: DemoConfig) throws {
        if let directory = config.dataDirectory {
            try layOutCSV(directory: directory, config: config)
        } else {
            layOutSynthetic(config: config)
        }
    }

    private mutating func layOutSynthetic(config: DemoConfig) {
        for (classIndex, deviceClass) in DemoConfig.classes.enumerated() {
            let firstUser = classIndex * config.devicesPerClass
            var offset = 0
            var part = 0
            while offset < config.devicesPerClass {
                let count = min(config.devicesPerEdgeProcess, config.devicesPerClass - offset)
                let users = (firstUser + offset)..<(firstUser + offset + count)
                edges.append(
                    EdgeProcess(
                        name: "edge-\(deviceClass.rawValue)-\(part)",
                        deviceClass: deviceClass,
                        arguments: [
                            "--device-class", deviceClass.rawValue, "--devices", "\(count)", "--first-user",
                            "\(users.lowerBound)",
                        ],
                        devices: users.map {
                            ("\(deviceClass.rawValue)-\($0)", .synthetic(generator: config.generator, userIndex: $0))
                        }
                    )
                )
                offset += count
                part += 1
            }
        }
    }

    private mutating func layOutCSV(directory: URL, config: DemoConfig) throws {
        let data = try DataDirectory(scanning: directory)
        if let holdout = data.holdout {
            holdoutArguments = ["--holdout", holdout.path]
            holdoutCSV = holdout.path
        } else {
            holdoutArguments = ["--holdout", "none"]
        }
        for (classIndex, deviceClass) in DemoConfig.classes.enumerated() {
            let mine = data.deviceFiles.enumerated().filter { $0.offset % DemoConfig.classes.count == classIndex }
            guard !mine.isEmpty else { continue }
            let paths = mine.map(\.element.path)
            edges.append(
                EdgeProcess(
                    name: "edge-\(deviceClass.rawValue)-0",
                    deviceClass: deviceClass,
                    arguments: ["--device-class", deviceClass.rawValue, "--first-user", "\(classIndex * 100_000)"]
                        + paths.flatMap { ["--data", $0] },
                    devices: paths.enumerated().map {
                        ("\(deviceClass.rawValue)-\(classIndex * 100_000 + $0.offset)", .csv(path: $0.element))
                    }
                )
            )
        }
    }

    /// The same model trained on the union of every device's training data, on the same
    /// hold-out, for comparison only; and the records each device holds, for the report.
    func centralizedAccuracy(
        config: DemoConfig
    ) throws -> (accuracy: Double?, rowsPerDevice: DataSourceSummary.RowCounts?) {
        var records: [RawRecords] = []
        var rows: [Int] = []
        for edge in edges {
            for device in edge.devices {
                let data = try device.source.load(deviceClass: edge.deviceClass, spec: config.spec)
                records.append(data.train)
                rows.append(data.train.count + data.holdOut.count)
            }
        }
        let rowsPerDevice = DataSourceSummary.RowCounts(rows)
        // Federated runs standardise with the federated statistics; the baseline uses the same
        // statistics, computed here over the union it trains on anyway.
        var spec = config.spec
        if config.effectiveScaling == .federated {
            let reference = spec.features.map(\.scaling)
            var total = FeatureMoments(featureCount: reference.count)
            for part in records {
                let moments = FeatureMoments(records: part, relativeTo: reference)
                for index in reference.indices {
                    total.sums[index] += moments.sums[index]
                    total.sumSquares[index] += moments.sumSquares[index]
                    total.counts[index] += moments.counts[index]
                }
            }
            spec = try spec.replacingScaling(total.standardization(relativeTo: reference))
        }
        let datasets = try records.map { try $0.dataset(spec: spec) }
        let holdout: Dataset
        if let holdoutCSV {
            holdout = try CSVDeviceData.load(path: holdoutCSV, spec: config.spec, holdOutFraction: 0).train.dataset(
                spec: spec
            )
        } else if config.dataDirectory != nil {
            return (nil, rowsPerDevice)
        } else {
            holdout = try config.generator.centralHoldOut(users: 60, recordsPerUser: 30, spec: config.spec)
        }
        var rng = SeededGenerator(seed: config.seed)
        let weights = try CentralizedBaseline.train(
            spec: spec,
            initialWeights: spec.initialWeights(seed: config.seed),
            datasets: datasets,
            config: config.training,
            rounds: config.rounds,
            rng: &rng
        )
        return (try Evaluator.evaluate(spec: spec, weights: weights, data: holdout).accuracy, rowsPerDevice)
    }
}
