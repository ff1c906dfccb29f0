/// A plugin could not be loaded or refused to start. `message` is one line for the user.
public struct PluginError: Error, CustomStringConvertible {
    public let path: String
    public let message: String

    public var description: String { message }
}
