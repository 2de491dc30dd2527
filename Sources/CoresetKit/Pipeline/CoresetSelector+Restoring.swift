extension CoresetSelector {
    /// A selector continuing from `encodedState()` bytes; a saved model snapshot is Learning's
    /// `LinearModelSnapshot` (the only snapshot this build saves).
    /// - Throws: `CoresetError.badFile` (named `source`) if the bytes are not a selector state of this
    ///   layout, or were written with another configuration or task (the message says which).
    public convenience init(restoring bytes: [UInt8], configuration: SelectorConfiguration, task: TaskKind,
                            source: String = "state") throws(CoresetError) {
        try self.init(restoring: bytes, configuration: configuration, task: task, source: source,
                      embeddingType: LinearModelSnapshot.self)
    }
}
