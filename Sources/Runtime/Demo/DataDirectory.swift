public import Foundation
public import Learning

/// A directory of CSV exports as the demo reads it: every `*.csv` but `test.csv` is one device,
/// and `test.csv`, when present, is the hold-out that the simulation owns.
///
/// The spec comes from the hold-out when there is one: its header, which of its columns hold
/// numbers, its class names and its means and deviations (a stand-in for data the operator
/// holds centrally). Without a hold-out only the first device file's header line is read, and
/// the class names must be given: no value of a device's export is used to build the spec.
public struct DataDirectory: Sendable {
    public let url: URL
    /// Device files, sorted by name (the demo deals them to the device classes in turn).
    public let deviceFiles: [URL]
    public let holdout: URL?

    public init(scanning url: URL) throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: url.path).filter { $0.hasSuffix(".csv") }
            .sorted()
        self.url = url
        holdout = names.contains("test.csv") ? url.appendingPathComponent("test.csv") : nil
        deviceFiles = names.filter { $0 != "test.csv" }.map { url.appendingPathComponent($0) }
        guard !deviceFiles.isEmpty else {
            throw RoleError(
                "--data-dir \(url.path) holds no device CSV files (every *.csv except test.csv is one device)"
            )
        }
    }

    /// Where a spec came from and what it is, for the demo's opening line and its report.
    public struct BuiltSpec: Sendable {
        public var spec: ModelSpec
        /// `test.csv (header and values)` or `device-000.csv (header only)`.
        public var source: String
        /// Columns of the hold-out left out because they hold values that are not numbers.
        public var skippedColumns: [String]
        /// Whether the scaling constants are the hold-out's means and deviations (else unit scaling).
        public var scaledByHoldout: Bool

        public init(spec: ModelSpec, source: String, skippedColumns: [String] = [], scaledByHoldout: Bool = false) {
            self.spec = spec
            self.source = source
            self.skippedColumns = skippedColumns
            self.scaledByHoldout = scaledByHoldout
        }
    }

    /// The spec for these exports; fails with the file and the reason when none can be built.
    public func spec(request: TabularSpecRequest) throws -> BuiltSpec {
        if let holdout {
            let text = try Self.read(holdout)
            let profile = try CSVColumnProfile(
                text: text,
                fileName: holdout.lastPathComponent,
                labelColumn: request.labelColumn
            )
            let spec = try ModelSpec.tabular(
                header: profile.columns,
                source: holdout.lastPathComponent,
                request: request,
                profile: profile
            )
            return BuiltSpec(
                spec: spec,
                source: "\(holdout.lastPathComponent) (header and values)",
                skippedColumns: request.features == nil ? profile.nonNumeric : [],
                scaledByHoldout: true
            )
        }
        let first = deviceFiles[0]
        let header = try CSVDatasetLoader.header(of: try Self.readHeaderLine(first), fileName: first.lastPathComponent)
        let spec = try ModelSpec.tabular(header: header, source: first.lastPathComponent, request: request)
        return BuiltSpec(
            spec: spec,
            source: "\(first.lastPathComponent) (header only)",
            skippedColumns: [],
            scaledByHoldout: false
        )
    }

    static func read(_ file: URL) throws -> String {
        guard let data = FileManager.default.contents(atPath: file.path) else {
            throw RoleError("cannot read \(file.path)")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw RoleError("\(file.lastPathComponent): not valid UTF-8")
        }
        return text
    }

    /// The first line of a device file, read in bounded chunks so that nothing past the header
    /// is parsed; a header longer than 1 MiB is refused rather than read whole.
    static func readHeaderLine(_ file: URL) throws -> String {
        guard let handle = FileHandle(forReadingAtPath: file.path) else { throw RoleError("cannot read \(file.path)") }
        defer { try? handle.close() }
        var bytes: [UInt8] = []
        while bytes.count < 1 << 20 {
            guard let chunk = try handle.read(upToCount: 4_096), !chunk.isEmpty else { break }
            if let end = chunk.firstIndex(of: UInt8(ascii: "\n")) {
                bytes += chunk[..<end]
                return try decode(bytes, file)
            }
            bytes += chunk
        }
        guard bytes.count < 1 << 20 else { throw RoleError("\(file.lastPathComponent): header line longer than 1 MiB") }
        return try decode(bytes, file)
    }

    private static func decode(_ bytes: [UInt8], _ file: URL) throws -> String {
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw RoleError("\(file.lastPathComponent): header is not valid UTF-8")
        }
        return text
    }
}

/// What the report says about the data a run trained on.
public struct DataSourceSummary: Sendable, Codable, Hashable {
    public var directory: String
    public var deviceFiles: Int
    public var holdout: String?
    /// Records per device file: fewest, median, most (filled in after the run, with the baseline).
    public var rowsPerDevice: RowCounts?
    public var specSource: String
    public var labelColumn: String
    public var features: [String]
    public var classes: [String]
    public var model: String
    public var skippedColumns: [String]

    public struct RowCounts: Sendable, Codable, Hashable {
        public var minimum: Int
        public var median: Int
        public var maximum: Int

        public init?(_ counts: [Int]) {
            let sorted = counts.sorted()
            guard let first = sorted.first, let last = sorted.last else { return nil }
            minimum = first
            median = sorted[sorted.count / 2]
            maximum = last
        }
    }

    public init(directory: DataDirectory, built: DataDirectory.BuiltSpec) {
        self.directory = directory.url.path
        deviceFiles = directory.deviceFiles.count
        holdout = directory.holdout?.lastPathComponent
        specSource = built.source
        labelColumn = built.spec.labelColumn
        features = built.spec.featureNames
        classes = built.spec.labels
        model = built.spec.architecture.description
        skippedColumns = built.skippedColumns
    }

    /// Lines for the demo's console output, e.g. `features (20): x0, x1, …`.
    public var lines: [String] {
        func list(_ names: [String]) -> String {
            names.prefix(12).joined(separator: ", ") + (names.count > 12 ? ", … (\(names.count))" : "")
        }
        var lines = [
            "data        \(directory): \(deviceFiles) device files, hold-out \(holdout ?? "none"); spec from \(specSource)",
            "features    \(features.count): \(list(features))",
            "classes     \(list(classes)) in column '\(labelColumn)'"
                + (classes.count == 2 ? " (positive class: \(classes[1]))" : "") + "; model \(model)",
        ]
        if !skippedColumns.isEmpty { lines.append("skipped     non-numeric columns: \(list(skippedColumns))") }
        if let rows = rowsPerDevice {
            lines.append("rows/device min \(rows.minimum), median \(rows.median), max \(rows.maximum)")
        }
        return lines
    }
}
