import ArgumentParser
import CoresetKit

/// How `--format text` turns raw lines (logs) into records.
struct TextFormatOptions: ParsableArguments {
    @Flag(name: .long, help: "Text: keep letter case (default: lower-case).")
    var keepCase = false

    @Flag(name: .long, help: "Text: keep numbers and hex ids as written (default: each becomes one token `0`).")
    var keepNumbers = false

    @Flag(name: .long, help: "Text: keep month and weekday names (default: one token for all).")
    var keepCalendarNames = false

    @Option(name: .long, help: ArgumentHelp("Text: remove matches of this regular expression before tokenising (repeatable).", valueName: "regex"))
    var strip: [String] = []

    @Flag(name: .long, help: "Text: remove timestamps (ISO 8601, syslog, Apache, hh:mm:ss) before tokenising.")
    var stripTimestamps = false

    @Option(name: .long, help: "Text: word n-grams up to this length.")
    var ngrams: Int = 1

    @Option(name: .long, help: "Text: length of the character q-grams of the line's shape (its layout); 0 turns them off.")
    var shapeGrams: Int = 4

    @Option(name: .long, help: "Text: weight of the word features.")
    var wordWeight: Float = 1

    @Option(name: .long, help: "Text: weight of the shape q-grams.")
    var shapeWeight: Float = 1

    @Flag(name: .long, help: "Text: do not scale each line's vector to unit length.")
    var noUnitLength = false

    @Option(name: .long, help: ArgumentHelp("Text: the label is the first capture group of this regular expression.", valueName: "regex"))
    var labelPattern: String?

    @Option(name: .long, help: "Text: the label is this field (zero-based) of the line split at --field-delimiter; the field is left out of the features.")
    var labelField: Int?

    @Option(name: .long, help: "Text: field delimiter for --label-field (one character, 'tab', or 'space' for runs of blanks).")
    var fieldDelimiter: String = "tab"

    @Option(name: .long, help: "Text: JSON log lines; the label is the value of this top-level key.")
    var labelKey: String?

    @Option(name: .long, help: "Text: JSON log lines; features are made of this key's value (default: the whole line).")
    var textKey: String?

    @Option(name: .long, help: ArgumentHelp("Text: map label values to classes, e.g. 'ERROR=bad,FATAL=bad,INFO=ok' (others keep their value).", valueName: "map"))
    var labelMap: String?

    @Option(name: .long, help: "Text: class of a line whose label is not found.")
    var missingLabel: String = "unlabelled"

    /// Whether any text option was given (they only make sense with `--format text`).
    var isUsed: Bool {
        keepCase || keepNumbers || keepCalendarNames || !strip.isEmpty || stripTimestamps || ngrams != 1 || shapeGrams != 4
            || wordWeight != 1 || shapeWeight != 1 || noUnitLength || labelPattern != nil || labelField != nil
            || labelKey != nil || textKey != nil || labelMap != nil || fieldDelimiter != "tab" || missingLabel != "unlabelled"
    }

    /// Whether the lines carry a label.
    var isLabelled: Bool { labelPattern != nil || labelField != nil || labelKey != nil }

    func validate() throws {
        if [labelPattern != nil, labelField != nil, labelKey != nil].filter({ $0 }).count > 1 {
            throw ValidationError("give one of --label-pattern, --label-field, --label-key")
        }
        if !["tab", "space"].contains(fieldDelimiter) && fieldDelimiter.utf8.count != 1 {
            throw ValidationError("--field-delimiter must be one character, 'tab' or 'space'")
        }
        if let labelMap, parsedLabelMap(labelMap) == nil {
            throw ValidationError("--label-map must be value=class pairs separated by commas")
        }
        if let message = textOptions.validationError() { throw ValidationError(message) }
    }

    func parsedLabelMap(_ text: String) -> [String: String]? {
        var map: [String: String] = [:]
        for pair in text.split(separator: ",") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else { return nil }
            map[String(parts[0])] = String(parts[1])
        }
        return map
    }

    var textOptions: TextOptions {
        var o = TextOptions()
        o.lowercase = !keepCase
        o.maskNumbers = !keepNumbers
        o.maskCalendarNames = !keepCalendarNames
        o.stripPatterns = strip + (stripTimestamps ? [TextOptions.timestampPattern] : [])
        o.ngrams = ngrams
        o.shapeGrams = shapeGrams
        o.wordWeight = wordWeight
        o.shapeWeight = shapeWeight
        o.unitLength = !noUnitLength
        if let labelPattern { o.label = .pattern(labelPattern) }
        if let labelField { o.label = .field(labelField) }
        if let labelKey { o.label = .jsonKey(labelKey) }
        o.textKey = textKey
        o.fieldDelimiter = fieldDelimiter == "space" ? nil : fieldDelimiter == "tab" ? 0x09 : fieldDelimiter.utf8.first
        o.labelMap = labelMap.flatMap(parsedLabelMap) ?? [:]
        o.missingLabel = missingLabel
        return o
    }
}
