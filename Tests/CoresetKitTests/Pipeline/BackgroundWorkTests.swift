import Foundation
import Testing
@testable import CoresetKit

/// `BackgroundWork`: the work runs at once on its own thread; `wait` gives its value or rethrows its error.
@Suite struct BackgroundWorkTests {
    @Test func givesTheValueOfWorkThatRanBesideTheCaller() throws {
        let started = _Promise<Void>()
        let release = _Promise<Void>()
        let work = BackgroundWork { () throws -> Int in
            started.fulfil(())
            release.wait()
            return 42
        }
        // The work has begun before anyone waits for it (and waits for this thread in turn).
        started.wait()
        release.fulfil(())
        #expect(try work.wait() == 42)
        #expect(try work.wait() == 42)
    }

    @Test func rethrowsTheWorksError() {
        let work = BackgroundWork { () throws -> [Record] in
            throw CoresetError.badFile(path: "refit.svm", message: "no records")
        }
        #expect(throws: CoresetError.self) { try work.wait() }
    }

    @Test func loadsRecordsAsTheCallerWould() throws {
        let url = TestSupport.temporaryDirectory().appendingPathComponent("background.svm")
        TestSupport.write(Array("1 1:0.5 3:2\n0 2:1\n".utf8), to: url)
        let path = url.path
        var o = ReaderOptions()
        o.chunkSize = 4096
        let options = o
        let work = BackgroundWork { try loadRecords(path: path, options: options, labels: nil) { _ in }.records }
        let inline = try loadRecords(path: path, options: options, labels: nil) { _ in }.records
        #expect(try work.wait() == inline)
        #expect(inline.count == 2)
    }
}
