import Foundation
import Testing

@testable import Learning

/// A spec from a CSV header: features, label column, classes and model follow from the data.
struct TabularSpecTests {
    static let holdout = """
        site,age,bmi,glucose,outcome
        north,52,31.5,140,sick
        south,34,NA,98,healthy
        north,61,27.0,,sick
        east,45,24.2,105,healthy
        """

    func profile(_ text: String = holdout, label: String = "outcome") throws -> CSVColumnProfile {
        try CSVColumnProfile(text: text, fileName: "test.csv", labelColumn: label)
    }

    @Test func profileFindsNumericColumnsLabelsAndScaling() throws {
        let profile = try profile()
        #expect(profile.columns == ["site", "age", "bmi", "glucose", "outcome"])
        #expect(profile.nonNumeric == ["site"])
        #expect(profile.labelValues == ["healthy", "sick"])
        #expect(profile.rowCount == 4)
        let age = try #require(profile.scaling["age"])
        #expect(abs(age.center - 48) < 1e-9)
        // Population deviation of 52, 34, 61, 45.
        #expect(abs(age.spread - (97.5 as Double).squareRoot()) < 1e-9)
        #expect(profile.scaling["site"] == nil)
    }

    @Test func specTakesEveryNumericColumnButTheLabel() throws {
        let request = TabularSpecRequest(labelColumn: "outcome")
        let spec = try ModelSpec.tabular(
            header: try profile().columns,
            source: "test.csv",
            request: request,
            profile: try profile()
        )
        #expect(spec.featureNames == ["age", "bmi", "glucose"])
        #expect(spec.labelColumn == "outcome")
        #expect(spec.labels == ["healthy", "sick"])
        #expect(spec.architecture == .logisticRegression)
        #expect(spec.features.allSatisfy { $0.mayBeMissing })
        // Features, one availability flag each, then the bias.
        #expect(spec.parameterCount == 3 + 3 + 1)

        let data = try CSVDatasetLoader.load(Self.holdout, fileName: "test.csv", spec: spec)
        #expect(data.labels == [1, 0, 1, 0])
        // Row 2's bmi is NA: value 0 and availability flag 0.
        let second = Array(data.input(at: 1))
        #expect(second[1] == 0 && second[4] == 0)
        #expect(Array(data.input(at: 0))[4] == 1)
    }

    @Test func listedFeaturesClassesAndModelAreHonoured() throws {
        var request = TabularSpecRequest(
            labelColumn: "outcome",
            features: ["glucose", "age"],
            classes: ["sick", "healthy"]
        )
        let header = try profile().columns
        let spec = try ModelSpec.tabular(header: header, source: "device-000.csv", request: request)
        #expect(spec.featureNames == ["glucose", "age"])
        #expect(spec.labels == ["sick", "healthy"])
        // No profile: the raw values until federated statistics replace the scaling.
        #expect(spec.features.allSatisfy { $0.scaling == ModelSpec.unitScaling })

        request.architecture = .softmaxRegression
        #expect(
            try ModelSpec.tabular(header: header, source: "x.csv", request: request).architecture == .softmaxRegression
        )
    }

    @Test func threeClassNamesMakeASoftmaxModel() throws {
        let text = "f1,f2,kind\n1,2,walk\n2,3,run\n3,4,sit\n"
        let profile = try profile(text, label: "kind")
        let spec = try ModelSpec.tabular(
            header: profile.columns,
            source: "test.csv",
            request: .init(labelColumn: "kind"),
            profile: profile
        )
        #expect(spec.labels == ["run", "sit", "walk"])
        #expect(spec.architecture == .softmaxRegression)
        // One row of weights per class over 2 features + 2 flags, then one bias per class.
        #expect(spec.parameterCount == 3 * 4 + 3)
    }

    @Test func integerClassesSortNumericallyAndAreReadOnlyAsNames() throws {
        #expect(ModelSpec.orderedClasses(["10", "2", "1"]) == ["1", "2", "10"])
        #expect(ModelSpec.orderedClasses(["yes", "no"]) == ["no", "yes"])
        let spec = try ModelSpec.tabular(
            header: ["x", "label"],
            source: "a.csv",
            request: .init(classes: ["1", "2"])
        )
        let data = try CSVDatasetLoader.load("x,label\n5,2\n6,1\n", fileName: "a.csv", spec: spec)
        #expect(data.labels == [1, 0])
        // "0" is not a class name, and must not be read as "the first class".
        #expect(throws: CSVError.self) { try CSVDatasetLoader.load("x,label\n5,0\n", fileName: "a.csv", spec: spec) }
    }

    @Test func unusableRequestsSayWhy() throws {
        let header = ["a", "b", "label"]
        func problem(_ request: TabularSpecRequest, profile: CSVColumnProfile? = nil) -> String? {
            do {
                _ = try ModelSpec.tabular(header: header, source: "test.csv", request: request, profile: profile)
                return nil
            } catch {
                return error.detail
            }
        }
        #expect(problem(.init(labelColumn: "y", classes: ["0", "1"]))?.contains("no label column 'y'") == true)
        #expect(
            problem(.init(features: ["a", "zz"], classes: ["0", "1"]))?.contains("feature 'zz' is not a column") == true
        )
        #expect(problem(.init())?.contains("--classes") == true)
        #expect(problem(.init(classes: ["only"]))?.contains("2 labels") == true)
        let text = try CSVColumnProfile(text: "a,b,label\nx,1,0\n", fileName: "test.csv", labelColumn: "label")
        #expect(problem(.init(features: ["a"]), profile: text)?.contains("not numbers") == true)
    }

    @Test func aLabelColumnOfMeasurementsIsRefused() {
        let rows = (0...CSVColumnProfile.maximumClasses).map { "1,\($0)" }.joined(separator: "\n")
        #expect(throws: CSVError.self) {
            try CSVColumnProfile(text: "x,label\n" + rows, fileName: "test.csv", labelColumn: "label")
        }
    }

    @Test func headerReadsOnlyTheFirstLine() throws {
        // Line 2 is not even CSV; the header reader never looks at it.
        let header = try CSVDatasetLoader.header(of: "\u{FEFF}a, b ,\"c,d\"\r\n\"unterminated\n", fileName: "d.csv")
        #expect(header == ["a", "b", "c,d"])
    }

    @Test func specsWithANamedLabelColumnRoundTripAndOldSpecsDecode() throws {
        let spec = try ModelSpec.tabular(
            header: ["x", "y"],
            source: "a.csv",
            request: .init(labelColumn: "y", classes: ["n", "p"])
        )
        let decoded = try JSONDecoder().decode(ModelSpec.self, from: JSONEncoder().encode(spec))
        #expect(decoded == spec)
        #expect(decoded.labelColumn == "y")
        // A spec written before label columns could be named still means `label`.
        let old =
            #"{"architecture":{"family":"logistic-regression","hiddenLayers":[]},"features":[{"name":"x","mayBeMissing":false,"scaling":{"method":"standardize","mean":0,"standardDeviation":1}}],"labels":["a","b"],"parameterCount":2}"#
        #expect(try JSONDecoder().decode(ModelSpec.self, from: Data(old.utf8)).labelColumn == "label")
    }
}
