import Foundation

/// Plain-text tables for `hookline` output: columns padded to their widest cell, the last left ragged.
enum Table {
    static func print(_ rows: [[String]]) {
        guard let columns = rows.map(\.count).max(), columns > 0 else { return }
        var widths = [Int](repeating: 0, count: columns)
        for row in rows {
            for (index, cell) in row.enumerated() { widths[index] = max(widths[index], cell.count) }
        }
        for row in rows {
            var line = ""
            for (index, cell) in row.enumerated() {
                line += index == row.count - 1 ? cell : cell.padding(toLength: widths[index] + 2, withPad: " ", startingAt: 0)
            }
            Swift.print(line)
        }
    }
}
