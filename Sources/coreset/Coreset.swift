import ArgumentParser
import CoresetKit

@main
struct Coreset: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "coreset",
        abstract: "Turn a stream of training records into a weighted coreset and learn from it, live.",
        version: "0.1.0",
        subcommands: [RunCommand.self, SelectCommand.self, MergeCommand.self, TrainCommand.self, PredictCommand.self, EvalCommand.self, StatsCommand.self]
    )

    static func main() {
        MemoryReturn.returnLargeFreedBlocks()
        main(nil)
    }
}
