import Testing

@testable import Learning

struct SyntheticWearablesTests {
    let spec: ModelSpec

    init() throws {
        spec = try ModelSpec.wearable(task: .sleepQuality)
    }

    /// Share of rows whose availability flag for `feature` is 1.
    func availability(_ feature: String, in data: Dataset) throws -> Double {
        let flag = try #require(spec.inputNames.firstIndex(of: "\(feature)_available"))
        let present = (0..<data.count).filter { data.inputs[$0 * data.inputWidth + flag] == 1 }.count
        return Double(present) / Double(data.count)
    }

    @Test func eachDeviceClassSeesItsOwnSensors() throws {
        let generator = SyntheticWearables(
            task: .sleepQuality,
            seed: 1,
            options: .init(meanRecordsPerUser: 200, quantitySkew: 0)
        )
        var data: [DeviceClass: Dataset] = [:]
        for device in DeviceClass.allCases {
            data[device] = try generator.userData(userIndex: 3, deviceClass: device, spec: spec).train
        }
        let watch = try #require(data[.watch])
        let phone = try #require(data[.phone])
        let tablet = try #require(data[.tablet])
        // Watch: HRV on worn nights (≈ 92 %), never screen time.
        #expect(try (0.85...0.97).contains(availability("hrv_rmssd", in: watch)))
        #expect(try availability("late_screen_time", in: watch) == 0)
        #expect(try availability("steps", in: watch) == 1)
        // Phone: no heart, estimated sleep, screen time.
        #expect(try availability("hrv_rmssd", in: phone) == 0)
        #expect(try availability("resting_hr", in: phone) == 0)
        #expect(try availability("sleep_duration", in: phone) == 1)
        #expect(try availability("late_screen_time", in: phone) == 1)
        // Tablet: screen time, sometimes light, nothing physiological.
        for feature in ["resting_hr", "hrv_rmssd", "steps", "active_minutes", "sleep_duration", "sleep_efficiency"] {
            #expect(try availability(feature, in: tablet) == 0, "tablet measured \(feature)")
        }
        #expect(try availability("late_screen_time", in: tablet) == 1)
        #expect(try (0.55...0.85).contains(availability("evening_light", in: tablet)))
    }

    @Test func generationIsDeterministicBySeed() throws {
        let options = SyntheticWearables.Options(labelSkewAlpha: 0.5)
        let a = try SyntheticWearables(task: .sleepQuality, seed: 9, options: options)
            .userData(userIndex: 4, deviceClass: .phone, spec: spec)
        let b = try SyntheticWearables(task: .sleepQuality, seed: 9, options: options)
            .userData(userIndex: 4, deviceClass: .phone, spec: spec)
        let c = try SyntheticWearables(task: .sleepQuality, seed: 10, options: options)
            .userData(userIndex: 4, deviceClass: .phone, spec: spec)
        #expect(a.train == b.train && a.holdOut == b.holdOut)
        #expect(a.train != c.train)
    }

    /// Mean over users of the share of their majority class.
    func meanMajorityShare(alpha: Double?) throws -> Double {
        let generator = SyntheticWearables(
            task: .sleepQuality,
            seed: 2,
            options: .init(meanRecordsPerUser: 80, quantitySkew: 0, labelSkewAlpha: alpha)
        )
        var total = 0.0
        for user in 0..<40 {
            let data = try generator.userData(userIndex: user, deviceClass: .watch, spec: spec).train
            total += Double(data.labelCounts.max() ?? 0) / Double(data.count)
        }
        return total / 40
    }

    @Test func labelSkewGrowsAsAlphaShrinks() throws {
        let strong = try meanMajorityShare(alpha: 0.1)
        let mild = try meanMajorityShare(alpha: 1)
        let iid = try meanMajorityShare(alpha: nil)
        #expect(strong > mild + 0.05)
        #expect(mild > iid + 0.03)
        #expect(strong > 0.85)
    }

    @Test func quantitySkewSpreadsRecordCounts() throws {
        func counts(_ skew: Double) throws -> [Int] {
            let generator = SyntheticWearables(
                task: .activity,
                seed: 5,
                options: .init(meanRecordsPerUser: 50, quantitySkew: skew)
            )
            let spec = try ModelSpec.wearable(task: .activity)
            return try (0..<30).map {
                let data = try generator.userData(userIndex: $0, deviceClass: .watch, spec: spec)
                return data.train.count + data.holdOut.count
            }
        }
        #expect(Set(try counts(0)) == [50])
        let skewed = try counts(1)
        #expect((skewed.max() ?? 0) > 3 * (skewed.min() ?? 0))
    }

    @Test func simulatedPhysiologyStaysInPlausibleRanges() {
        let generator = SyntheticWearables(task: .sleepQuality, seed: 3)
        var rng = SeededGenerator(seed: 1)
        for user in 0..<100 {
            let person = generator.physiology(user)
            for _ in 0..<20 {
                let day = DayRecord(user: person, using: &rng)
                #expect((40...100).contains(day[.restingHeartRate]))
                #expect((5...250).contains(day[.hrv]))
                #expect((200...40_000).contains(day[.steps]))
                #expect((3...11.5).contains(day[.sleepDuration]))
                #expect((55...99).contains(day[.sleepEfficiency]))
                #expect((0...240).contains(day[.lateScreenTime]))
            }
        }
    }

    @Test func naturalLabelSharesMatchTheDocumentedOnes() throws {
        for task in LearningTask.allCases {
            let spec = try ModelSpec.wearable(task: task)
            let data = try SyntheticWearables(task: task, seed: 11).centralHoldOut(
                users: 200,
                recordsPerUser: 50,
                spec: spec
            )
            let shares = data.labelCounts.map { Double($0) / Double(data.count) }
            for (measured, documented) in zip(shares, SyntheticWearables.naturalClassShares(task)) {
                #expect(abs(measured - documented) < 0.03, "\(task): \(shares)")
            }
        }
    }

    @Test func deviceMixAssignsProportionally() {
        let assigned = SyntheticWearables.DeviceMix(watch: 2, phone: 1, tablet: 1).assign(users: 40)
        #expect(assigned.filter { $0 == .watch }.count == 20)
        #expect(assigned.filter { $0 == .tablet }.count == 10)
        #expect(SyntheticWearables.DeviceMix.even.assign(users: 3) == [.watch, .phone, .tablet])
        #expect(DeviceClass.allCases.map(\.rawValue) == ["watch", "phone", "tablet"])
        #expect(LearningTask.allCases.map(\.rawValue) == ["sleep-quality", "activity"])
    }
}
