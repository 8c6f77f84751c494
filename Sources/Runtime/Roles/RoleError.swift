/// A role-level failure with a sentence a user can act on.
public struct RoleError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
