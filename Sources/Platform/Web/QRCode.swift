import Foundation

/// A QR code (ISO/IEC 18004) for a short text, rendered as SVG by the server — for the
/// two-factor enrolment page, so no script or image service ever sees the secret.
///
/// Byte mode only, error correction level M (15 % of codewords recoverable), the smallest of
/// versions 1–40 that holds the text; every one of the eight masks is tried and the one with
/// the lowest penalty (ISO 18004 §7.8.3) is kept.
///
/// ```swift
/// let code = try QRCode(text: "otpauth://totp/Atrium:ann@example.com?secret=…")
/// code.size          // 33 modules for version 4
/// code.svg(moduleSize: 6)
/// ```
public struct QRCode: Sendable {
    public struct TooLong: Error, CustomStringConvertible {
        public let bytes: Int
        public var description: String { "\(bytes) bytes do not fit in a version 40-M QR code" }
    }

    public let version: Int
    public let mask: Int
    /// `modules[y][x]`, true for dark; `size` × `size`, without the quiet zone.
    public let modules: [[Bool]]
    public var size: Int { modules.count }

    public init(text: String) throws {
        try self.init(bytes: Array(text.utf8))
    }

    /// Encodes `bytes`; `forcedMask` (0–7) skips the penalty choice (tests compare masks).
    public init(bytes: [UInt8], forcedMask: Int? = nil) throws {
        guard let version = (1...40).first(where: { Self.dataCapacityBits(version: $0) >= 4 + Self.countBits($0) + 8 * bytes.count }) else {
            throw TooLong(bytes: bytes.count)
        }
        let codewords = Self.interleaved(Self.dataCodewords(bytes, version: version), version: version)
        var grid = Grid(version: version)
        grid.place(codewords)
        var best: (mask: Int, grid: Grid, penalty: Int)?
        for mask in forcedMask.map({ [$0] }) ?? Array(0..<8) {
            var candidate = grid
            candidate.apply(mask: mask)
            candidate.drawFormat(mask: mask)
            let penalty = candidate.penalty()
            if best == nil || penalty < best!.penalty { best = (mask, candidate, penalty) }
        }
        self.version = version
        self.mask = best!.mask
        self.modules = best!.grid.dark
    }

    // MARK: Capacity and error correction (ISO 18004 Table 9, level M)

    /// Error correction codewords per block, level M, by version (index 0 = version 1).
    static let eccPerBlockM = [10, 16, 26, 18, 24, 16, 18, 22, 22, 26, 30, 22, 22, 24, 24, 28, 28, 26, 26, 26,
                               26, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28]
    /// Number of error correction blocks, level M, by version.
    static let blocksM = [1, 1, 1, 2, 2, 4, 4, 4, 5, 5, 5, 8, 9, 9, 10, 10, 11, 13, 14, 16,
                          17, 17, 18, 20, 21, 23, 25, 26, 28, 29, 31, 33, 35, 37, 38, 40, 43, 45, 47, 49]

    /// Character count indicator length in byte mode.
    static func countBits(_ version: Int) -> Int { version <= 9 ? 8 : 16 }

    /// All codewords of a version: the modules left once the function patterns are drawn, in bytes.
    static func totalCodewords(version: Int) -> Int { Grid(version: version).freeModules / 8 }

    static func dataCapacityBits(version: Int) -> Int {
        (totalCodewords(version: version) - eccPerBlockM[version - 1] * blocksM[version - 1]) * 8
    }

    /// Mode indicator 0100 (byte), count, data, terminator, zero bits to a byte, then the pad
    /// bytes 0xEC 0x11 alternately up to the data capacity.
    static func dataCodewords(_ bytes: [UInt8], version: Int) -> [UInt8] {
        var bits: [Bool] = []
        func append(_ value: Int, _ count: Int) {
            for shift in stride(from: count - 1, through: 0, by: -1) { bits.append((value >> shift) & 1 == 1) }
        }
        let capacity = dataCapacityBits(version: version)
        append(0b0100, 4)
        append(bytes.count, countBits(version))
        for byte in bytes { append(Int(byte), 8) }
        append(0, min(4, capacity - bits.count))
        if bits.count % 8 != 0 { append(0, 8 - bits.count % 8) }
        var pad: UInt8 = 0xEC
        while bits.count < capacity {
            append(Int(pad), 8)
            pad = pad == 0xEC ? 0x11 : 0xEC
        }
        return stride(from: 0, to: bits.count, by: 8).map { start in
            bits[start..<start + 8].reduce(UInt8(0)) { ($0 << 1) | ($1 ? 1 : 0) }
        }
    }

    /// Splits the data into blocks (short blocks first, long ones one codeword longer), adds each
    /// block's Reed–Solomon codewords and interleaves: data column by column, then ECC likewise.
    static func interleaved(_ data: [UInt8], version: Int) -> [UInt8] {
        let blocks = blocksM[version - 1], ecc = eccPerBlockM[version - 1]
        let total = totalCodewords(version: version)
        let longBlocks = total % blocks
        let shortData = total / blocks - ecc
        let generator = ReedSolomon.generator(degree: ecc)
        var dataBlocks: [[UInt8]] = []
        var eccBlocks: [[UInt8]] = []
        var offset = 0
        for index in 0..<blocks {
            let length = shortData + (index >= blocks - longBlocks ? 1 : 0)
            let block = Array(data[offset..<offset + length])
            offset += length
            dataBlocks.append(block)
            eccBlocks.append(ReedSolomon.remainder(block, generator: generator))
        }
        var result: [UInt8] = []
        for column in 0...shortData {
            for block in dataBlocks where column < block.count { result.append(block[column]) }
        }
        for column in 0..<ecc {
            for block in eccBlocks { result.append(block[column]) }
        }
        return result
    }

    // MARK: SVG

    /// The symbol with a 4-module quiet zone as one SVG path of unit squares, `moduleSize`
    /// pixels each (crisp edges, so a camera or a decoder sees sharp modules). The page's CSS
    /// lets it shrink on a narrow phone (inline styles are refused by the pages' CSP).
    public func svg(moduleSize: Int = 6, label: String = "QR code") -> String {
        let quiet = 4
        let side = size + 2 * quiet
        var path = ""
        for y in 0..<size {
            for x in 0..<size where modules[y][x] {
                path += "M\(x + quiet) \(y + quiet)h1v1h-1z"
            }
        }
        let escaped = label.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: "\"", with: "&quot;")
        return """
            <svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 \(side) \(side)" width="\(side * moduleSize)" height="\(side * moduleSize)" \
            shape-rendering="crispEdges" role="img" aria-label="\(escaped)"><rect width="\(side)" height="\(side)" fill="#fff"/>\
            <path fill="#000" d="\(path)"/></svg>
            """
    }

    /// The symbol as text, `#` dark and `.` light, one row a line (tests and debugging).
    public var text: String {
        modules.map { row in String(row.map { $0 ? "#" : "." }) }.joined(separator: "\n")
    }
}

/// Reed–Solomon error correction over GF(256) with the QR polynomial x⁸+x⁴+x³+x²+1 (0x11D)
/// and generator roots α⁰…α^(n−1).
enum ReedSolomon {
    /// α^i and log tables of GF(256).
    static let tables: (exp: [UInt8], log: [Int]) = {
        var exp = [UInt8](repeating: 0, count: 512)
        var log = [Int](repeating: 0, count: 256)
        var value = 1
        for power in 0..<255 {
            exp[power] = UInt8(value)
            log[value] = power
            value <<= 1
            if value & 0x100 != 0 { value ^= 0x11D }
        }
        for power in 255..<512 { exp[power] = exp[power - 255] }
        return (exp, log)
    }()

    static func multiply(_ a: UInt8, _ b: UInt8) -> UInt8 {
        guard a != 0, b != 0 else { return 0 }
        return tables.exp[tables.log[Int(a)] + tables.log[Int(b)]]
    }

    /// Coefficients of ∏(x − α^i), i < degree, highest power first, the leading 1 left out.
    static func generator(degree: Int) -> [UInt8] {
        var polynomial: [UInt8] = [1]
        for power in 0..<degree {
            let root = tables.exp[power]
            var next = [UInt8](repeating: 0, count: polynomial.count + 1)
            for (index, coefficient) in polynomial.enumerated() {
                next[index] ^= coefficient                      // × x
                next[index + 1] ^= multiply(coefficient, root)  // × α^i (minus is plus in GF(2^8))
            }
            polynomial = next
        }
        return Array(polynomial.dropFirst())
    }

    /// The remainder of data(x)·x^degree divided by the generator: the ECC codewords.
    static func remainder(_ data: [UInt8], generator: [UInt8]) -> [UInt8] {
        var remainder = [UInt8](repeating: 0, count: generator.count)
        for byte in data {
            let factor = byte ^ remainder[0]
            remainder.removeFirst()
            remainder.append(0)
            for index in generator.indices { remainder[index] ^= multiply(generator[index], factor) }
        }
        return remainder
    }
}

/// The module grid while a symbol is built: which modules are dark, and which belong to a
/// function pattern (finders, separators, timing, alignment, format and version areas) and so
/// carry no data and are never masked.
struct Grid: Sendable {
    let version: Int
    let size: Int
    var dark: [[Bool]]
    var reserved: [[Bool]]

    init(version: Int) {
        self.version = version
        size = 17 + 4 * version
        dark = Array(repeating: Array(repeating: false, count: size), count: size)
        reserved = dark
        drawFunctionPatterns()
    }

    var freeModules: Int { reserved.reduce(0) { $0 + $1.filter { !$0 }.count } }

    mutating func set(_ x: Int, _ y: Int, _ isDark: Bool) {
        dark[y][x] = isDark
        reserved[y][x] = true
    }

    /// Row and column centres of the alignment patterns (ISO 18004 Annex E): 6, then evenly
    /// spaced (an even step) up to size − 7; version 32 is the one irregular spacing.
    static func alignmentCentres(version: Int) -> [Int] {
        guard version >= 2 else { return [] }
        let count = version / 7 + 2
        let size = 17 + 4 * version
        let step = version == 32 ? 26 : Int((Double(size - 13) / Double(2 * count - 2)).rounded(.up)) * 2
        var centres = [6]
        for index in (0..<(count - 1)).reversed() { centres.append(size - 7 - index * step) }
        return centres
    }

    mutating func drawFunctionPatterns() {
        // Timing patterns, then the finders (with their light separators) drawn over them.
        for index in 0..<size {
            set(6, index, index % 2 == 0)
            set(index, 6, index % 2 == 0)
        }
        for (cx, cy) in [(3, 3), (size - 4, 3), (3, size - 4)] {
            for dy in -4...4 {
                for dx in -4...4 {
                    let x = cx + dx, y = cy + dy
                    guard (0..<size).contains(x), (0..<size).contains(y) else { continue }
                    let ring = max(abs(dx), abs(dy))  // 0–1 centre, 2 light, 3 dark border, 4 separator
                    set(x, y, ring != 2 && ring != 4)
                }
            }
        }
        let centres = Self.alignmentCentres(version: version)
        for cy in centres {
            for cx in centres {
                // Not where a finder is.
                if (cx == 6 && cy == 6) || (cx == 6 && cy == size - 7) || (cx == size - 7 && cy == 6) { continue }
                for dy in -2...2 {
                    for dx in -2...2 { set(cx + dx, cy + dy, max(abs(dx), abs(dy)) != 1) }
                }
            }
        }
        drawFormat(mask: 0)  // reserves the areas; the real bits come after masking
        if version >= 7 { drawVersion() }
    }

    /// BCH code of `value` (`dataBits` long) with `generator` (degree `degree`): value·x^degree
    /// plus the remainder of its division by the generator.
    static func bch(_ value: Int, degree: Int, generator: Int) -> Int {
        var remainder = value << degree
        let top = Self.bitLength(generator) - 1
        while Self.bitLength(remainder) - 1 >= top {
            remainder ^= generator << (Self.bitLength(remainder) - 1 - top)
        }
        return (value << degree) | remainder
    }

    static func bitLength(_ value: Int) -> Int { value == 0 ? 0 : Int.bitWidth - value.leadingZeroBitCount }

    /// Level M is `00`; 5 data bits (level, mask), BCH(15,5), XOR 101010000010010.
    static func formatBits(mask: Int) -> Int {
        bch((0b00 << 3) | mask, degree: 10, generator: 0b101_0011_0111) ^ 0b101_0100_0001_0010
    }

    /// Both copies of the format information; bit 0 is the least significant.
    mutating func drawFormat(mask: Int) {
        let bits = Self.formatBits(mask: mask)
        func bit(_ index: Int) -> Bool { (bits >> index) & 1 == 1 }
        // Around the top-left finder: column 8 upward from row 0, then row 8 leftward.
        for index in 0...5 { set(8, index, bit(index)) }
        set(8, 7, bit(6))
        set(8, 8, bit(7))
        set(7, 8, bit(8))
        for index in 9..<15 { set(14 - index, 8, bit(index)) }
        // Split between the other two finders.
        for index in 0..<8 { set(size - 1 - index, 8, bit(index)) }
        for index in 8..<15 { set(8, size - 15 + index, bit(index)) }
        set(8, size - 8, true)  // the dark module
    }

    /// Versions 7 and up: 6 version bits + BCH(18,6), in two 6×3 blocks.
    mutating func drawVersion() {
        let bits = Self.bch(version, degree: 12, generator: 0b1_1111_0010_0101)
        for index in 0..<18 {
            let isDark = (bits >> index) & 1 == 1
            let a = size - 11 + index % 3, b = index / 3
            set(a, b, isDark)
            set(b, a, isDark)
        }
    }

    /// Codeword bits, most significant first, in two-module columns zig-zagging up and down
    /// from the bottom-right corner, skipping the vertical timing column; leftover modules
    /// (remainder bits) stay light.
    mutating func place(_ codewords: [UInt8]) {
        var bitIndex = 0
        let totalBits = codewords.count * 8
        var right = size - 1
        while right >= 1 {
            if right == 6 { right = 5 }
            let upward = ((right + 1) & 2) == 0
            for vertical in 0..<size {
                let y = upward ? size - 1 - vertical : vertical
                for x in [right, right - 1] where !reserved[y][x] {
                    if bitIndex < totalBits {
                        dark[y][x] = (codewords[bitIndex >> 3] >> (7 - UInt8(bitIndex & 7))) & 1 == 1
                        bitIndex += 1
                    }
                }
            }
            right -= 2
        }
    }

    static func maskCondition(_ mask: Int, x: Int, y: Int) -> Bool {
        switch mask {
        case 0: return (y + x) % 2 == 0
        case 1: return y % 2 == 0
        case 2: return x % 3 == 0
        case 3: return (y + x) % 3 == 0
        case 4: return (y / 2 + x / 3) % 2 == 0
        case 5: return (y * x) % 2 + (y * x) % 3 == 0
        case 6: return ((y * x) % 2 + (y * x) % 3) % 2 == 0
        default: return ((y + x) % 2 + (y * x) % 3) % 2 == 0
        }
    }

    mutating func apply(mask: Int) {
        for y in 0..<size {
            for x in 0..<size where !reserved[y][x] && Self.maskCondition(mask, x: x, y: y) {
                dark[y][x].toggle()
            }
        }
    }

    /// ISO 18004 §7.8.3: runs of five or more (3 + excess), 2×2 blocks (3 each), finder-like
    /// 1:1:3:1:1 patterns with four light modules on one side (40 each), and the distance of
    /// the dark share from 50 % in steps of 5 % (10 each).
    func penalty() -> Int {
        var score = 0
        let lines: [[Bool]] = dark + (0..<size).map { x in (0..<size).map { y in dark[y][x] } }
        let finderLike: [[Bool]] = [
            [true, false, true, true, true, false, true, false, false, false, false],
            [false, false, false, false, true, false, true, true, true, false, true],
        ]
        for line in lines {
            var run = 1
            for index in 1..<line.count {
                if line[index] == line[index - 1] {
                    run += 1
                } else {
                    if run >= 5 { score += 3 + run - 5 }
                    run = 1
                }
            }
            if run >= 5 { score += 3 + run - 5 }
            for start in 0...(line.count - 11) {
                for pattern in finderLike where (0..<11).allSatisfy({ line[start + $0] == pattern[$0] }) { score += 40 }
            }
        }
        for y in 0..<(size - 1) {
            for x in 0..<(size - 1) {
                let colour = dark[y][x]
                if dark[y][x + 1] == colour && dark[y + 1][x] == colour && dark[y + 1][x + 1] == colour { score += 3 }
            }
        }
        let darkCount = dark.reduce(0) { $0 + $1.filter { $0 }.count }
        let percent = darkCount * 100 / (size * size)
        score += abs(percent - 50) / 5 * 10
        return score
    }
}
