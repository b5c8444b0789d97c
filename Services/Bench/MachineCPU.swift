import Foundation

/// The whole machine's CPU time so far, from the first line of `/proc/stat`: what every process
/// (the broker, the load generator and the system under test alike) has cost the cores.
struct MachineCPU {
    /// Clock ticks spent not idle (user, nice, system, irq, softirq; guest time is part of user).
    var busy: Int
    /// Every tick of every core, idle, I/O wait and stolen included.
    var total: Int
    /// Ticks the hypervisor ran something else while this machine had work for the core.
    var steal: Int

    /// Now; nil where there is no `/proc/stat`.
    static func now() -> MachineCPU? {
        guard let stat = try? String(contentsOfFile: "/proc/stat", encoding: .utf8),
            let line = stat.split(separator: "\n").first, line.hasPrefix("cpu ")
        else { return nil }
        let ticks = line.split(separator: " ").dropFirst().prefix(8).compactMap { Int($0) }
        guard ticks.count == 8 else { return nil }
        // user nice system idle iowait irq softirq steal
        return MachineCPU(busy: ticks[0] + ticks[1] + ticks[2] + ticks[5] + ticks[6], total: ticks.reduce(0, +), steal: ticks[7])
    }

    /// The RESULT fields of the time from `start` to `self` over `requests`: the busy CPU a
    /// request cost the machine (`cpu_us_machine`, microseconds) and how busy its cores were
    /// (`busy_pct`), and the share of their time stolen by the hypervisor (`steal_pct`). Empty
    /// without a start.
    func resultFields(since start: MachineCPU?, requests: Int) -> String {
        guard let start, self.total > start.total else { return "" }
        let ticksPerSecond = Int(sysconf(Int32(_SC_CLK_TCK)))
        let busy = self.busy - start.busy
        let total = self.total - start.total
        return " cpu_us_machine=\(busy * 1_000_000 / ticksPerSecond / max(requests, 1)) busy_pct=\(busy * 100 / total)"
            + " steal_pct=\((self.steal - start.steal) * 100 / total)"
    }
}
