public import Foundation
public import Learning

/// Writes synthetic users as CSV exports, one file per device plus a `test.csv` hold-out: the
/// format `fedpulse edge --data` and `fedpulse demo --data-dir` read, with realistic raw values.
public struct SyntheticExport: Sendable {
    public let generator: SyntheticWearables
    public let spec: ModelSpec

    public init(generator: SyntheticWearables, spec: ModelSpec) {
        self.generator = generator
        self.spec = spec
    }

    /// Writes `devices` files `device-000.csv` … (classes in turn, as the demo assigns them) and
    /// `test.csv` with `holdoutUsers` fresh users; returns the paths written.
    @discardableResult
    public func write(devices: Int, holdoutUsers: Int, to directory: URL) throws -> [URL] {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let classes: [DeviceClass] = [.watch, .phone, .tablet]
        var written: [URL] = []
        for index in 0..<devices {
            let user = try generator.userRecords(userIndex: index, deviceClass: classes[index % classes.count], spec: spec)
            var all = user.train
            for (row, label) in zip(user.holdOut.rows, user.holdOut.labels) { all.append(row, label: label) }
            let url = directory.appendingPathComponent(String(format: "device-%03d.csv", index))
            try Data(csv(all).utf8).write(to: url, options: .atomic)
            written.append(url)
        }
        let holdout = try generator.centralHoldOutRecords(users: holdoutUsers, recordsPerUser: 30, spec: spec)
        let testURL = directory.appendingPathComponent("test.csv")
        try Data(csv(holdout).utf8).write(to: testURL, options: .atomic)
        return written + [testURL]
    }

    /// Header of feature names plus `label` (class names); a missing value is an empty cell.
    func csv(_ records: RawRecords) -> String {
        var lines = [(spec.featureNames + ["label"]).joined(separator: ",")]
        for (row, label) in zip(records.rows, records.labels) {
            let cells = row.map { value in value.map { String(format: "%.4f", $0) } ?? "" }
            lines.append((cells + [spec.labels[label]]).joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
