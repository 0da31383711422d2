import Foundation

/// OpenAPI 3.1 description of one tenant's API, generated from its metadata, so custom
/// objects and custom fields appear as soon as they are defined.
public enum OpenAPIDocument {
    static func s(_ text: String) -> JSONValue { .string(text) }
    static func ref(_ name: String) -> JSONValue { .object(["$ref": s("#/components/schemas/\(name)")]) }

    static func schemaName(_ key: String) -> String {
        key.split(separator: "_").map { $0.prefix(1).uppercased() + $0.dropFirst() }.joined()
    }

    /// JSON Schema of a field's value as the API reads and writes it.
    static func valueSchema(_ field: FieldDefinition) -> JSONValue {
        var schema: [String: JSONValue]
        switch field.type {
        case .text, .longText, .phone, .autoNumber:
            schema = ["type": s("string")]
            if let maxLength = field.maxLength { schema["maxLength"] = .number(Decimal(maxLength)) }
            if let pattern = field.pattern { schema["pattern"] = s("^(?:\(pattern))$") }
        case .number, .percent:
            schema = ["type": s("string"), "pattern": s(#"^-?\d+(\.\d+)?$"#), "description": s("decimal as a string (exact)")]
        case .money:
            schema = ["type": s("object"), "required": .array([s("amount")]), "properties": .object([
                "amount": .object(["type": s("string"), "pattern": s(#"^-?\d+(\.\d+)?$"#)]),
                "currency": .object(["type": s("string"), "pattern": s("^[A-Z]{3}$")]),
            ])]
        case .date: schema = ["type": s("string"), "format": s("date")]
        case .datetime: schema = ["type": s("string"), "format": s("date-time")]
        case .boolean: schema = ["type": s("boolean")]
        case .email: schema = ["type": s("string"), "format": s("email")]
        case .url: schema = ["type": s("string"), "format": s("uri")]
        case .picklist:
            schema = ["type": s("string"), "enum": .array((field.options ?? []).map { s($0.value) })]
        case .multiPicklist:
            schema = ["type": s("array"), "items": .object(["type": s("string"), "enum": .array((field.options ?? []).map { s($0.value) })])]
        case .lookup, .user, .department:
            schema = ["type": s("string"), "format": s("uuid")]
        }
        if let label = field.labels["en"] ?? field.labels.values.first {
            schema["title"] = s(label)
        }
        if field.type == .autoNumber || field.computed { schema["readOnly"] = .bool(true) }
        return .object(["anyOf": .array([.object(schema), .object(["type": s("null")])])])
    }

    public static func build(tenant: TenantInfo, entities: [EntityDefinition]) -> JSONValue {
        let countSchema: JSONValue = .object(["type": s("string"), "enum": .array([s("capped"), s("exact")])])
        var schemas: [String: JSONValue] = [
            "Error": .object(["type": s("object"), "required": .array([s("error")]), "properties": .object([
                "error": .object(["type": s("object"), "required": .array([s("code"), s("message")]), "properties": .object([
                    "code": .object(["type": s("string")]), "message": .object(["type": s("string")]),
                    "field": .object(["type": s("string")]),
                    "details": .object(["type": s("array"), "items": .object(["type": s("object"), "required": .array([s("message")]), "properties": .object([
                        "row": .object(["type": s("integer")]), "field": .object(["type": s("string")]), "message": .object(["type": s("string")]),
                    ])])]),
                ])]),
            ])]),
            "Filter": .object(["type": s("object"), "description": s("{\"and\":[…]}, {\"or\":[…]} or {\"field\",\"op\",\"value\"}; op is one of \(RecordQuery.operators.sorted().joined(separator: ", "))")]),
            "Query": .object(["type": s("object"), "properties": .object([
                "filter": ref("Filter"), "sort": .object(["type": s("string")]), "q": .object(["type": s("string")]),
                "limit": .object(["type": s("integer"), "minimum": .number(1), "maximum": .number(Decimal(RecordQuery.maxLimit))]),
                "offset": .object(["type": s("integer"), "minimum": .number(0)]),
                "count": countSchema,
                "after": .object(["type": s("string"), "format": s("uuid")]),
            ])]),
        ]
        let errorResponse: JSONValue = .object(["description": s("error"), "content": .object(["application/json": .object(["schema": ref("Error")])])])
        var paths: [String: JSONValue] = [:]
        let idParameter: JSONValue = .object(["name": s("id"), "in": s("path"), "required": .bool(true), "schema": .object(["type": s("string"), "format": s("uuid")])])

        for entity in entities {
            let name = schemaName(entity.key)
            var properties: [String: JSONValue] = [
                "id": .object(["type": s("string"), "format": s("uuid"), "readOnly": .bool(true)]),
                "entity": .object(["type": s("string"), "const": s(entity.key), "readOnly": .bool(true)]),
                "version": .object(["type": s("integer"), "minimum": .number(1)]),
                "owner_id": .object(["type": .array([s("string"), s("null")]), "format": s("uuid"), "description": s("null while the record waits in a pool")]),
                "created_at": .object(["type": s("string"), "format": s("date-time"), "readOnly": .bool(true)]),
                "updated_at": .object(["type": s("string"), "format": s("date-time"), "readOnly": .bool(true)]),
                "last_activity_at": .object(["type": s("string"), "format": s("date-time"), "readOnly": .bool(true), "description": s("the last follow-up (activities module)")]),
                "pool_id": .object(["type": s("string"), "format": s("uuid"), "readOnly": .bool(true), "description": s("the pool (公海) the record waits in")]),
            ]
            for field in entity.activeFields { properties[field.key] = valueSchema(field) }
            let required = entity.activeFields.filter { $0.required && $0.type != .autoNumber }.map { s($0.key) }
            schemas[name] = .object(["type": s("object"), "title": s(entity.labels["en"] ?? entity.key), "properties": .object(properties)])
            var input: [String: JSONValue] = ["type": s("object"), "additionalProperties": .bool(false),
                                              "properties": .object(properties.filter { !["id", "entity", "created_at", "updated_at", "last_activity_at", "pool_id"].contains($0.key) })]
            if !required.isEmpty { input["required"] = .array(required) }
            schemas["\(name)Input"] = .object(input)
            schemas["\(name)Page"] = .object(["type": s("object"), "properties": .object([
                "records": .object(["type": s("array"), "items": ref(name)]), "total": .object(["type": s("integer")]),
                "total_exact": .object(["type": s("boolean"), "description": s("false when more than \(RecordQuery.countCap) match and count=exact was not asked")]),
                "next_cursor": .object(["type": .array([s("string"), s("null")]), "description": s("pass as after= for the next page (lists sorted by created_at or updated_at)")]),
                "limit": .object(["type": s("integer")]), "offset": .object(["type": s("integer")]),
            ])])
            func ok(_ schema: String, _ status: String = "200") -> JSONValue {
                .object([status: .object(["description": s("success"), "content": .object(["application/json": .object(["schema": ref(schema)])])]),
                         "4XX": errorResponse])
            }
            let body: JSONValue = .object(["required": .bool(true), "content": .object(["application/json": .object(["schema": ref("\(name)Input")])])])
            let tag: JSONValue = .array([s(entity.key)])
            paths["/api/v1/\(entity.key)"] = .object([
                "get": .object(["operationId": s("list_\(entity.key)"), "tags": tag, "parameters": .array(["filter", "sort", "q", "limit", "offset"].map {
                    .object(["name": s($0), "in": s("query"), "required": .bool(false), "schema": .object(["type": s($0 == "limit" || $0 == "offset" ? "integer" : "string")])])
                } + [.object(["name": s("count"), "in": s("query"), "required": .bool(false), "schema": countSchema]),
                     .object(["name": s("after"), "in": s("query"), "required": .bool(false), "schema": .object(["type": s("string"), "format": s("uuid")])]),
                     .object(["name": s("pool"), "in": s("query"), "required": .bool(false), "description": s("the records waiting in this pool (公海)"),
                              "schema": .object(["type": s("string"), "format": s("uuid")])])]),
                "responses": ok("\(name)Page")]),
                "post": .object(["operationId": s("create_\(entity.key)"), "tags": tag, "requestBody": body, "responses": ok(name, "201")]),
            ])
            paths["/api/v1/\(entity.key)/query"] = .object([
                "post": .object(["operationId": s("query_\(entity.key)"), "tags": tag,
                                 "requestBody": .object(["required": .bool(true), "content": .object(["application/json": .object(["schema": ref("Query")])])]),
                                 "responses": ok("\(name)Page")]),
            ])
            paths["/api/v1/\(entity.key)/bulk-update"] = .object([
                "post": .object(["operationId": s("bulk_update_\(entity.key)"), "tags": tag,
                                 "description": s("批量修改: the same values on every named record, all or none (one audit entry per record)"),
                                 "requestBody": .object(["required": .bool(true), "content": .object(["application/json": .object(["schema": .object([
                                     "type": s("object"), "required": .array([s("ids"), s("values")]), "properties": .object([
                                         "ids": .object(["type": s("array"), "minItems": .number(1), "maxItems": .number(Decimal(RecordEngine.maxMassUpdate)),
                                                         "items": .object(["type": s("string"), "format": s("uuid")])]),
                                         "values": ref("\(name)Input"),
                                     ]),
                                 ])])])]),
                                 "responses": .object(["200": .object(["description": s("{updated, records}")]), "4XX": errorResponse])]),
            ])
            paths["/api/v1/\(entity.key)/{id}"] = .object([
                "parameters": .array([idParameter]),
                "get": .object(["operationId": s("get_\(entity.key)"), "tags": tag, "responses": ok(name)]),
                "patch": .object(["operationId": s("update_\(entity.key)"), "tags": tag, "requestBody": body, "responses": ok(name)]),
                "delete": .object(["operationId": s("delete_\(entity.key)"), "tags": tag,
                                   "responses": .object(["204": .object(["description": s("moved to the recycle bin")]), "4XX": errorResponse])]),
            ])
            let file: JSONValue = .object([
                "text/csv": .object(["schema": .object(["type": s("string")])]),
                RecordFileFormat.xlsx.contentType: .object(["schema": .object(["type": s("string"), "format": s("binary")])]),
            ])
            let format: JSONValue = .object(["name": s("format"), "in": s("query"), "required": .bool(false),
                                             "schema": .object(["type": s("string"), "enum": .array([s("csv"), s("xlsx")]), "default": s("csv")])])
            paths["/api/v1/\(entity.key)/export"] = .object([
                "get": .object(["operationId": s("export_\(entity.key)"), "tags": tag, "parameters": .array(["filter", "sort", "q", "lang"].map {
                    .object(["name": s($0), "in": s("query"), "required": .bool(false), "schema": .object(["type": s("string")])])
                } + [format]), "responses": .object(["200": .object(["description": s("CSV (UTF-8 with byte order mark) or an .xlsx workbook, header of field labels"), "content": file]),
                                          "4XX": errorResponse])]),
            ])
            paths["/api/v1/\(entity.key)/import-template"] = .object([
                "get": .object(["operationId": s("import_template_\(entity.key)"), "tags": tag, "parameters": .array([format,
                    .object(["name": s("lang"), "in": s("query"), "required": .bool(false), "schema": .object(["type": s("string")])])]),
                                "responses": .object(["200": .object(["description": s("the header row of the importable fields"), "content": file]),
                                                      "4XX": errorResponse])]),
            ])
            paths["/api/v1/\(entity.key)/import"] = .object([
                "post": .object(["operationId": s("import_\(entity.key)"), "tags": tag,
                                 "parameters": .array([.object(["name": s("dry_run"), "in": s("query"), "required": .bool(false), "schema": .object(["type": s("boolean")])])]),
                                 "requestBody": .object(["required": .bool(true), "content": file]),
                                 "responses": .object([
                                    "201": .object(["description": s("every row created"), "content": .object(["application/json": .object(["schema": .object([
                                        "type": s("object"), "properties": .object(["created": .object(["type": s("integer")]),
                                                                                   "ids": .object(["type": s("array"), "items": .object(["type": s("string"), "format": s("uuid")])])]),
                                    ])])])]),
                                    "200": .object(["description": s("dry run: every row is valid, nothing kept")]),
                                    "4XX": errorResponse])]),
            ])
            paths["/api/v1/\(entity.key)/{id}/claim"] = .object([
                "parameters": .array([idParameter]),
                "post": .object(["operationId": s("claim_\(entity.key)"), "tags": tag, "description": s("take a record waiting in one of my pools (409 not_in_pool, 422 claim_limit_reached)"),
                                 "responses": ok(name)]),
            ])
            paths["/api/v1/\(entity.key)/{id}/release"] = .object([
                "parameters": .array([idParameter]),
                "post": .object(["operationId": s("release_\(entity.key)"), "tags": tag, "description": s("give the record back to a pool"),
                                 "requestBody": .object(["required": .bool(false), "content": .object(["application/json": .object(["schema": .object([
                                     "type": s("object"), "additionalProperties": .bool(false), "properties": .object([
                                         "pool_id": .object(["type": s("string"), "format": s("uuid")]), "reason": .object(["type": s("string"), "maxLength": .number(500)])])])])])]),
                                 "responses": ok(name)]),
            ])
            paths["/api/v1/\(entity.key)/{id}/pool-moves"] = .object([
                "parameters": .array([idParameter]),
                "get": .object(["operationId": s("pool_moves_\(entity.key)"), "tags": tag,
                                "responses": .object(["200": .object(["description": s("the record's moves through pools, newest first")]), "4XX": errorResponse])]),
            ])
            paths["/api/v1/\(entity.key)/{id}/restore"] = .object([
                "parameters": .array([idParameter]),
                "post": .object(["operationId": s("restore_\(entity.key)"), "tags": tag, "responses": ok(name)]),
            ])
            let attachmentID: JSONValue = .object(["name": s("aid"), "in": s("path"), "required": .bool(true), "schema": .object(["type": s("string"), "format": s("uuid")])])
            paths["/api/v1/\(entity.key)/{id}/attachments"] = .object([
                "parameters": .array([idParameter]),
                "get": .object(["operationId": s("list_\(entity.key)_attachments"), "tags": tag, "responses": ok("AttachmentList")]),
                "post": .object(["operationId": s("attach_to_\(entity.key)"), "tags": tag,
                                 "requestBody": .object(["required": .bool(true), "content": .object(["multipart/form-data": .object(["schema": .object([
                                    "type": s("object"), "required": .array([s("file")]),
                                    "properties": .object(["file": .object(["type": s("string"), "contentMediaType": s("application/octet-stream")])]),
                                 ])])])]),
                                 "responses": ok("Attachment", "201")]),
            ])
            paths["/api/v1/\(entity.key)/{id}/attachments/{aid}"] = .object([
                "parameters": .array([idParameter, attachmentID]),
                "get": .object(["operationId": s("download_\(entity.key)_attachment"), "tags": tag,
                                "responses": .object(["200": .object(["description": s("the file, as a download (Content-Disposition: attachment)"),
                                                                      "content": .object(["application/octet-stream": .object(["schema": .object(["type": s("string")])])])]),
                                                      "4XX": errorResponse])]),
                "delete": .object(["operationId": s("remove_\(entity.key)_attachment"), "tags": tag,
                                   "responses": .object(["204": .object(["description": s("removed from the record")]), "4XX": errorResponse])]),
            ])
            let commentID: JSONValue = .object(["name": s("cid"), "in": s("path"), "required": .bool(true), "schema": .object(["type": s("string"), "format": s("uuid")])])
            let commentBody: JSONValue = .object(["required": .bool(true), "content": .object(["application/json": .object(["schema": ref("CommentInput")])])])
            paths["/api/v1/\(entity.key)/{id}/comments"] = .object([
                "parameters": .array([idParameter]),
                "get": .object(["operationId": s("list_\(entity.key)_comments"), "tags": tag, "responses": ok("CommentList")]),
                "post": .object(["operationId": s("comment_on_\(entity.key)"), "tags": tag,
                                 "description": s("mention people as @[Name](user-id); those who cannot read the record are not notified (not_notified)"),
                                 "requestBody": commentBody, "responses": ok("Comment", "201")]),
            ])
            paths["/api/v1/\(entity.key)/{id}/comments/{cid}"] = .object([
                "parameters": .array([idParameter, commentID]),
                "patch": .object(["operationId": s("edit_\(entity.key)_comment"), "tags": tag, "description": s("its author only"),
                                  "requestBody": commentBody, "responses": ok("Comment")]),
                "delete": .object(["operationId": s("remove_\(entity.key)_comment"), "tags": tag, "description": s("its author or an administrator"),
                                   "responses": .object(["204": .object(["description": s("removed from the thread")]), "4XX": errorResponse])]),
            ])
        }
        // The report builder (ReportRoutes): definitions are checked by the server; see the README.
        let reportTag: JSONValue = .array([s("reports")])
        let reportID: JSONValue = .object(["name": s("id"), "in": s("path"), "required": .bool(true), "schema": .object(["type": s("string"), "format": s("uuid")])])
        let lang: JSONValue = .object(["name": s("lang"), "in": s("query"), "required": .bool(false), "schema": .object(["type": s("string")])])
        let anyObject: JSONValue = .object(["type": s("object")])
        let jsonBody: JSONValue = .object(["required": .bool(true), "content": .object(["application/json": .object(["schema": ref("ReportInput")])])])
        func answer(_ description: String, _ schema: JSONValue) -> JSONValue {
            .object(["description": s(description), "content": .object(["application/json": .object(["schema": schema])])])
        }
        schemas["ReportDefinition"] = .object(["type": s("object"), "required": .array([s("entity"), s("group_by")]), "properties": .object([
            "entity": .object(["type": s("string")]),
            "group_by": .object(["type": s("array"), "minItems": .number(1), "maxItems": .number(2), "items": .object(["type": s("object"), "properties": .object([
                "field": .object(["type": s("string")]),
                "bucket": .object(["type": s("string"), "enum": .array(RecordAggregate.Bucket.allCases.map { s($0.rawValue) })]),
            ])])]),
            "measures": .object(["type": s("array"), "minItems": .number(1), "maxItems": .number(4), "items": .object(["type": s("object"), "properties": .object([
                "fn": .object(["type": s("string"), "enum": .array(ReportDefinition.Measure.Function.allCases.map { s($0.rawValue) })]),
                "field": .object(["type": s("string")]),
            ])])]),
            "filter": anyObject,
            "sort": .object(["type": s("string"), "enum": .array([s("key"), s("value"), s("-value")])]),
            "limit": .object(["type": s("integer"), "minimum": .number(1), "maximum": .number(1000)]),
            "chart": .object(["type": s("string"), "enum": .array(ReportDefinition.Chart.allCases.map { s($0.rawValue) })]),
        ])])
        schemas["ReportInput"] = .object(["type": s("object"), "properties": .object([
            "name": .object(["type": s("string")]), "shared": .object(["type": s("boolean")]), "definition": ref("ReportDefinition"),
        ])])
        paths["/api/v1/reports"] = .object([
            "get": .object(["operationId": s("list_reports"), "tags": reportTag, "responses": .object(["200": answer("my reports and the shared ones", anyObject), "4XX": errorResponse])]),
            "post": .object(["operationId": s("create_report"), "tags": reportTag, "requestBody": jsonBody,
                             "responses": .object(["201": answer("saved", anyObject), "4XX": errorResponse])]),
        ])
        paths["/api/v1/reports/run"] = .object([
            "post": .object(["operationId": s("run_report"), "tags": reportTag, "parameters": .array([lang]),
                             "requestBody": .object(["required": .bool(true), "content": .object(["application/json": .object(["schema": ref("ReportDefinition")])])]),
                             "responses": .object(["200": answer("the figures, under the caller's scope", anyObject), "4XX": errorResponse])]),
        ])
        paths["/api/v1/reports/{id}"] = .object([
            "parameters": .array([reportID]),
            "get": .object(["operationId": s("get_report"), "tags": reportTag, "parameters": .array([lang]),
                            "responses": .object(["200": answer("the report and its figures", anyObject), "4XX": errorResponse])]),
            "patch": .object(["operationId": s("update_report"), "tags": reportTag, "requestBody": jsonBody,
                              "responses": .object(["200": answer("changed", anyObject), "4XX": errorResponse])]),
            "delete": .object(["operationId": s("delete_report"), "tags": reportTag,
                               "responses": .object(["204": .object(["description": s("deleted")]), "4XX": errorResponse])]),
        ])
        paths["/api/v1/reports/{id}/export"] = .object([
            "parameters": .array([reportID]),
            "get": .object(["operationId": s("export_report"), "tags": reportTag, "parameters": .array([lang,
                .object(["name": s("format"), "in": s("query"), "required": .bool(false), "schema": .object(["type": s("string"), "enum": .array([s("csv"), s("xlsx")])])])]),
                            "responses": .object(["200": .object(["description": s("the report's table as CSV or .xlsx")]), "4XX": errorResponse])]),
        ])
        // Pools (公海, PoolRoutes).
        let poolTag: JSONValue = .array([s("pools")])
        let poolID: JSONValue = .object(["name": s("id"), "in": s("path"), "required": .bool(true), "schema": .object(["type": s("string"), "format": s("uuid")])])
        schemas["PoolInput"] = .object(["type": s("object"), "additionalProperties": .bool(false), "properties": .object([
            "entity": .object(["type": s("string")]), "name": .object(["type": s("string"), "maxLength": .number(60)]),
            "department_id": .object(["type": .array([s("string"), s("null")]), "format": s("uuid")]),
            "idle_days": .object(["type": .array([s("integer"), s("null")]), "minimum": .number(1), "maximum": .number(3650)]),
            "reclaim_inactive_owners": .object(["type": s("boolean")]),
            "claim_limit": .object(["type": .array([s("integer"), s("null")]), "minimum": .number(0), "maximum": .number(100_000)]),
            "active": .object(["type": s("boolean")]),
        ])])
        let poolBody: JSONValue = .object(["required": .bool(true), "content": .object(["application/json": .object(["schema": ref("PoolInput")])])])
        paths["/api/v1/pools"] = .object([
            "get": .object(["operationId": s("list_pools"), "tags": poolTag, "responses": .object(["200": answer("the pools I belong to, with their waiting counts", anyObject), "4XX": errorResponse])]),
        ])
        paths["/api/v1/admin/pools"] = .object([
            "post": .object(["operationId": s("create_pool"), "tags": poolTag, "requestBody": poolBody, "responses": .object(["201": answer("created", anyObject), "4XX": errorResponse])]),
        ])
        paths["/api/v1/admin/pools/reclaim"] = .object([
            "post": .object(["operationId": s("reclaim_pools"), "tags": poolTag, "responses": .object(["200": answer("records taken back, per pool", anyObject), "4XX": errorResponse])]),
        ])
        paths["/api/v1/admin/pools/{id}"] = .object([
            "parameters": .array([poolID]),
            "patch": .object(["operationId": s("update_pool"), "tags": poolTag, "requestBody": poolBody, "responses": .object(["200": answer("changed", anyObject), "4XX": errorResponse])]),
            "delete": .object(["operationId": s("delete_pool"), "tags": poolTag, "responses": .object(["204": .object(["description": s("deleted")]), "4XX": errorResponse])]),
        ])
        schemas["Attachment"] = .object(["type": s("object"), "properties": .object([
            "id": .object(["type": s("string"), "format": s("uuid")]), "entity": .object(["type": s("string")]),
            "record_id": .object(["type": s("string"), "format": s("uuid")]), "file_name": .object(["type": s("string")]),
            "content_type": .object(["type": s("string")]), "byte_size": .object(["type": s("integer")]),
            "sha256": .object(["type": s("string")]), "uploaded_by": .object(["type": s("string"), "format": s("uuid")]),
            "uploaded_at": .object(["type": s("string"), "format": s("date-time")]), "href": .object(["type": s("string")]),
        ])])
        schemas["AttachmentList"] = .object(["type": s("object"), "properties": .object([
            "attachments": .object(["type": s("array"), "items": ref("Attachment")]),
        ])])
        let uuidList: JSONValue = .object(["type": s("array"), "items": .object(["type": s("string"), "format": s("uuid")])])
        schemas["CommentInput"] = .object(["type": s("object"), "required": .array([s("body")]), "properties": .object([
            "body": .object(["type": s("string"), "minLength": .number(1), "maxLength": .number(Decimal(CommentBody.maxLength)),
                             "description": s("plain text; a mention is @[Name](user-id)")]),
        ])])
        schemas["Comment"] = .object(["type": s("object"), "properties": .object([
            "id": .object(["type": s("string"), "format": s("uuid")]), "entity": .object(["type": s("string")]),
            "record_id": .object(["type": s("string"), "format": s("uuid")]), "author_id": .object(["type": s("string"), "format": s("uuid")]),
            "author_name": .object(["type": s("string")]), "body": .object(["type": s("string")]),
            "mentions": uuidList, "notified": uuidList, "not_notified": uuidList,
            "created_at": .object(["type": s("string"), "format": s("date-time")]),
            "edited_at": .object(["type": .array([s("string"), s("null")]), "format": s("date-time")]),
        ])])
        schemas["CommentList"] = .object(["type": s("object"), "properties": .object([
            "comments": .object(["type": s("array"), "items": ref("Comment")]),
        ])])
        return .object([
            "openapi": s("3.1.0"),
            "info": .object(["title": s("Atrium API — \(tenant.name)"), "version": s("1"),
                             "description": s("Generated from the metadata of tenant \(tenant.slug); custom objects and fields included.")]),
            "servers": .array([.object(["url": s("/")])]),
            "security": .array([.object(["bearer": .array([])])]),
            "paths": .object(paths),
            "components": .object([
                "schemas": .object(schemas),
                "securitySchemes": .object(["bearer": .object(["type": s("http"), "scheme": s("bearer")])]),
            ]),
        ])
    }
}
