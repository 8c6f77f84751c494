import Foundation

/// Deterministic synthetic wearable data with realistic non-IID structure.
///
/// Simulation and the demo need many users whose data differ the way real cohorts do, without
/// any real health data. Each user has their own physiology (``UserPhysiology``) and produces
/// daily records; the user's device class decides which features are observed and how noisily
/// (``DeviceObservation``); labels come from a ground truth with interactions and a per-user
/// offset. Three knobs skew the federation:
///
/// - **quantity skew**: records per user are log-normal around ``Options/meanRecordsPerUser``
///   with log-SD ``Options/quantitySkew``;
/// - **label skew**: each user's class mix is drawn from Dirichlet(α·K·p), where p is the
///   task's natural class distribution and K the class count — so the mean mix stays natural
///   and, for balanced classes, this is the usual Dirichlet(α) partition (small α = each user
///   sees mostly one class). Days are drawn until their label matches a class sampled from the
///   user's mix (at most 64 draws, after which the last day is kept, so a label is always the
///   ground truth of its features);
/// - **feature/device skew**: chosen per user by the caller or by ``DeviceMix``.
///
/// Everything is a pure function of (seed, task, user index, device class, options).
public struct SyntheticWearables: Sendable {
    /// Skew and size knobs.
    public struct Options: Codable, Sendable, Hashable {
        /// Mean number of daily records per user (train + hold-out).
        public var meanRecordsPerUser: Int
        /// Log-normal SD of the per-user record count; 0 gives every user the mean.
        public var quantitySkew: Double
        /// Dirichlet concentration α of the per-user label mix; nil draws labels naturally (IID).
        public var labelSkewAlpha: Double?
        /// Share of each user's most recent records held out for local evaluation.
        public var holdOutFraction: Double

        public init(
            meanRecordsPerUser: Int = 60,
            quantitySkew: Double = 0.5,
            labelSkewAlpha: Double? = nil,
            holdOutFraction: Double = 0.2
        ) {
            self.meanRecordsPerUser = meanRecordsPerUser
            self.quantitySkew = quantitySkew
            self.labelSkewAlpha = labelSkewAlpha
            self.holdOutFraction = holdOutFraction
        }
    }

    /// Shares of device classes in a population, for assigning users and building hold-out sets.
    public struct DeviceMix: Codable, Sendable, Hashable {
        public var watch: Double
        public var phone: Double
        public var tablet: Double

        public init(watch: Double, phone: Double, tablet: Double) {
            precondition(min(watch, phone, tablet) >= 0 && watch + phone + tablet > 0, "shares must be non-negative")
            self.watch = watch
            self.phone = phone
            self.tablet = tablet
        }

        /// Equal thirds.
        public static let even = DeviceMix(watch: 1, phone: 1, tablet: 1)

        /// Device classes for `users` users, with counts proportional to the shares (largest
        /// remainder) and classes interleaved so any prefix is also roughly proportional.
        public func assign(users: Int) -> [DeviceClass] {
            let shares = [watch, phone, tablet]
            let total = shares.reduce(0, +)
            var result: [DeviceClass] = []
            var given = [0, 0, 0]
            for index in 0..<users {
                // Pick the class furthest below its quota for the first index + 1 users.
                let deficits = (0..<3).map { shares[$0] / total * Double(index + 1) - Double(given[$0]) }
                let pick = deficits.indices.max { deficits[$0] < deficits[$1] } ?? 0
                given[pick] += 1
                result.append(DeviceClass.allCases[pick])
            }
            return result
        }
    }

    /// One user's local data.
    public struct UserData: Sendable {
        /// Training examples.
        public var train: Dataset
        /// The user's most recent records, for federated evaluation.
        public var holdOut: Dataset
    }

    /// The task whose labels are generated.
    public let task: LearningTask
    /// The root seed; every user and device derives its own stream from it.
    public let seed: UInt64
    /// Skew and size knobs.
    public let options: Options

    public init(task: LearningTask, seed: UInt64, options: Options = Options()) {
        self.task = task
        self.seed = seed
        self.options = options
    }

    /// Natural class frequencies of each task (measured on 200 000 IID days, rounded); the
    /// mean of the Dirichlet label mix.
    static func naturalClassShares(_ task: LearningTask) -> [Double] {
        switch task {
        case .sleepQuality: [0.65, 0.35]
        case .activity: [0.23, 0.16, 0.18, 0.16, 0.27]
        }
    }

    /// Generates user `userIndex`'s data as seen by a `deviceClass` device, encoded for `spec`.
    ///
    /// - Throws: ``LearningError`` if the spec's labels are not the task's or it names a
    ///   feature outside ``WearableFeatures``.
    public func userData(userIndex: Int, deviceClass: DeviceClass, spec: ModelSpec) throws(LearningError) -> UserData {
        let records = try userRecords(userIndex: userIndex, deviceClass: deviceClass, spec: spec)
        return UserData(
            train: try Dataset(spec: spec, rawRows: records.train.rows, labels: records.train.labels),
            holdOut: try Dataset(spec: spec, rawRows: records.holdOut.rows, labels: records.holdOut.labels)
        )
    }

    /// The same user's records unscaled (in `spec`'s feature order), split as ``userData(userIndex:deviceClass:spec:)``
    /// splits them: what a device would compute federated feature statistics from.
    public func userRecords(
        userIndex: Int,
        deviceClass: DeviceClass,
        spec: ModelSpec
    ) throws(LearningError) -> (train: RawRecords, holdOut: RawRecords) {
        let columns = try columnMap(spec)
        let user = physiology(userIndex)
        var rng = SeededGenerator(
            seed: seed,
            stream: 2,
            UInt64(truncatingIfNeeded: userIndex),
            device(deviceClass),
            taskID
        )
        let count = recordCount(using: &rng)
        let mix = labelMix(using: &rng)
        let holdOut = min(max(Int((Double(count) * options.holdOutFraction).rounded()), 1), count - 1)
        var train = RawRecords()
        var local = RawRecords()
        for index in 0..<count {
            let (raw, label) = record(user: user, device: deviceClass, mix: mix, using: &rng)
            let row = columns.map { raw[$0] }
            if index < count - holdOut {
                train.append(row, label: label)
            } else {
                local.append(row, label: label)
            }
        }
        return (train, local)
    }

    /// A coordinator-side hold-out set of fresh users (never training users), with natural
    /// labels and no quantity skew, device classes assigned by `mix`.
    public func centralHoldOut(
        users: Int,
        recordsPerUser: Int,
        mix: DeviceMix = .even,
        spec: ModelSpec
    ) throws(LearningError) -> Dataset {
        try centralHoldOutRecords(users: users, recordsPerUser: recordsPerUser, mix: mix, spec: spec).dataset(
            spec: spec
        )
    }

    /// The same hold-out unscaled, for a coordinator whose spec's scaling may change.
    public func centralHoldOutRecords(
        users: Int,
        recordsPerUser: Int,
        mix: DeviceMix = .even,
        spec: ModelSpec
    ) throws(LearningError) -> RawRecords {
        let columns = try columnMap(spec)
        var result = RawRecords()
        for (offset, deviceClass) in mix.assign(users: users).enumerated() {
            // Hold-out users live far above any training index.
            let userIndex = (1 << 40) + offset
            let user = physiology(userIndex)
            var rng = SeededGenerator(seed: seed, stream: 3, UInt64(userIndex), device(deviceClass), taskID)
            for _ in 0..<recordsPerUser {
                let (raw, label) = record(user: user, device: deviceClass, mix: nil, using: &rng)
                result.append(columns.map { raw[$0] }, label: label)
            }
        }
        return result
    }

    // MARK: - Internals

    func physiology(_ userIndex: Int) -> UserPhysiology {
        var rng = SeededGenerator(seed: seed, stream: 1, UInt64(truncatingIfNeeded: userIndex))
        return UserPhysiology(using: &rng)
    }

    /// One observed record and its label; `mix` nil draws the day naturally.
    func record(
        user: UserPhysiology,
        device: DeviceClass,
        mix: [Double]?,
        using rng: inout some RandomNumberGenerator
    ) -> (raw: [Double?], label: Int) {
        var day = DayRecord(user: user, using: &rng)
        var label = day.label(for: task, user: user, using: &rng)
        if let mix {
            let wanted = rng.nextCategory(mix)
            var attempts = 1
            while label != wanted && attempts < 64 {
                day = DayRecord(user: user, using: &rng)
                label = day.label(for: task, user: user, using: &rng)
                attempts += 1
            }
        }
        return (DeviceObservation.observe(day, on: device, using: &rng), label)
    }

    func recordCount(using rng: inout some RandomNumberGenerator) -> Int {
        let mean = Double(max(options.meanRecordsPerUser, 2))
        let sigma = max(options.quantitySkew, 0)
        let draw = mean * exp(sigma * rng.nextGaussian() - sigma * sigma / 2)
        return Int(clamp(draw.rounded(), 2, mean * 10))
    }

    func labelMix(using rng: inout some RandomNumberGenerator) -> [Double]? {
        guard let alpha = options.labelSkewAlpha, alpha > 0, alpha.isFinite else { return nil }
        let natural = Self.naturalClassShares(task)
        return rng.nextDirichlet(natural.map { alpha * Double(natural.count) * $0 })
    }

    private var taskID: UInt64 { task == .sleepQuality ? 1 : 2 }

    private func device(_ deviceClass: DeviceClass) -> UInt64 {
        UInt64(DeviceClass.allCases.firstIndex(of: deviceClass) ?? 0)
    }

    /// For each spec feature, its catalogue position.
    private func columnMap(_ spec: ModelSpec) throws(LearningError) -> [Int] {
        guard spec.labels == task.labels else {
            throw LearningError(
                code: .invalidSpec,
                detail:
                    "synthetic \(task.rawValue) data cannot fill this spec: its labels \(spec.labels) are not the task's \(task.labels) (a spec over your own columns needs a CSV hold-out or none)"
            )
        }
        var columns: [Int] = []
        for feature in spec.features {
            guard let column = WearableFeature.allCases.first(where: { $0.name == feature.name }) else {
                throw LearningError(
                    code: .invalidSpec,
                    detail:
                        "synthetic data has no feature named '\(feature.name)' (a spec over your own columns needs a CSV hold-out or none)"
                )
            }
            columns.append(column.rawValue)
        }
        return columns
    }
}
