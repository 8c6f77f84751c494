import Foundation
public import Learning

/// A device's CSV export as training and local hold-out sets.
///
/// The file is read here (the shell); parsing and validation are `Learning`'s, whose errors name
/// the file, line and column. The most recent `holdOutFraction` of the rows (the file's last
/// lines) is the local hold-out, as a wearable would keep its latest days for evaluation.
public enum CSVDeviceData {
    public static func load(path: String, spec: ModelSpec, holdOutFraction: Double = 0.2) throws -> DeviceData {
        let url = URL(fileURLWithPath: path)
        let bytes: Data
        do {
            bytes = try Data(contentsOf: url)
        } catch {
            throw RoleError("cannot read \(path): \(error.localizedDescription)")
        }
        let dataset = try CSVDatasetLoader.load(bytes: Array(bytes), fileName: url.lastPathComponent, spec: spec)
        let holdOutCount = min(dataset.count - 1, Int((Double(dataset.count) * holdOutFraction).rounded()))
        guard holdOutCount > 0 else {
            return DeviceData(train: dataset, holdOut: Dataset(spec: spec))
        }
        let split = dataset.count - holdOutCount
        return DeviceData(train: dataset.subset(0..<split), holdOut: dataset.subset(split..<dataset.count))
    }
}

/// One device's local data: what it trains on and what it evaluates the global model on.
public struct DeviceData: Sendable {
    public var train: Dataset
    public var holdOut: Dataset

    public init(train: Dataset, holdOut: Dataset) {
        self.train = train
        self.holdOut = holdOut
    }
}
