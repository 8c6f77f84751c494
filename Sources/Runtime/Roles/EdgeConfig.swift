import Foundation
public import Learning
import Wire

/// Where one virtual device's local data comes from. The data never leaves the process.
public enum DeviceDataSource: Sendable {
    /// A synthetic user of the wearable generator (deterministic by seed and user index).
    case synthetic(generator: SyntheticWearables, userIndex: Int)
    /// A CSV export: header row of feature names plus `label`; a fifth of the rows is the local hold-out.
    case csv(path: String)

    /// The device's training and hold-out sets under `spec` (feature order and scaling).
    func load(deviceClass: DeviceClass, spec: ModelSpec) throws -> DeviceData {
        switch self {
        case .synthetic(let generator, let userIndex):
            let user = try generator.userRecords(userIndex: userIndex, deviceClass: deviceClass, spec: spec)
            return DeviceData(train: user.train, holdOut: user.holdOut)
        case .csv(let path):
            return try CSVDeviceData.load(path: path, spec: spec)
        }
    }
}

/// One virtual device hosted by an edge process: its own identity, data and sockets.
public struct VirtualDevice: Sendable {
    public var id: String
    public var deviceClass: DeviceClass
    public var data: DeviceDataSource
    public var eligibility = EligibilityProfile()

    public init(id: String, deviceClass: DeviceClass, data: DeviceDataSource) {
        self.id = id
        self.deviceClass = deviceClass
        self.data = data
    }
}

/// The device conditions a check-in reports; the coordinator selects only eligible devices.
public struct EligibilityProfile: Sendable {
    public var consent = true
    public var charging = true
    public var unmetered = true
    public var batteryPercent = 90
    public init() {}
}

/// Settings of an edge process.
public struct EdgeConfig: Sendable {
    public var devices: [VirtualDevice]
    public var coordinatorBroadcast = "tcp://127.0.0.1:7001"
    public var coordinatorControl = "tcp://127.0.0.1:7002"
    /// The enrolment (servers' public keys) when CURVE is on; `.insecure` otherwise.
    public var security: TransportSecurity = .insecure
    /// Where each hosted device's own secret key lives (`<device id>.key`): a device proves its
    /// id with its key, so one device cannot send in another's name.
    public var deviceKeys: KeyDirectory?
    /// The enrolled name `E` of this process's own `edge:<class>` key (``security``'s key pair):
    /// every device then speaks as `E/<suffix>` over sockets shared by all of them.
    public var edgeName: String?
    public var checkinIntervalMillis: Int64 = 1_000
    /// Holds each update back this long after training (a slow device), without blocking the loop.
    public var sendDelayMillis: Int64 = 0
    /// Test/red-team knob: multiplies every local delta before clipping, so one device plays a
    /// poisoned (huge-norm) update. 1 is an honest device; never set it in production.
    public var poisonScale: Double = 1
    /// Seed of the local noise and minibatch order; each device derives its own stream.
    public var seed: UInt64 = 1
    /// The spec the devices load their data under before the first round announces one, so a
    /// check-in can report real example counts.
    public var spec: ModelSpec

    public init(devices: [VirtualDevice], spec: ModelSpec) {
        self.devices = devices
        self.spec = spec
    }
}
