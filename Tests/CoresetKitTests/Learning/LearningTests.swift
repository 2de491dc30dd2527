import Testing

/// Umbrella suite so `swift test --filter Learning` selects every Learning test.
@Suite enum LearningTests {}
