import Foundation
@testable import Platform
import Testing

/// The QR encoder against symbols produced independently (Debian's `qrencode` 4.1.1,
/// `qrencode -l M -8 -m 0 -t ASCII`), module for module: byte mode, level M, Reed–Solomon
/// blocks and interleaving, function patterns, format and version information and the mask.
@Suite struct QRCodeTests {
    /// "hello world": version 1, the penalty rule picks mask 2 as qrencode does.
    static let helloWorld = [
            "#######..#.##.#######",
            "#.....#...#...#.....#",
            "#.###.#.####..#.###.#",
            "#.###.#.###.#.#.###.#",
            "#.###.#.#.#.#.#.###.#",
            "#.....#.#..#..#.....#",
            "#######.#.#.#.#######",
            "........#.#..........",
            "#.#####..#.#..#####..",
            ".##.##.#.#.########.#",
            "#.#.####.##.###..###.",
            "#.#..#...#.###..###..",
            "...#.#####..###.....#",
            "........#.#.#...##..#",
            "#######....#..#...##.",
            "#.....#.#....#.#.####",
            "#.###.#.#..#..##....#",
            "#.###.#.##..######...",
            "#.###.#.##..#..#..#..",
            "#.....#..##.##..###..",
            "#######.##.##.#.#..#.",
    ]

    /// 120 × "x": version 7 (two blocks, version information blocks, six alignment patterns).
    static let version7 = [
            "#######.....#....#.#.###.#.#.##..#..#.#######",
            "#.....#..#.....#.....#.#######..##.#..#.....#",
            "#.###.#.###.#.###.#.#...#.#.#..###.#..#.###.#",
            "#.###.#.##.....#.####.#.......##...##.#.###.#",
            "#.###.#.#...#.####.#######.#.##...###.#.###.#",
            "#.....#.##.##....#..#...######..#.....#.....#",
            "#######.#.#.#.#.#.#.#.#.#.#.#.#.#.#.#.#######",
            "........###.#.......#...#.#.#..####..........",
            "#.#####......#.#.#..#####.....##.#.#..#####..",
            "...........######.#.####.#.#.##....###.#...##",
            ".#....##.............#.#######..#.#.#####.##.",
            "###..#...###......#.....#.#.#..####...#.###..",
            "##....#..#####.####...#.......##.#.#.....#..#",
            "..###.....##.#####..####.#.#.##....###.#...##",
            "#.#.#.##.#..####...###.#######..#.#.#####.##.",
            ".....#.##.##...##.##....#.#.#..####...#.###..",
            "##.##.##.#.####.###...#.......##.#.#.....#..#",
            "##.#.#.#..##.###.#..####.#.#.##....###.#...##",
            ".###..#..#..#......###.#######..#.#.#####.##.",
            "####.#..#.##..#...##....#.#.#..####...#.###..",
            ".#########..#######.#####.....##.#.#######..#",
            "#.###...#.##..####..#...##.#.##....##...#..##",
            ".#.##.#.#.##.#....#.#.#.######..#.###.#.#.##.",
            ".#.##...#.#..##.#####...#.#.#..####.#...###..",
            "##########.#...##.#######.....##.#..######..#",
            "..##...#...###.######.#..#.#.##.....#......##",
            ".#.##.###.#.##.......###.#####..#.##.#.#..##.",
            ".#.##....#...##.#.#..#.##.#.#..#####.######..",
            "####.##.###.....#..##...#.....##.#..#.#.##..#",
            "..#.....##.###.###.##.#..#.#.##.....#......##",
            "....#.##..#......##..###.#####..#.##.#.#..##.",
            "#.###...##..#.#...#..#.##.#.#..#####.######..",
            ".#.####.###.......###...#.....##.#..#.#.##..#",
            ".##.....######...#.##.#..#.#.##.....#......##",
            "....#.##..#...#####..###.#####..#.##.#.#..##.",
            ".####...##..##.##.#..#.##.#.#..#####.######..",
            "#..##.#####..##...#######.....##.#..######..#",
            "........###....#.#.##...##.#.##.....#...#..##",
            "#######....#..##..###.#.######..#.#.#.#.#.##.",
            "#.....#.##.#....#..##...#.#.#..####.#...###..",
            "#.###.#.#.##..#..#..#####.....##.#.#######..#",
            "#.###.#.#..#...#..#.....##.#.##....#..#.#..##",
            "#.###.#.#...#.##....#.#..#####..#.###.....##.",
            "#.....#..####...#..#####..#.#..####.##.#.##..",
            "#######.#.#.#.#..#.#.#.##.....##.#...#####.#.",
    ]

    @Test func aShortTextMatchesTheReferenceSymbolModuleForModule() throws {
        let code = try QRCode(text: "hello world")
        #expect(code.version == 1)
        #expect(code.mask == 2)
        #expect(code.text.split(separator: "\n").map(String.init) == Self.helloWorld)
    }

    @Test func aVersion7SymbolWithVersionInformationMatchesTheReference() throws {
        let code = try QRCode(text: String(repeating: "x", count: 120))
        #expect(code.version == 7)
        #expect(code.size == 45)
        #expect(code.text.split(separator: "\n").map(String.init) == Self.version7)
    }

    @Test func theVersionGrowsWithTheTextAndTheCapacityFollowsTheStandard() throws {
        // Level M data codewords (ISO 18004 Table 7) for versions 1, 2, 7, 10 and 40.
        #expect(QRCode.dataCapacityBits(version: 1) == 16 * 8)
        #expect(QRCode.dataCapacityBits(version: 2) == 28 * 8)
        #expect(QRCode.dataCapacityBits(version: 7) == 124 * 8)
        #expect(QRCode.dataCapacityBits(version: 10) == 216 * 8)
        #expect(QRCode.dataCapacityBits(version: 40) == 2334 * 8)
        #expect(try QRCode(text: String(repeating: "a", count: 14)).version == 1)   // 4 + 8 + 112 bits ≤ 128
        #expect(try QRCode(text: String(repeating: "a", count: 15)).version == 2)
        #expect(throws: QRCode.TooLong.self) { try QRCode(text: String(repeating: "a", count: 2400)) }
    }

    @Test func alignmentPatternCentresFollowAnnexE() {
        #expect(Grid.alignmentCentres(version: 1) == [])
        #expect(Grid.alignmentCentres(version: 2) == [6, 18])
        #expect(Grid.alignmentCentres(version: 7) == [6, 22, 38])
        #expect(Grid.alignmentCentres(version: 15) == [6, 26, 48, 70])
        #expect(Grid.alignmentCentres(version: 32) == [6, 34, 60, 86, 112, 138])
        #expect(Grid.alignmentCentres(version: 40) == [6, 30, 58, 86, 114, 142, 170])
    }

    @Test func formatAndVersionInformationAreTheStandardsBCHCodes() {
        // Level M, mask 0: 101010000010010 (the XOR mask itself, as the data bits are zero).
        #expect(Grid.formatBits(mask: 0) == 0b101_0100_0001_0010)
        #expect(Grid.formatBits(mask: 5) == 0b100_0000_1100_1110)
        // Version 7: 000111 110010 010100 (ISO 18004 Annex D).
        #expect(Grid.bch(7, degree: 12, generator: 0b1_1111_0010_0101) == 0b000111_110010_010100)
    }

    @Test func reedSolomonMatchesTheStandardsWorkedExample() {
        // ISO 18004 Annex I: "01234567" in version 1-M, 16 data codewords → 10 ECC codewords.
        let data: [UInt8] = [0x10, 0x20, 0x0C, 0x56, 0x61, 0x80, 0xEC, 0x11, 0xEC, 0x11, 0xEC, 0x11, 0xEC, 0x11, 0xEC, 0x11]
        #expect(ReedSolomon.remainder(data, generator: ReedSolomon.generator(degree: 10))
                == [0xA5, 0x24, 0xD4, 0xC1, 0xED, 0x36, 0xC7, 0x87, 0x2C, 0x55])
    }

    @Test func theSVGDrawsEveryDarkModuleInsideAQuietZone() throws {
        let code = try QRCode(text: "hello world")
        let svg = code.svg(moduleSize: 4)
        #expect(svg.hasPrefix("<svg"))
        #expect(svg.contains(#"viewBox="0 0 29 29""#))
        let squares = svg.components(separatedBy: "h1v1h-1z").count - 1
        #expect(squares == code.modules.joined().filter { $0 }.count)
        #expect(svg.contains("M4 4h1v1h-1z"), "the top-left finder's corner sits after 4 quiet modules")
    }
}
