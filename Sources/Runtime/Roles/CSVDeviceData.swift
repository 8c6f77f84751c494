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
        guard let text = String(data: bytes, encoding: .utf8) else {
            throw RoleError("\(url.lastPathComponent): not valid UTF-8")
        }
        let records = try CSVDatasetLoader.loadRecords(text, fileName: url.lastPathComponent, spec: spec)
        let holdOutCount = max(0, min(records.count - 1, Int((Double(records.count) * holdOutFraction).rounded())))
        let (train, holdOut) = records.split(keepingFirst: records.count - holdOutCount)
        return DeviceData(train: train, holdOut: holdOut)
    }
}

/// One device's local records, unscaled: scaling belongs to the spec, which a statistics round
/// may change, so datasets are built per spec from these.
public struct DeviceData: Sendable {
    public var train: RawRecords
    public var holdOut: RawRecords

    public init(train: RawRecords, holdOut: RawRecords) {
        self.train = train
        self.holdOut = holdOut
    }
}
