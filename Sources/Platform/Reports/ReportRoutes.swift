import Foundation
import Hummingbird

/// The report builder's JSON API (issue 21). Every signed-in user may build reports over what
/// they may read; a run is always under the caller's own scope.
///
///     GET    /api/v1/reports                      {"reports": [{id, name, shared, owner_id, definition, updated_at}]}
///     POST   /api/v1/reports                      {"name", "shared"?: false, "definition": {…}}  (see ReportDefinition)
///     POST   /api/v1/reports/run?lang=            a definition, run without saving it
///     GET    /api/v1/reports/{id}?lang=           the report and its figures {"report", "result"}
///     GET    /api/v1/reports/{id}/export?format=csv|xlsx&lang=
///     PATCH  /api/v1/reports/{id}                 {"name"?, "shared"?, "definition"?}  owner or administrator
///     DELETE /api/v1/reports/{id}                 owner or administrator
///     PUT / DELETE /api/v1/reports/{id}/pin       keep it on my home page (at most 8) / take it off
struct ReportRoutes: Sendable {
    let records: RecordRoutes
    var engine: RecordEngine { records.engine }

    func register(on router: RouterGroup<AtriumContext>) {
        router.get("api/v1/reports", use: list)
        router.post("api/v1/reports", use: create)
        router.post("api/v1/reports/run", use: runUnsaved)
        router.get("api/v1/reports/:id", use: show)
        router.get("api/v1/reports/:id/export", use: export)
        router.patch("api/v1/reports/:id", use: update)
        router.delete("api/v1/reports/:id", use: delete)
        router.put("api/v1/reports/:id/pin", use: pin)
        router.delete("api/v1/reports/:id/pin", use: unpin)
    }

    @Sendable func pin(_ request: Request, context: AtriumContext) async throws -> Response {
        let id = try Self.reportID(context)
        try await records.run(request, context, write: true) { actor, db in try await Reports.pin(id, true, as: actor, on: db.connection, logger: db.logger) }
        return Response(status: .noContent)
    }

    @Sendable func unpin(_ request: Request, context: AtriumContext) async throws -> Response {
        let id = try Self.reportID(context)
        try await records.run(request, context, write: true) { actor, db in try await Reports.pin(id, false, as: actor, on: db.connection, logger: db.logger) }
        return Response(status: .noContent)
    }

    static func reportID(_ context: AtriumContext) throws -> UUID {
        try RecordRoutes.uuid(context, "id", notFound: { AtriumError(status: .notFound, code: "report_not_found", message: "no report \($0)") })
    }

    @Sendable func list(_ request: Request, context: AtriumContext) async throws -> Response {
        RecordRoutes.json(try await records.run(request, context) { actor, db in
            JSONValue.object(["reports": .array(try await Reports.list(as: actor, on: db.connection, logger: db.logger).map(\.json))])
        })
    }

    /// Name, shared flag and definition of a create or change body; unknown keys are refused by name.
    static func parts(_ body: [String: JSONValue], creating: Bool) throws -> (String?, Bool?, ReportDefinition?) {
        let known: Set<String> = ["name", "shared", "definition"]
        if let unknown = body.keys.sorted().first(where: { !known.contains($0) }) {
            throw AtriumError.validation(field: unknown, "is not part of a report (name, shared, definition)")
        }
        var name: String?
        if let value = body["name"] {
            guard let text = value.stringValue else { throw AtriumError.validation(field: "name", "must be text") }
            name = text
        } else if creating {
            throw AtriumError.validation(field: "name", "is required")
        }
        var shared: Bool?
        if let value = body["shared"] {
            guard case .bool(let flag) = value else { throw AtriumError.validation(field: "shared", "must be true or false") }
            shared = flag
        }
        var definition: ReportDefinition?
        if let value = body["definition"] {
            definition = try ReportDefinition(json: value)
        } else if creating {
            throw AtriumError.validation(field: "definition", "is required")
        }
        return (name, shared, definition)
    }

    @Sendable func create(_ request: Request, context: AtriumContext) async throws -> Response {
        let (name, shared, definition) = try Self.parts(try await RecordRoutes.object(request), creating: true)
        let engine = self.engine
        return RecordRoutes.json(try await records.run(request, context, write: true) { actor, db in
            try await Reports.create(name: name ?? "", definition: definition!, shared: shared ?? false, engine: engine, as: actor,
                                     on: db.connection, logger: db.logger).json
        }, status: .created)
    }

    @Sendable func runUnsaved(_ request: Request, context: AtriumContext) async throws -> Response {
        let definition = try ReportDefinition(json: .object(try await RecordRoutes.object(request)))
        let locale = RecordRoutes.locale(request, context)
        let engine = self.engine
        return RecordRoutes.json(try await records.run(request, context) { actor, db in
            try await Reports.run(definition, engine: engine, locale: locale, as: actor, on: db.connection, logger: db.logger).json
        })
    }

    @Sendable func show(_ request: Request, context: AtriumContext) async throws -> Response {
        let id = try Self.reportID(context)
        let locale = RecordRoutes.locale(request, context)
        let engine = self.engine
        return RecordRoutes.json(try await records.run(request, context) { actor, db in
            let report = try await Reports.get(id, as: actor, on: db.connection, logger: db.logger)
            let result = try await Reports.run(report.definition, engine: engine, locale: locale, as: actor, on: db.connection, logger: db.logger)
            return JSONValue.object(["report": report.json, "result": result.json])
        })
    }

    @Sendable func export(_ request: Request, context: AtriumContext) async throws -> Response {
        let id = try Self.reportID(context)
        let format = try RecordRoutes.fileFormat(request)
        let locale = RecordRoutes.locale(request, context)
        let engine = self.engine
        let (name, bytes) = try await records.run(request, context) { actor, db in
            let report = try await Reports.get(id, as: actor, on: db.connection, logger: db.logger)
            let result = try await Reports.run(report.definition, engine: engine, locale: locale, as: actor, on: db.connection, logger: db.logger)
            return (report.name, try Self.file(result, name: report.name, format: format))
        }
        let safe = name.unicodeScalars.filter { CharacterSet.alphanumerics.contains($0) && $0.isASCII }.map(String.init).joined()
        return RecordRoutes.fileResponse(bytes, format: format, name: "report-" + (safe.isEmpty ? id.uuidString.prefix(8).lowercased() : safe))
    }

    /// A report's table as CSV or a sheet: one row per group (labels, then figures), a total row
    /// for counts and sums.
    static func file(_ result: ReportResult, name: String, format: RecordFileFormat) throws -> [UInt8] {
        let headers = result.groupTitles + result.measureTitles
        let totalLabel = "Σ"
        let pad = max(0, result.groupTitles.count - 1)
        func texts(_ values: [Decimal?]) -> [String] { values.enumerated().map { result.text($1, measure: $0) ?? "" } }
        func cells(_ values: [Decimal?]) -> [XLSXWriter.Cell] {
            values.enumerated().map { index, value in
                guard let text = result.text(value, measure: index) else { return .empty }
                return result.scales[index] == nil ? .number(text) : .money(text)
            }
        }
        switch format {
        case .csv:
            var text = "\u{FEFF}" + RecordCSV.line(headers)
            for row in result.rows { text += RecordCSV.line(row.labels.map(RecordCSV.guarded) + texts(row.values)) }
            text += RecordCSV.line([totalLabel] + Array(repeating: "", count: pad) + texts(result.totals))
            return Array(text.utf8)
        case .xlsx:
            var sheet = XLSXWriter(sheetName: name, headers: headers)
            for row in result.rows { sheet.addRow(row.labels.map { .text($0) } + cells(row.values)) }
            sheet.addRow([.text(totalLabel)] + Array(repeating: .empty, count: pad) + cells(result.totals))
            return try sheet.finish()
        }
    }

    @Sendable func update(_ request: Request, context: AtriumContext) async throws -> Response {
        let id = try Self.reportID(context)
        let (name, shared, definition) = try Self.parts(try await RecordRoutes.object(request), creating: false)
        let engine = self.engine
        return RecordRoutes.json(try await records.run(request, context, write: true) { actor, db in
            try await Reports.update(id, name: name, definition: definition, shared: shared, engine: engine, as: actor,
                                     on: db.connection, logger: db.logger).json
        })
    }

    @Sendable func delete(_ request: Request, context: AtriumContext) async throws -> Response {
        let id = try Self.reportID(context)
        try await records.run(request, context, write: true) { actor, db in
            try await Reports.delete(id, as: actor, on: db.connection, logger: db.logger)
        }
        return Response(status: .noContent)
    }
}
