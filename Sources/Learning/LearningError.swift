/// An error from the learning core: a bad spec, configuration or parameter vector.
///
/// A struct with an extensible code (like swift-service-lifecycle's `ServiceGroupError`), so
/// new cases do not break callers that switch on it.
public struct LearningError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What went wrong, as a stable string usable as a metric dimension.
    public struct Code: RawRepresentable, Sendable, Hashable {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }

        /// The model spec is inconsistent (architecture vs labels, duplicate names, …).
        public static let invalidSpec = Code(rawValue: "invalid_spec")
        /// A training configuration value is out of range.
        public static let invalidConfig = Code(rawValue: "invalid_config")
        /// A parameter vector does not fit the spec or holds non-finite values.
        public static let invalidWeights = Code(rawValue: "invalid_weights")
        /// A dataset's width or labels do not fit the spec.
        public static let invalidDataset = Code(rawValue: "invalid_dataset")
        /// A name (task, device class, optimizer) is not known.
        public static let unknownName = Code(rawValue: "unknown_name")
    }

    /// The category.
    public var code: Code
    /// A human-readable explanation.
    public var detail: String

    public init(code: Code, detail: String) {
        self.code = code
        self.detail = detail
    }

    public var description: String { "\(code.rawValue): \(detail)" }
}
