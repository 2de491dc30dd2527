import Foundation
import Testing

/// The Spark scale-out job end to end (tools/spark/test_spark.py): installs pyspark into a virtual
/// environment, builds the static binary, runs the job on census_kdd and checks weights and objective.
/// Heavy (a ~450 MB download, minutes of work), so it runs only with CORESET_SPARK_TEST=1.
@Suite struct SparkIntegrationTests {
    static let enabled = ProcessInfo.processInfo.environment["CORESET_SPARK_TEST"] == "1"

    @Test(.enabled(if: enabled, "set CORESET_SPARK_TEST=1 to run the Spark job end to end (heavy): skipped"))
    func sparkJobSelectsPerPartitionAndMerges() throws {
        let root = CLI.fixtures.deletingLastPathComponent()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", root.appendingPathComponent("tools/spark/test_spark.py").path]
        process.currentDirectoryURL = root
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        print(text)
        #expect(process.terminationStatus == 0)
        #expect(text.contains(" passed, 0 failed"))
    }
}
