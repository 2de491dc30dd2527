import Foundation
import Testing

/// The Spark scale-out job end to end (tools/spark/test_spark.py): installs pyspark into a virtual
/// environment, builds the static binary, runs the job on census_kdd and checks weights and objective.
/// Heavy (a ~450 MB download, minutes of work), so it runs only with CORESET_SPARK_TEST=1 (the 64-shard
/// scale test also needs CORESET_SPARK_SCALE=1).
@Suite(.serialized) struct SparkIntegrationTests {
    static let enabled = ProcessInfo.processInfo.environment["CORESET_SPARK_TEST"] == "1"

    static let scaleEnabled = ProcessInfo.processInfo.environment["CORESET_SPARK_SCALE"] == "1"

    /// Runs tools/spark/test_spark.py with `arguments`; expects its "N passed, 0 failed" line.
    static func runRoute(_ arguments: [String]) throws {
        let root = CLI.fixtures.deletingLastPathComponent()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", root.appendingPathComponent("tools/spark/test_spark.py").path] + arguments
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

    @Test(.enabled(if: enabled, "set CORESET_SPARK_TEST=1 to run the Spark job end to end (heavy): skipped"))
    func sparkJobSelectsPerPartitionAndMerges() throws {
        try Self.runRoute(["--route", "paths"])
    }

    /// The cluster route on a local file system: spark-submit --files, file:// URIs, Hadoop's text input.
    @Test(.enabled(if: enabled, "set CORESET_SPARK_TEST=1 to run the Spark job end to end (heavy): skipped"))
    func sparkJobReadsURIsAndFindsTheShippedBinary() throws {
        try Self.runRoute(["--route", "uri"])
    }

    /// census_kdd in 64 shards: linear time, a small merge share, exact weights (minutes of work).
    @Test(.enabled(if: enabled && scaleEnabled, "set CORESET_SPARK_TEST=1 CORESET_SPARK_SCALE=1 to run the 64-shard scale test: skipped"))
    func sparkJobScalesOver64Shards() throws {
        try Self.runRoute(["--route", "scale"])
    }
}
