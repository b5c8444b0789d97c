import Foundation

/// The process's limit on open files (`RLIMIT_NOFILE`), which bounds how many connections a
/// server can hold.
package enum OpenFileLimit {
    /// Raises the soft limit to the hard one, as Go's runtime does at start: many systems start
    /// services with a soft limit of 1,024, which a gateway outgrows long before its memory or
    /// CPU (systemd's hard limit is 524,288 unless configured). Returns the soft limit in effect,
    /// or nil if it could not be read.
    package static func raiseToHardLimit() -> Int? {
        var limit = rlimit()
        guard getrlimit(self.resource, &limit) == 0 else { return nil }
        if limit.rlim_cur != limit.rlim_max {
            var raised = limit
            raised.rlim_cur = limit.rlim_max
            if setrlimit(self.resource, &raised) == 0 { limit = raised }
        }
        return Int(clamping: limit.rlim_cur)  // no limit (RLIM_INFINITY) is Int.max
    }

    /// The hard limit, which ``raiseToHardLimit()`` raises the soft one to; nil if it could not
    /// be read.
    package static func hardLimit() -> Int? {
        var limit = rlimit()
        guard getrlimit(self.resource, &limit) == 0 else { return nil }
        return Int(clamping: limit.rlim_max)
    }

    #if os(Linux)
    private static let resource = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
    #else
    private static let resource = RLIMIT_NOFILE
    #endif
}
