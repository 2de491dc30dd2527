import ArgumentParser
import CoresetKit

struct StatsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "stats", abstract: "Summarise a record stream.")
    func run() async throws {}
}
