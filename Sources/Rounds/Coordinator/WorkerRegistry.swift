public import Wire

/// The workers that checked in recently: who may be sampled, and of which class.
///
/// Bounded (`capacity`): every check-in from a new id takes memory and a slot in the next
/// `round.open`, so past the cap new ids are refused while known ones keep their slot.
public struct WorkerRegistry: Sendable, Equatable {
    public struct Worker: Sendable, Equatable {
        public var deviceClass: DeviceClassName
        public var eligible: Bool
        public var lastSeen: Int64
    }

    public enum Admission: Sendable, Equatable {
        case new, known
        /// Refused: the registry is at `capacity` and the id is new.
        case full
    }

    public let capacity: Int
    public private(set) var workers: [String: Worker] = [:]

    public init(capacity: Int) {
        self.capacity = max(0, capacity)
    }

    public var count: Int { workers.count }

    /// Records a check-in: the device's facts decide eligibility, with one policy for everyone.
    public mutating func checkedIn(_ checkin: Checkin, now: Int64) -> Admission {
        let facts = checkin.eligibility
        let eligible =
            facts.consent && facts.charging && facts.unmetered && facts.batteryPercent >= 20
            && checkin.trainExamples > 0
        let worker = Worker(deviceClass: checkin.deviceClass, eligible: eligible, lastSeen: now)
        if workers[checkin.workerId] != nil {
            workers[checkin.workerId] = worker
            return .known
        }
        guard workers.count < capacity else { return .full }
        workers[checkin.workerId] = worker
        return .new
    }

    /// Forgets workers silent for longer than `timeoutMillis`; returns their ids, sorted.
    public mutating func expire(now: Int64, timeoutMillis: Int64) -> [String] {
        let gone = workers.filter { now - $0.value.lastSeen > timeoutMillis }.keys.sorted()
        for id in gone { workers[id] = nil }
        return gone
    }
}
