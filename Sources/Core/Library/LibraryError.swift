/// An error from the trace library or the project config, with a one-line `message` fit to print
/// after `error: `.
public struct LibraryError: Error, CustomStringConvertible, Sendable, Equatable {
    /// What kind of failure this is. New codes may be added; switch with a default.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Value: Hashable, Sendable {
            case io, notFound, invalidID, invalidName, corrupt, locked
        }
        private let value: Value
        private init(_ value: Value) { self.value = value }

        /// Reading or writing a file failed.
        public static let io = Code(.io)
        /// No record with that id.
        public static let notFound = Code(.notFound)
        /// The id has characters an id cannot have (`/`, `..`, …).
        public static let invalidID = Code(.invalidID)
        /// A name is empty or otherwise unusable.
        public static let invalidName = Code(.invalidName)
        /// A file is not what it should be.
        public static let corrupt = Code(.corrupt)
        /// The index lock could not be taken.
        public static let locked = Code(.locked)

        public var description: String { "\(value)" }
    }

    /// The kind of failure.
    public let code: Code
    /// A one-line, human-readable message.
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
