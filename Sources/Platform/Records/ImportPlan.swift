import Foundation
import Logging

// The per-file and per-row parts of the set-wise import (RecordEngine+BulkImport.swift):
// what is looked up once, the check of one row without SQL, and the COPY text it stages.

/// Seconds per stage of one set-wise import, logged once at its end (info: an import is rare
/// and large, and this line is how to tell where its time went).
struct ImportTiming {
    let clock = ContinuousClock()
    let started: ContinuousClock.Instant
    var last: ContinuousClock.Instant
    var stages: [(String, Duration)] = []

    init() {
        started = clock.now
        last = started
    }

    mutating func lap(_ stage: String) {
        let now = clock.now
        stages.append((stage, now - last))
        last = now
    }

    func log(entity: String, rows: Int, dryRun: Bool, logger: Logger) {
        func seconds(_ duration: Duration) -> String {
            let (whole, fraction) = duration.components
            return String(format: "%.3f", Double(whole) + Double(fraction) / 1e18)
        }
        var metadata: Logger.Metadata = ["entity": "\(entity)", "rows": "\(rows)", "dry_run": "\(dryRun)",
                                         "seconds": "\(seconds(clock.now - started))"]
        for (stage, duration) in stages { metadata["s_\(stage)"] = "\(seconds(duration))" }
        logger.info("set-wise import", metadata: metadata)
    }
}

/// What the checks of all rows found: ids, references and unique claims to check in the
/// database, and the first problem of each bad row.
struct ImportOutcome {
    struct Reference: Sendable {
        /// Index into ``ImportPlan/references``.
        var kind: Int
        var id: UUID
        var line: Int
    }

    struct Claim: Sendable {
        /// Index into ``ImportPlan/unique``.
        var field: Int
        var key: String
        var line: Int
    }

    var ids: [UUID] = []
    var references: [Reference] = []
    var claims: [Claim] = []
    /// By line: the first problem of the row.
    var problems: [Int: AtriumError.Detail] = [:]

    mutating func add(_ chunk: ImportPlan.Chunk) {
        ids += chunk.ids
        references += chunk.references
        claims += chunk.claims
        for problem in chunk.problems { problems[problem.row ?? 0] = problem }
    }

    mutating func report(_ error: AtriumError, line: Int) {
        if problems[line] == nil { problems[line] = .init(row: line, field: error.field, message: error.message) }
    }
}

/// The per-file part of a set-wise import: what is looked up once (fields by role, field
/// permissions, auto-number blocks) and the check of one row, which runs without SQL.
struct ImportPlan: Sendable {
    static let staging = "atrium_import_staging"
    /// One table for everything staged: records (`r`: id, owner, data, search text, audit
    /// details) and their index keys (`i`) and unique claims (`u`: id, field, key).
    static let createStaging = """
        CREATE TEMP TABLE \(staging) (
            kind "char" NOT NULL, id uuid NOT NULL, owner_id uuid, data jsonb, search text, audit jsonb, field text, key text
        ) ON COMMIT DROP
        """
    static let stagingColumns = ["kind", "id", "owner_id", "data", "search", "audit", "field", "key"]
    static let rowsPerChunk = 1_000
    /// From this many rows the import refreshes the planner's statistics of `records` and
    /// `record_index` (migration 14; ~0.4 s for `record_index` alone on a table of 4 million
    /// keys). Below it a join misjudged by stale statistics stays small.
    static let analyzeFromRows = 5_000

    struct Numbering: Sendable {
        let key: String
        let block: RecordEngine.AutoNumbers
    }

    /// The staged text and the findings of a run of rows.
    struct Chunk: Sendable {
        var copy = ""
        var ids: [UUID] = []
        var references: [ImportOutcome.Reference] = []
        var claims: [ImportOutcome.Claim] = []
        var problems: [AtriumError.Detail] = []
    }

    let entity: EntityDefinition
    let columns: [FieldDefinition?]
    let numbers: [Numbering]
    let access: AccessContext
    /// Fields the importer may not write (``RecordEngine/checkWritable(_:entity:actor:)``).
    let readOnly: Set<String>
    /// The entity's fields by key, and those with defaults or required (``RecordEngine/applyDefaults(_:entity:)``).
    let fields: [String: FieldDefinition]
    let defaulted: [FieldDefinition]
    let searchable: [FieldDefinition]
    let indexed: [FieldDefinition]
    let unique: [FieldDefinition]
    /// Fields whose values name a row elsewhere (lookups, users, departments), then `owner_id`.
    let references: [FieldDefinition]
    let referenceIndex: [String: Int]
    let defaultOwner: String
    let auditHead: String

    init(entity: EntityDefinition, columns: [FieldDefinition?], numbers: [Numbering], actor: RecordEngine.Actor) {
        self.entity = entity
        self.columns = columns
        self.numbers = numbers
        access = actor.access
        readOnly = Set(entity.fields.map(\.key).filter { actor.access.fieldAccess(entity, $0) != .editable })
        fields = Dictionary(entity.fields.map { ($0.key, $0) }, uniquingKeysWith: { first, _ in first })
        defaulted = RecordEngine.defaultedFields(of: entity)
        searchable = entity.searchableFields
        indexed = FieldIndex.indexedFields(of: entity)
        unique = entity.fields.filter(\.unique)
        references = entity.activeFields.filter { [.lookup, .user, .department].contains($0.type) } + [RecordEngine.ownerField]
        referenceIndex = Dictionary(references.enumerated().map { ($1.key, $0) }, uniquingKeysWith: { first, _ in first })
        defaultOwner = ImportText.text(actor.user.id)
        // As ``RecordEngine/audit``: administrators act outside any data scope, said in the trail.
        auditHead = actor.access.unrestricted && actor.access.userID != nil ? #"{"version":"1","admin_bypass":"true""# : #"{"version":"1""#
    }

    /// Checks `rows` in chunks, several at once, and hands the chunks to `each` in file order.
    func prepare(_ rows: ArraySlice<[String]>, _ each: (Chunk) async throws -> Void) async throws {
        let workers = max(1, min(ProcessInfo.processInfo.activeProcessorCount, 8))
        var start = rows.startIndex
        while start < rows.endIndex {
            var ranges: [Range<Int>] = []
            while ranges.count < workers && start < rows.endIndex {
                let end = min(start + Self.rowsPerChunk, rows.endIndex)
                ranges.append(start..<end)
                start = end
            }
            let firstIndex = rows.startIndex
            let chunks = try await withThrowingTaskGroup(of: (Int, Chunk).self) { group in
                for (position, range) in ranges.enumerated() {
                    let slice = rows[range]
                    group.addTask { (position, try self.chunk(slice, firstIndex: firstIndex)) }
                }
                var done = [Chunk?](repeating: nil, count: ranges.count)
                for try await (position, chunk) in group { done[position] = chunk }
                return done
            }
            for chunk in chunks { if let chunk { try await each(chunk) } }
        }
    }

    func chunk(_ rows: ArraySlice<[String]>, firstIndex: Int) throws -> Chunk {
        var chunk = Chunk()
        chunk.copy.reserveCapacity(rows.count * 600)
        var random = SystemRandomNumberGenerator()
        for index in rows.indices {
            let offset = index - firstIndex
            try row(rows[index], line: offset + 2, offset: offset, into: &chunk, random: &random)
        }
        return chunk
    }

    /// One row, checked as ``RecordEngine/create`` checks its values before any SQL; a
    /// problem is noted for the row, other errors (none expected) end the import.
    func row(_ cells: [String], line: Int, offset: Int, into chunk: inout Chunk, random: inout SystemRandomNumberGenerator) throws {
        guard cells.count <= columns.count else {
            chunk.problems.append(.init(row: line, message: "has \(cells.count) cells but the header has \(columns.count)"))
            return
        }
        var data: [String: JSONValue] = [:]
        var named: [(kind: Int, id: UUID)] = []
        var owner: UUID?
        do {
            var values: [String: JSONValue] = [:]
            for (index, cell) in cells.enumerated() {
                guard let field = columns[index] else { continue }
                let value = RecordCSV.value(cell, field: field)
                if !value.isNull { values[field.key] = value }
            }
            let keys = values.keys.sorted()
            if let key = keys.first(where: readOnly.contains) {
                throw AtriumError(status: .forbidden, code: "field_read_only", message: "you may not change \(key)", field: key)
            }
            try access.checkDimension(&values, entity: entity, isCreate: true)
            owner = try RecordEngine.takeOwnerValue(&values)
            if let owner { named.append((references.count - 1, owner)) }
            for key in values.keys.sorted() {
                let field: FieldDefinition, value: JSONValue
                if let known = fields[key] {
                    (field, value) = (known, try RecordEngine.normalised(values[key]!, field: known))
                } else {
                    (field, value) = try RecordEngine.normalised(values[key]!, key: key, entity: entity)
                }
                if let kind = referenceIndex[field.key], let text = value.stringValue, let id = UUID(uuidString: text) {
                    named.append((kind, id))
                }
                data[key] = value
            }
            try RecordEngine.applyDefaults(&data, fields: defaulted)
        } catch let error as AtriumError where error.status.code < 500 {
            chunk.problems.append(.init(row: line, field: error.field, message: error.message))
            return
        }
        for numbering in numbers { data[numbering.key] = .string(numbering.block.text(offset)) }
        data = data.filter { !$0.value.isNull }

        let id = ImportText.randomUUID(&random)
        let idText = ImportText.text(id)
        chunk.ids.append(id)
        for (kind, target) in named { chunk.references.append(.init(kind: kind, id: target, line: line)) }
        // Each value as JSON once, for the record and for its audit entry (keys are field keys:
        // validated identifiers, nothing to escape).
        let values = data.keys.sorted().map { key -> (key: String, json: String) in
            var json = ""
            ImportText.appendJSON(data[key]!, to: &json)
            return (key, json)
        }
        // kind, id, owner_id, data, search, audit, field, key
        chunk.copy += "r\t"
        chunk.copy += idText
        chunk.copy += "\t"
        chunk.copy += owner.map(ImportText.text) ?? defaultOwner
        chunk.copy += "\t{"
        for (position, value) in values.enumerated() {
            chunk.copy += position == 0 ? "\"" : ",\""
            chunk.copy += value.key
            chunk.copy += "\":"
            chunk.copy += value.json
        }
        chunk.copy += "}\t"
        ImportText.appendCopy(RecordEngine.searchText(fields: searchable, data: data), to: &chunk.copy)
        chunk.copy += "\t"
        chunk.copy += auditHead
        if !values.isEmpty {
            chunk.copy += #","changes":{"#
            for (position, value) in values.enumerated() {
                chunk.copy += position == 0 ? "\"" : ",\""
                chunk.copy += value.key
                chunk.copy += #"":{"before":null,"after":"#
                chunk.copy += value.json
                chunk.copy += "}"
            }
            chunk.copy += "}"
        }
        chunk.copy += "}\t\\N\t\\N\n"
        for field in indexed {
            guard let value = data[field.key], let key = FieldIndex.key(value, type: field.type) else { continue }
            stageKey("i", id: idText, field: field.key, key: key, into: &chunk.copy)
        }
        for (position, field) in unique.enumerated() {
            guard let value = data[field.key], let key = FieldIndex.uniqueKey(value, type: field.type) else { continue }
            stageKey("u", id: idText, field: field.key, key: key, into: &chunk.copy)
            chunk.claims.append(.init(field: position, key: key, line: line))
        }
    }

    func stageKey(_ kind: String, id: String, field: String, key: String, into copy: inout String) {
        copy += kind
        copy += "\t"
        copy += id
        copy += "\t\\N\t\\N\t\\N\t\\N\t"
        copy += field  // a validated identifier
        copy += "\t"
        ImportText.appendCopy(key, to: &copy)
        copy += "\n"
    }
}

/// Text for `COPY … FROM STDIN` in its text format: columns split by tabs, rows by newlines,
/// `\N` for NULL, and a backslash starting an escape — so backslashes, tabs, newlines and
/// carriage returns in values are written as `\\`, `\t`, `\n` and `\r`.
enum ImportText {
    /// A random (version 4) UUID; `UUID()` cost ~8 µs here.
    static func randomUUID(_ random: inout SystemRandomNumberGenerator) -> UUID {
        let high: UInt64 = random.next(), low: UInt64 = random.next()
        func byte(_ word: UInt64, _ index: Int) -> UInt8 { UInt8(truncatingIfNeeded: word >> (56 - 8 * index)) }
        return UUID(uuid: (byte(high, 0), byte(high, 1), byte(high, 2), byte(high, 3), byte(high, 4), byte(high, 5),
                           byte(high, 6) & 0x0F | 0x40, byte(high, 7), byte(low, 0) & 0x3F | 0x80, byte(low, 1),
                           byte(low, 2), byte(low, 3), byte(low, 4), byte(low, 5), byte(low, 6), byte(low, 7)))
    }

    static let hexDigits = Array("0123456789abcdef".utf8)

    /// The lower-case text of a UUID, as the API and `uuid::text` write it.
    static func text(_ id: UUID) -> String {
        withUnsafeBytes(of: id.uuid) { raw in
            String(unsafeUninitializedCapacity: 36) { buffer in
                var position = 0
                for (index, byte) in raw.enumerated() {
                    if index == 4 || index == 6 || index == 8 || index == 10 {
                        buffer[position] = UInt8(ascii: "-")
                        position += 1
                    }
                    buffer[position] = hexDigits[Int(byte >> 4)]
                    buffer[position + 1] = hexDigits[Int(byte & 0x0F)]
                    position += 2
                }
                return position
            }
        }
    }

    /// A value as COPY text.
    static func appendCopy(_ text: String, to out: inout String) {
        guard text.utf8.contains(where: { $0 == 0x5C || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D }) else {
            out += text
            return
        }
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\\": out += "\\\\"
            case "\t": out += "\\t"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            default: out.unicodeScalars.append(scalar)
            }
        }
    }

    /// `value` as JSON, already in COPY text: JSON escapes every control character itself, so
    /// the only character COPY needs escaped is the backslash, written twice.
    static func appendJSON(_ value: JSONValue, to out: inout String) {
        switch value {
        case .null: out += "null"
        case .bool(let flag): out += flag ? "true" : "false"
        case .number(let number): out += "\(number)"
        case .string(let text): appendJSONString(text, to: &out)
        case .array(let items):
            out += "["
            for (position, item) in items.enumerated() {
                if position > 0 { out += "," }
                appendJSON(item, to: &out)
            }
            out += "]"
        case .object(let object):
            out += "{"
            for (position, key) in object.keys.sorted().enumerated() {
                if position > 0 { out += "," }
                appendJSONString(key, to: &out)
                out += ":"
                appendJSON(object[key]!, to: &out)
            }
            out += "}"
        }
    }

    static func appendJSONString(_ text: String, to out: inout String) {
        out += "\""
        if !text.utf8.contains(where: { $0 < 0x20 || $0 == 0x22 || $0 == 0x5C }) {
            out += text
        } else {
            for scalar in text.unicodeScalars {
                switch scalar {
                case "\"": out += #"\\""#
                case "\\": out += #"\\\\"#
                case "\n": out += #"\\n"#
                case "\r": out += #"\\r"#
                case "\t": out += #"\\t"#
                case _ where scalar.value < 0x20:
                    let hex = String(scalar.value, radix: 16)
                    out += #"\\u"# + String(repeating: "0", count: 4 - hex.count) + hex
                default:
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        out += "\""
    }
}
