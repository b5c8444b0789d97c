import Testing

@testable import HooklineServices

@Suite("amounts in minor units")
struct MinorUnitsTests {
    @Test("decimal text reads as minor units; text that is not an amount, or is beyond the ledger's largest (64 bits overflowed or not), reads as nothing")
    func parsing() {
        let amounts: [(String, Int64)] = [
            ("49.90", 4990), ("49.9", 4990), ("49", 4900), ("49.", 4900), ("0.05", 5), ("-0.50", -50), ("-12.34", -1234), ("49.999", 4999),
            ("10000000000000.00", maxAmountMinor), ("-10000000000000", -maxAmountMinor),
        ]
        for (text, minor) in amounts {
            #expect(parseMinorUnits(text) == minor, "\(text)")
        }
        let beyond = ["10000000000000.01", "-10000000000000.01", "92233720368547758.07", "92233720368547758.08", "99999999999999999", "-92233720368547758.09"]
        for text in ["", ".5", "-.5", "1.2.3", "1.-5", "1.5x", "x"] + beyond {
            #expect(parseMinorUnits(text) == nil, "\(text)")
        }
    }

    @Test("minor units format with two decimals, the most negative too")
    func formatting() {
        #expect(formatMinorUnits(4990) == "49.90")
        #expect(formatMinorUnits(5) == "0.05")
        #expect(formatMinorUnits(-1234) == "-12.34")
        #expect(formatMinorUnits(.min) == "-92233720368547758.08")
        #expect(formatMinorUnits(.max) == "92233720368547758.07")
    }
}
