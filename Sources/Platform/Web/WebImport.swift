import Foundation
import Hummingbird
import NIOCore

/// The import page of every entity: upload an Excel workbook (.xlsx) or a CSV file, check it
/// (nothing is kept) or import it (all rows or none), and see each refused row with its line
/// and field. The same engine call as `POST /api/v1/{entity}/import`, so scope, field rules,
/// plan limits and audit are the API's.
///
///     GET  /app/{entity}/import            the form, with templates to download
///     POST /app/{entity}/import            multipart: _csrf, file, check_only
struct WebImport: Sendable {
    let app: WebApp

    func register(on router: RouterGroup<AtriumContext>) {
        router.get("app/:entity/import", use: form)
        router.post("app/:entity/import", use: upload)
    }

    /// Multipart framing around the file (boundaries, part headers, the CSRF field).
    static let framingAllowance = 64 * 1024

    @Sendable func form(_ request: Request, context: AtriumContext) async throws -> Response {
        guard app.signedIn(context) else { return WebApp.redirect("/login") }
        return try await render(request, context, outcome: [:])
    }

    @Sendable func upload(_ request: Request, context: AtriumContext) async throws -> Response {
        guard app.signedIn(context) else { return WebApp.redirect("/login") }
        let key = WebApp.entityKey(context)
        let contentType = request.headers[.contentType] ?? ""
        let limit = RecordCSV.maxImportBytes + Self.framingAllowance
        let form: MultipartForm
        do {
            guard MultipartForm.boundary(of: contentType) != nil else { throw MultipartForm.Malformed(description: "not multipart") }
            let body = try await request.body.collect(upTo: limit)
            form = try MultipartForm.parse(body, contentType: contentType)
        } catch is MultipartForm.Malformed {
            throw AtriumError(status: .badRequest, code: "malformed_upload", message: "the upload could not be read; choose the file again", field: "file")
        } catch let error as AtriumError {
            throw error
        } catch {
            throw AtriumError(status: .contentTooLarge, code: "body_too_large", message: "the file is larger than \(RecordCSV.maxImportBytes / 1024 / 1024) MiB", field: "file")
        }
        let checkOnly = form.fields["check_only"] == "1"
        let fileName = form.files["file"]?.fileName ?? ""
        guard let file = form.files["file"], file.content.readableBytes > 0 else {
            // The CSRF check still comes first: a forged post learns nothing.
            return try await render(request, context, csrfForm: form.fields, status: .unprocessableContent,
                                    outcome: ["problem_key": "import.no_file"])
        }
        let bytes = Array(file.content.readableBytesView)
        let engine = app.engine
        do {
            let created = try await app.page(request, context, form: form.fields, current: key) { page, db in
                _ = try WebApp.entity(key, in: page)
                return try await engine.importFile(key, bytes: bytes, dryRun: checkOnly, as: page.actor, on: db.connection, logger: db.logger).created
            }
            return try await render(request, context, outcome: ["done": true, "created": created, "file_name": fileName])
        } catch let finished as RecordEngine.DryRunFinished {
            return try await render(request, context, outcome: ["checked": true, "valid_rows": finished.created, "file_name": fileName])
        } catch let error as AtriumError where error.status.code == 422 || error.status.code == 413 {
            let problems: [[String: Any]] = error.details.map { detail in
                ["row": detail.row.map { "\($0)" } ?? "", "field": detail.field ?? "", "message": detail.message]
            }
            return try await render(request, context, status: error.status, outcome: [
                "problem": error.message, "problems": problems, "has_problems": !problems.isEmpty, "file_name": fileName,
            ])
        }
    }

    /// The page, with what the last upload came to (`outcome`).
    func render(_ request: Request, _ context: AtriumContext, csrfForm: [String: String]? = nil, status: HTTPResponse.Status = .ok,
                outcome: [String: Any]) async throws -> Response {
        let key = WebApp.entityKey(context)
        struct Values: @unchecked Sendable { let values: [String: Any] }
        let boxed = Values(values: outcome)
        let app = self.app
        return try await app.page(request, context, form: csrfForm, current: key) { page, _ in
            let entity = try WebApp.entity(key, in: page)
            guard page.actor.access.scope(entity, .`import`) > .none else {
                throw AtriumError(status: .forbidden, code: "forbidden", message: "your roles may not import \(key)")
            }
            let lang = page.locale
            var values = boxed.values
            if let problemKey = values["problem_key"] as? String { values["problem"] = app.t(problemKey, lang) }
            if let created = values["created"] as? Int { values["done_text"] = app.t("import.done", lang, ["count": "\(created)"]) }
            if let valid = values["valid_rows"] as? Int { values["checked_text"] = app.t("import.checked", lang, ["count": "\(valid)"]) }
            let fields = entity.activeFields.filter { $0.type != .autoNumber && !$0.computed }
            values["title"] = app.t("import.title", lang, ["entity": app.label(entity, lang)])
            values["entity"] = ["key": key, "label": app.label(entity, lang)]
            values["columns"] = fields.map { field -> [String: Any] in
                ["label": app.label(field, lang), "key": field.key, "required": field.required]
            }
            values["template_xlsx"] = "/api/v1/\(key)/import-template?format=xlsx&lang=\(lang)"
            values["template_csv"] = "/api/v1/\(key)/import-template?format=csv&lang=\(lang)"
            values["max_rows"] = "\(RecordCSV.maxImportRows)"
            values["max_mib"] = "\(RecordCSV.maxImportBytes / 1024 / 1024)"
            return app.render("import", page, status: status, values)
        }
    }
}
