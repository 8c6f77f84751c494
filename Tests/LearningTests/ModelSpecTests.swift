import Foundation
import Testing

@testable import Learning

struct ModelSpecTests {
    @Test func parameterCountFollowsTheLayout() throws {
        // 4 features, one optional → 5 inputs.
        #expect(try Fixtures.spec(.logisticRegression).parameterCount == 5 + 1)
        #expect(try Fixtures.spec(.softmaxRegression, classes: 3).parameterCount == 5 * 3 + 3)
        #expect(
            try Fixtures.spec(.mlp(hiddenLayers: [6, 4]), classes: 3).parameterCount == (5 * 6 + 6) + (6 * 4 + 4)
                + (4 * 3 + 3)
        )
        #expect(try Fixtures.spec(.logisticRegression).inputNames == ["x0", "x1", "x2", "x3", "x3_available"])
    }

    @Test func wearableSpecHasEighteenInputs() throws {
        let spec = try ModelSpec.wearable(task: .sleepQuality)
        #expect(spec.inputWidth == 18)
        #expect(spec.labels == ["good", "poor"])
        #expect(try ModelSpec.wearable(task: .activity).classCount == 5)
    }

    @Test func architectureMustFitTheLabels() {
        #expect(throws: LearningError(code: .invalidSpec, detail: "logistic regression needs exactly 2 labels, got 3"))
        {
            try Fixtures.spec(.logisticRegression, classes: 3)
        }
        #expect(throws: LearningError(code: .invalidSpec, detail: "an MLP has one or two hidden layers")) {
            try Fixtures.spec(.mlp(hiddenLayers: [2, 2, 2]))
        }
    }

    @Test func specRoundTripsThroughJSONAndRejectsAWrongParameterCount() throws {
        let spec = try ModelSpec.wearable(task: .activity, architecture: .mlp(hiddenLayers: [16]))
        let json = try JSONEncoder().encode(spec)
        #expect(try JSONDecoder().decode(ModelSpec.self, from: json) == spec)

        var object = try #require(try JSONSerialization.jsonObject(with: json) as? [String: Any])
        object["parameterCount"] = spec.parameterCount + 1
        let tampered = try JSONSerialization.data(withJSONObject: object)
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(ModelSpec.self, from: tampered) }
    }

    @Test func scalingIsFixedAndClamped() throws {
        let range = FeatureScaling.range(minimum: 40, maximum: 100)
        #expect(range.scale(70) == 0)
        #expect(range.scale(100) == 1)
        #expect(range.scale(1e9) == FeatureScaling.clampLimit)
        let json = try JSONEncoder().encode(range)
        #expect(try JSONDecoder().decode(FeatureScaling.self, from: json) == range)
        let bad = Data(#"{"method":"standardize","mean":0,"standardDeviation":0}"#.utf8)
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(FeatureScaling.self, from: bad) }
    }

    @Test func trainingConfigValidationNamesTheField() {
        var config = TrainingConfig()
        config.learningRate = .infinity
        #expect(throws: LearningError(code: .invalidConfig, detail: "learningRate inf is outside (0, 100]")) {
            try config.validate()
        }
    }
}
