/// Each role's round logic as a pure state machine: decoded messages (with the sender's
/// ``Wire/PeerIdentity``) and timer ticks carrying `now` come in, actions come out.
///
/// Nothing in this module touches a socket, a file, a clock or a logging or metrics backend:
/// the shells in `Runtime` perform the returned actions. That is what lets `RoundsTests` play
/// every attack against every role with plain values.
public enum Rounds {}
