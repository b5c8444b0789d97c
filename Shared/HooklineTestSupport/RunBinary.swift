import Foundation
import Synchronization

/// What one run of a program printed and how it ended.
package struct BinaryOutput: Sendable, CustomStringConvertible {
    package var status: Int32
    package var stdout: String
    package var stderr: String
    /// Whether the run was stopped because it outlived its timeout.
    package var timedOut: Bool

    package var description: String {
        "exit \(self.status)\(self.timedOut ? " (killed after its timeout)" : "")\nstdout: \(self.stdout)\nstderr: \(self.stderr)"
    }
}

/// Runs `path arguments…` to its end with `environment` (the whole environment) in `directory`,
/// standard input empty. After `timeout`, or once `interruptWhen` (asked every 100 ms) answers
/// true, it gets SIGTERM, and SIGKILL 5 s later if still running; the output then says `timedOut`.
///
/// The blocking reads and the wait run on threads of their own: on Swift's cooperative pool they
/// would starve in-process servers (a gateway, consumers) the child is talking to.
package func runBinary(
    _ path: String,
    arguments: [String],
    environment: [String: String],
    directory: URL = FileManager.default.temporaryDirectory,
    timeout: Duration = .seconds(60),
    interruptWhen: (@Sendable () async -> Bool)? = nil
) async throws -> BinaryOutput {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: path)
    process.arguments = arguments
    process.environment = environment
    process.currentDirectoryURL = directory
    let stdout = Pipe()
    let stderr = Pipe()
    process.standardOutput = stdout
    process.standardError = stderr
    process.standardInput = FileHandle.nullDevice
    try process.run()
    let pid = process.processIdentifier
    let state = RunState()
    let killer = Task {
        let deadline = ContinuousClock.now + timeout
        if let interruptWhen {
            while ContinuousClock.now < deadline, !state.exited.load(ordering: .acquiring), await !interruptWhen() {
                try await Task.sleep(for: .milliseconds(100))
            }
        } else {
            try await Task.sleep(until: deadline, clock: .continuous)
        }
        guard !state.exited.load(ordering: .acquiring) else { return }
        state.timedOut.store(true, ordering: .releasing)
        kill(pid, SIGTERM)
        try await Task.sleep(for: .seconds(5))
        if !state.exited.load(ordering: .acquiring) { kill(pid, SIGKILL) }
    }
    let running = Unchecked(process)
    let outHandle = Unchecked(stdout.fileHandleForReading)
    let errHandle = Unchecked(stderr.fileHandleForReading)
    async let out = onOwnThread { outHandle.value.readDataToEndOfFile() }
    async let err = onOwnThread { errHandle.value.readDataToEndOfFile() }
    let (outData, errData) = await (out, err)
    let status = await onOwnThread {
        running.value.waitUntilExit()
        return running.value.terminationStatus
    }
    state.exited.store(true, ordering: .releasing)
    killer.cancel()
    return BinaryOutput(
        status: status,
        stdout: String(decoding: outData, as: UTF8.self),
        stderr: String(decoding: errData, as: UTF8.self),
        timedOut: state.timedOut.load(ordering: .acquiring)
    )
}

private final class RunState: Sendable {
    let exited = Atomic<Bool>(false)
    let timedOut = Atomic<Bool>(false)
}

/// Runs blocking `body` on a new thread, off Swift's cooperative pool.
func onOwnThread<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { continuation in
        Thread.detachNewThread { continuation.resume(returning: body()) }
    }
}

/// Hands a non-Sendable Foundation object to the one other thread that alone uses it next.
final class Unchecked<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}

/// The path of one of this package's executables as `swift build` leaves it (`.build/debug`), or
/// as `HOOKLINE_<NAME>_BINARY` names it (`HOOKLINE_GATEWAY_BINARY` for `hookline-gateway`).
package func builtExecutable(_ name: String) throws -> String {
    let variable = "HOOKLINE_" + name.replacingOccurrences(of: "hookline-", with: "").replacingOccurrences(of: "-", with: "_").uppercased() + "_BINARY"
    let path = ProcessInfo.processInfo.environment[variable]
        ?? EmbeddedBroker.packageRoot().appendingPathComponent(".build/debug/\(name)").path
    guard FileManager.default.isExecutableFile(atPath: path) else {
        throw EmbeddedBrokerError(message: "no \(name) at \(path): run `swift build --build-tests` first (make test does)")
    }
    return path
}

/// Waits for `process` to end without holding a thread (a test process has one cooperative
/// thread per core); after `limit` it is killed and the result is nil.
package func exitStatus(of process: Process, within limit: Duration = .seconds(30)) async -> Int32? {
    let deadline = ContinuousClock.now + limit
    while process.isRunning, ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(20)) }
    guard !process.isRunning else {
        kill(process.processIdentifier, SIGKILL)
        let killed = Unchecked(process)
        await onOwnThread { killed.value.waitUntilExit() }
        return nil
    }
    process.waitUntilExit()  // it has exited: this returns at once
    return process.terminationStatus
}
