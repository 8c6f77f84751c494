import Testing

@testable import Learning

struct CSVDatasetLoaderTests {
    let spec: ModelSpec

    init() throws {
        let features = [
            ModelSpec.Feature(
                name: "steps",
                scaling: .standardize(mean: 7_500, standardDeviation: 3_500),
                mayBeMissing: false
            ),
            ModelSpec.Feature(
                name: "hrv_rmssd",
                scaling: .standardize(mean: 45, standardDeviation: 20),
                mayBeMissing: true
            ),
        ]
        spec = try ModelSpec(architecture: .logisticRegression, features: features, labels: ["good", "poor"])
    }

    func load(_ text: String) throws(CSVError) -> Dataset {
        try CSVDatasetLoader.load(text, fileName: "export.csv", spec: spec)
    }

    @Test func loadsNamedAndNumericLabelsInAnyColumnOrder() throws {
        let text =
            "\u{FEFF}date,label,hrv_rmssd,steps\r\n2024-01-01,poor,40,8000\r\n\n2024-01-02,0,,7500\r\n\"2024-01-03\",\"good\",\"45\",\"11000\"\n"
        let data = try load(text)
        #expect(data.count == 3)
        #expect(data.labels == [1, 0, 0])
        // Row 2 has no HRV: value 0, availability flag 0.
        #expect(Array(data.input(at: 1)) == [0, 0, 0])
        #expect(Array(data.input(at: 0)) == [Float(500.0 / 3_500), Float(-5.0 / 20), 1])
    }

    @Test func rowsWithoutAnyFeatureAreSkipped() throws {
        let spec = try ModelSpec(
            architecture: .logisticRegression,
            features: [
                ModelSpec.Feature(name: "hrv_rmssd", scaling: .range(minimum: 10, maximum: 150), mayBeMissing: true)
            ],
            labels: ["good", "poor"]
        )
        let data = try CSVDatasetLoader.load("hrv_rmssd,label\n,1\n50,0\nNA,1\n", fileName: "a.csv", spec: spec)
        #expect(data.count == 1)
        #expect(
            throws: CSVError(code: .noUsableRows, fileName: "a.csv", detail: "no row has any of the model's features")
        ) {
            try CSVDatasetLoader.load("hrv_rmssd,label\n,1\n", fileName: "a.csv", spec: spec)
        }
    }

    struct Case: Sendable, CustomTestStringConvertible {
        let text: String
        let code: CSVError.Code
        let message: String
        var testDescription: String { code.rawValue }
    }

    static let errorCases: [Case] = [
        Case(
            text: "steps,label\n1,0\n",
            code: .missingColumn,
            message:
                "export.csv:1: missing column 'hrv_rmssd' required by the model spec (the header has \"steps\", \"label\")"
        ),
        Case(
            text: "steps,hrv_rmssd\n1,2\n",
            code: .missingColumn,
            message: "export.csv:1: missing label column 'label' (the header has \"steps\", \"hrv_rmssd\")"
        ),
        Case(
            text: "steps,hrv_rmssd,label,steps\n1,2,0,3\n",
            code: .duplicateColumn,
            message: "export.csv:1:4: column 'steps' appears more than once"
        ),
        Case(
            text: "steps,hrv_rmssd,label\n8000,40,0\n9000,abc,1\n",
            code: .nonNumeric,
            message: "export.csv:3:2: non-numeric value \"abc\" in column 'hrv_rmssd'"
        ),
        Case(
            text: "steps,hrv_rmssd,label\n8000,40,0\nNaN,40,1\n",
            code: .nonFinite,
            message: "export.csv:3:1: non-finite value \"NaN\" in column 'steps'"
        ),
        Case(
            text: "steps,hrv_rmssd,label\n,40,0\n",
            code: .missingValue,
            message: "export.csv:2:1: missing value in column 'steps', which the model spec requires"
        ),
        Case(
            text: "steps,hrv_rmssd,label\n8000,40,maybe\n",
            code: .unknownLabel,
            message: "export.csv:2:3: unknown label \"maybe\" in column 'label'; expected one of good, poor or 0...1"
        ),
        Case(
            text: "steps,hrv_rmssd,label\n8000,40,2\n",
            code: .unknownLabel,
            message: "export.csv:2:3: unknown label \"2\" in column 'label'; expected one of good, poor or 0...1"
        ),
        Case(
            text: "steps,hrv_rmssd,label\n8000,40\n",
            code: .malformedRow,
            message: "export.csv:2: expected 3 fields as in the header, found 2"
        ),
        Case(
            text: "steps,hrv_rmssd,label\n8000,\"40,0\n",
            code: .malformedRow,
            message: "export.csv:2:2: unterminated quoted field"
        ),
        Case(
            text: "steps,hrv_rmssd,label\n\n",
            code: .noUsableRows,
            message: "export.csv: no row has any of the model's features"
        ),
        Case(text: "", code: .emptyFile, message: "export.csv:1: no header row"),
    ]

    @Test(arguments: errorCases)
    func errorsNameFileLineAndColumn(_ errorCase: Case) {
        do {
            _ = try load(errorCase.text)
            Issue.record("expected \(errorCase.code.rawValue)")
        } catch {
            #expect(error.code == errorCase.code)
            #expect(error.description == errorCase.message)
        }
    }

    @Test func invalidUTF8IsReported() {
        #expect(throws: CSVError(code: .invalidEncoding, fileName: "x.csv", detail: "file is not valid UTF-8")) {
            try CSVDatasetLoader.load(bytes: [0x73, 0xFF, 0xFE], fileName: "x.csv", spec: spec)
        }
    }
}
