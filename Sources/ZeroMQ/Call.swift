internal import CZeroMQ

#if canImport(Glibc)
import Glibc
#endif

/// The outcome of a libzmq call that may legitimately find nothing to do.
enum CallResult {
    case done(Int32)
    case wouldBlock
}

/// Runs one libzmq call: retries on `EINTR`, turns `EAGAIN` into `.wouldBlock`, throws the rest.
///
/// Every call into libzmq goes through here so that signal interruptions and non-blocking
/// "try again" are handled the same way everywhere (cf. swift-nio's `syscall` wrapper).
@inline(__always)
func zmqCall(_ name: @autoclosure () -> String, _ body: () -> Int32) throws(ZeroMQError) -> CallResult {
    while true {
        let result = body()
        if result >= 0 { return .done(result) }
        let code = zmq_errno()
        switch code {
        case EINTR: continue
        case EAGAIN: return .wouldBlock
        case EFAULT: preconditionFailure("\(name()): libzmq reported EFAULT, a programming error")
        default: throw ZeroMQError(call: name(), code: code)
        }
    }
}

/// Runs a libzmq call that must not block; `EAGAIN` is an error there.
@inline(__always)
@discardableResult
func zmqCheck(_ name: @autoclosure () -> String, _ body: () -> Int32) throws(ZeroMQError) -> Int32 {
    switch try zmqCall(name(), body) {
    case .done(let value): return value
    case .wouldBlock: throw ZeroMQError(call: name(), code: EAGAIN)
    }
}
