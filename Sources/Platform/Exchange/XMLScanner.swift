import Foundation

/// A small pull scanner for the XML inside .xlsx files: elements with attributes, text with the
/// five predefined entities and character references, CDATA; declarations, comments and
/// processing instructions are skipped. Names are given without their namespace prefix
/// (`x:c` → `c`): files written by other tools prefix the spreadsheet namespace.
///
/// No DTD is read and no entity is defined, so an entity-expansion file has nothing to expand.
/// Malformed markup throws ``Malformed`` rather than guessing.
struct XMLScanner {
    enum Event {
        case start(name: String, attributes: [String: String], selfClosing: Bool)
        case end(name: String)
        case text(String)
    }

    struct Malformed: Error, CustomStringConvertible {
        let offset: Int
        let reason: String
        var description: String { "malformed XML at byte \(offset): \(reason)" }
    }

    private let bytes: [UInt8]
    private var index = 0

    init(_ bytes: [UInt8]) {
        self.bytes = bytes
        if bytes.count >= 3, bytes[0] == 0xEF, bytes[1] == 0xBB, bytes[2] == 0xBF { index = 3 }
    }

    /// The next event, nil at the end of the input.
    mutating func next() throws -> Event? {
        while index < bytes.count {
            if bytes[index] != UInt8(ascii: "<") {
                let start = index
                while index < bytes.count, bytes[index] != UInt8(ascii: "<") { index += 1 }
                return .text(try decode(start..<index))
            }
            guard index + 1 < bytes.count else { throw Malformed(offset: index, reason: "a lone '<'") }
            switch bytes[index + 1] {
            case UInt8(ascii: "?"):
                try skip(past: Array("?>".utf8))
            case UInt8(ascii: "!"):
                if matches("<![CDATA[") {
                    let start = index + 9
                    guard let end = find(Array("]]>".utf8), from: start) else { throw Malformed(offset: index, reason: "CDATA not closed") }
                    index = end + 3
                    return .text(String(decoding: bytes[start..<end], as: UTF8.self))
                } else if matches("<!--") {
                    index += 4
                    try skip(past: Array("-->".utf8))
                } else {
                    // <!DOCTYPE …>: skipped whole, internal subset included; nothing in it is used.
                    var depth = 0
                    while index < bytes.count {
                        let byte = bytes[index]
                        index += 1
                        if byte == UInt8(ascii: "[") { depth += 1 }
                        if byte == UInt8(ascii: "]") { depth -= 1 }
                        if byte == UInt8(ascii: ">") && depth <= 0 { break }
                    }
                }
            case UInt8(ascii: "/"):
                index += 2
                let name = try readName()
                skipSpace()
                guard index < bytes.count, bytes[index] == UInt8(ascii: ">") else { throw Malformed(offset: index, reason: "end tag not closed") }
                index += 1
                return .end(name: name)
            default:
                index += 1
                let name = try readName()
                var attributes: [String: String] = [:]
                while true {
                    skipSpace()
                    guard index < bytes.count else { throw Malformed(offset: index, reason: "tag not closed") }
                    if bytes[index] == UInt8(ascii: ">") {
                        index += 1
                        return .start(name: name, attributes: attributes, selfClosing: false)
                    }
                    if bytes[index] == UInt8(ascii: "/") {
                        guard index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: ">") else { throw Malformed(offset: index, reason: "'/' inside a tag") }
                        index += 2
                        return .start(name: name, attributes: attributes, selfClosing: true)
                    }
                    let attribute = try readName()
                    skipSpace()
                    guard index < bytes.count, bytes[index] == UInt8(ascii: "=") else { throw Malformed(offset: index, reason: "attribute \(attribute) has no value") }
                    index += 1
                    skipSpace()
                    guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") || bytes[index] == UInt8(ascii: "'") else {
                        throw Malformed(offset: index, reason: "attribute \(attribute) is not quoted")
                    }
                    let quote = bytes[index]
                    let start = index + 1
                    index = start
                    while index < bytes.count, bytes[index] != quote { index += 1 }
                    guard index < bytes.count else { throw Malformed(offset: start, reason: "attribute \(attribute) not closed") }
                    attributes[attribute] = try decode(start..<index)
                    index += 1
                }
            }
        }
        return nil
    }

    /// The text content up to the end tag of the element just started (markup inside is dropped).
    mutating func text(until name: String) throws -> String {
        var text = ""
        var depth = 0
        while let event = try next() {
            switch event {
            case .text(let part): text += part
            case .start(_, _, let selfClosing): if !selfClosing { depth += 1 }
            case .end(let ended):
                if depth == 0 {
                    guard ended == name else { throw Malformed(offset: index, reason: "</\(ended)> closes <\(name)>") }
                    return text
                }
                depth -= 1
            }
        }
        throw Malformed(offset: index, reason: "<\(name)> not closed")
    }

    /// Skips everything up to and including the end tag of the element just started.
    mutating func skipElement() throws {
        var depth = 0
        while let event = try next() {
            switch event {
            case .text: break
            case .start(_, _, let selfClosing): if !selfClosing { depth += 1 }
            case .end:
                if depth == 0 { return }
                depth -= 1
            }
        }
    }

    // MARK: Bytes

    private func matches(_ literal: String) -> Bool {
        let pattern = Array(literal.utf8)
        guard index + pattern.count <= bytes.count else { return false }
        return bytes[index..<(index + pattern.count)].elementsEqual(pattern)
    }

    private func find(_ pattern: [UInt8], from start: Int) -> Int? {
        var position = start
        while position + pattern.count <= bytes.count {
            if bytes[position] == pattern[0], bytes[position..<(position + pattern.count)].elementsEqual(pattern) { return position }
            position += 1
        }
        return nil
    }

    private mutating func skip(past pattern: [UInt8]) throws {
        guard let end = find(pattern, from: index) else { throw Malformed(offset: index, reason: "markup not closed") }
        index = end + pattern.count
    }

    private mutating func skipSpace() {
        while index < bytes.count, bytes[index] == 0x20 || bytes[index] == 0x09 || bytes[index] == 0x0A || bytes[index] == 0x0D { index += 1 }
    }

    /// A name, without its prefix.
    private mutating func readName() throws -> String {
        let start = index
        var local = index
        while index < bytes.count {
            let byte = bytes[index]
            if byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D || byte == UInt8(ascii: ">") || byte == UInt8(ascii: "/") || byte == UInt8(ascii: "=") { break }
            if byte == UInt8(ascii: ":") { local = index + 1 }
            index += 1
        }
        guard index > local else { throw Malformed(offset: start, reason: "a tag or attribute without a name") }
        return String(decoding: bytes[local..<index], as: UTF8.self)
    }

    /// Text with its entity and character references replaced.
    private func decode(_ range: Range<Int>) throws -> String {
        guard bytes[range].contains(UInt8(ascii: "&")) else { return String(decoding: bytes[range], as: UTF8.self) }
        var output: [UInt8] = []
        output.reserveCapacity(range.count)
        var position = range.lowerBound
        while position < range.upperBound {
            let byte = bytes[position]
            guard byte == UInt8(ascii: "&") else { output.append(byte); position += 1; continue }
            guard let semicolon = bytes[position..<range.upperBound].firstIndex(of: UInt8(ascii: ";")), semicolon - position <= 12 else {
                throw Malformed(offset: position, reason: "'&' is not a reference")
            }
            let name = String(decoding: bytes[(position + 1)..<semicolon], as: UTF8.self)
            switch name {
            case "amp": output.append(UInt8(ascii: "&"))
            case "lt": output.append(UInt8(ascii: "<"))
            case "gt": output.append(UInt8(ascii: ">"))
            case "quot": output.append(UInt8(ascii: "\""))
            case "apos": output.append(UInt8(ascii: "'"))
            default:
                let scalar: UInt32?
                if name.hasPrefix("#x") || name.hasPrefix("#X") { scalar = UInt32(name.dropFirst(2), radix: 16) }
                else if name.hasPrefix("#") { scalar = UInt32(name.dropFirst(), radix: 10) }
                else { scalar = nil }
                guard let scalar, let character = Unicode.Scalar(scalar) else { throw Malformed(offset: position, reason: "unknown reference &\(name);") }
                output += Array(String(Character(character)).utf8)
            }
            position = semicolon + 1
        }
        return String(decoding: output, as: UTF8.self)
    }
}

/// Text made safe for XML 1.0: markup characters escaped, characters XML cannot carry at all
/// (C0 controls other than tab and line breaks, U+FFFE/U+FFFF) dropped.
enum XMLText {
    static func escaped(_ text: String, attribute: Bool = false) -> String {
        var needsWork = false
        for scalar in text.unicodeScalars where scalar == "&" || scalar == "<" || scalar == ">" || (attribute && scalar == "\"")
            || (scalar.value < 0x20 && scalar != "\t" && scalar != "\n" && scalar != "\r") || scalar.value == 0xFFFE || scalar.value == 0xFFFF {
            needsWork = true
            break
        }
        guard needsWork else { return text }
        var output = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": output.append(contentsOf: "&amp;".unicodeScalars)
            case "<": output.append(contentsOf: "&lt;".unicodeScalars)
            case ">": output.append(contentsOf: "&gt;".unicodeScalars)
            case "\"" where attribute: output.append(contentsOf: "&quot;".unicodeScalars)
            default:
                if (scalar.value < 0x20 && scalar != "\t" && scalar != "\n" && scalar != "\r") || scalar.value == 0xFFFE || scalar.value == 0xFFFF { continue }
                output.append(scalar)
            }
        }
        return String(output)
    }
}
