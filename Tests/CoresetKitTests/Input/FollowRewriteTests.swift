import Foundation
import Glibc
import Testing
@testable import CoresetKit

/// Issue 28: a followed file rewritten under the reader without shrinking (same inode).
@Suite(.serialized) struct FollowRewriteTests {
    /// Replaces the file's content in place: same inode; `truncate: false` overwrites from byte 0.
    static func rewrite(_ path: String, _ text: String, truncate: Bool) {
        let fd = open(path, O_WRONLY | (truncate ? O_TRUNC : 0))
        precondition(fd >= 0)
        let bytes = Array(text.utf8)
        precondition(bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) } == bytes.count)
        close(fd)
    }

    static func values(_ r: (records: [Record], reader: RecordReader, error: CoresetError?, diagnostics: [String])) -> [Float] {
        r.records.map { $0.features.values[0] }
    }

    @Test func truncatedAndAtOnceRewrittenLongerIsReadFromItsStart() {
        let file = TestSupport.temporaryDirectory().appendingPathComponent("log.svm")
        TestSupport.write(Array("1 1:1\n1 1:2\n".utf8), to: file)
        let path = file.path
        let r = FollowTests.follow(path) {
            FollowTests.pause(0.3)
            Self.rewrite(path, "1 1:3\n1 1:4\n1 1:5\n", truncate: true)
        }
        #expect(r.error == nil)
        // Before issue 28: [1, 2, 5], the new file read from the old offset.
        #expect(Self.values(r) == [1, 2, 3, 4, 5], "\(r.diagnostics)")
    }

    @Test func rewrittenInPlaceAtTheSameSizeIsReadAgain() {
        let file = TestSupport.temporaryDirectory().appendingPathComponent("log.svm")
        TestSupport.write(Array("1 1:1\n1 1:2\n".utf8), to: file)
        let path = file.path
        let r = FollowTests.follow(path) {
            FollowTests.pause(0.3)
            Self.rewrite(path, "1 1:7\n1 1:8\n", truncate: false)
            FollowTests.pause(0.2)
            TestSupport.append(Array("1 1:9\n".utf8), to: URL(fileURLWithPath: path))
        }
        #expect(r.error == nil)
        // Before issue 28: [1, 2, 9], the rewrite unseen.
        #expect(Self.values(r) == [1, 2, 7, 8, 9], "\(r.diagnostics)")
    }

    @Test func aRewriteThatChangesOnlyTheMiddleIsSeenByItsEnd() {
        // 140 bytes: the change is past the first 64, in the last 64 bytes read.
        let lines = (0..<20).map { "1 1:\($0 + 10)\n" }.joined()
        let file = TestSupport.temporaryDirectory().appendingPathComponent("log.svm")
        TestSupport.write(Array(lines.utf8), to: file)
        let path = file.path
        let r = FollowTests.follow(path) {
            FollowTests.pause(0.3)
            var changed = Array(lines.utf8)
            changed[changed.count - 3] = UInt8(ascii: "0")  // 1 1:29 -> 1 1:09
            Self.rewrite(path, String(decoding: changed, as: UTF8.self), truncate: false)
        }
        #expect(r.error == nil)
        #expect(Self.values(r).count == 40)
        #expect(Self.values(r).last == 9)
    }
}
