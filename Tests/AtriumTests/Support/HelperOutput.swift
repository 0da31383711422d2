import Foundation

/// The first output of a helper process (`READY <port>`), read on a thread of its own and given
/// up after `seconds`. Reading the pipe on the test's own thread blocked one of the cooperative
/// pool's threads (as many as cores: two here), and a helper that died before printing left
/// that read waiting forever — a fresh-clone CI run hung with two such threads stuck in poll.
enum HelperOutput {
    static func first(_ pipe: Pipe, of process: Process, seconds: Double = 30) -> String? {
        final class Box: @unchecked Sendable { var text: String? }
        let box = Box()
        let done = DispatchSemaphore(value: 0)
        let handle = pipe.fileHandleForReading
        Thread.detachNewThread {
            box.text = String(decoding: handle.availableData, as: UTF8.self)
            done.signal()
        }
        guard done.wait(timeout: .now() + seconds) == .success else {
            kill(process.processIdentifier, SIGKILL)
            return nil
        }
        return box.text
    }
}
