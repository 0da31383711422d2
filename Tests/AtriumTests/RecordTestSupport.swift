import AtriumApp
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import Platform
import PostgresNIO
import Tenancy
import Testing

/// What one records-API call answered: status, parsed JSON (`.null` for an empty body) and text.
struct RecordAPIResponse: Sendable {
    let status: HTTPResponse.Status
    let json: JSONValue
    let text: String
    var headers: HTTPFields = [:]

    /// The rows of a CSV answer (the byte order mark and header row included as row 0).
    var csvRows: [[String]] { (try? RecordCSV.parse(text)) ?? [] }

    /// The CSV column named `name` in the header, for every data row.
    func csvColumn(_ name: String) -> [String] {
        let rows = csvRows
        guard let index = rows.first?.firstIndex(of: name) else { return [] }
        return rows.dropFirst().map { index < $0.count ? $0[index] : "" }
    }

    var errorCode: String? { json["error"]?["code"]?.stringValue }
    var errorField: String? { json["error"]?["field"]?.stringValue }
    var errorMessage: String { json["error"]?["message"]?.stringValue ?? "" }
    /// `records` of a page.
    var records: [JSONValue] { json["records"]?.asArray ?? [] }
    var total: Int? { json["total"]?.asInt }
    var id: String? { json["id"]?.stringValue }
    var version: Int? { json["version"]?.asInt }
}

/// The JSON API as a script would use it: a bearer token plus `X-Tenant`, no cookies, no CSRF.
struct RecordAPIClient: Sendable {
    let client: any TestClientProtocol
    let slug: String
    let token: String

    /// Signs in through the login form and creates an API token with the session (cookie +
    /// `X-CSRF-Token`), as in `LoginTests.apiTokenIsShownOnceWorksAsBearerAndStopsWorkingWhenRevoked`.
    static func signIn(_ client: any TestClientProtocol, slug: String, email: String, password: String) async throws -> RecordAPIClient {
        var browser = BrowserSession(client: client, tenant: slug)
        let login = try await browser.login(email: email, password: password)
        try #require(login.status == .seeOther, "login as \(email) failed: \(login.status)")
        let home = try await browser.send(.get, "/")
        let csrf = try #require(BrowserSession.csrfToken(in: String(buffer: home.body)))
        let created = try await client.execute(uri: "/api/v1/tokens", method: .post, headers: [
            .contentType: "application/json", .cookie: browser.cookieHeader, CSRF.header: csrf, TenantResolver.header: slug,
        ], body: ByteBuffer(string: #"{"name":"record-tests"}"#))
        try #require(created.status == .created, "token not created: \(String(buffer: created.body))")
        let json = try JSONValue.parse(String(buffer: created.body))
        let token = try #require(json["token"]?.stringValue)
        return RecordAPIClient(client: client, slug: slug, token: token)
    }

    /// The tenant's administrator (``TestEnvironment/provisionTenant`` makes one).
    static func admin(_ client: any TestClientProtocol, _ tenant: TestEnvironment.Tenant) async throws -> RecordAPIClient {
        try await signIn(client, slug: tenant.info.slug, email: tenant.adminEmail, password: tenant.password)
    }

    func call(_ method: HTTPRequest.Method, _ path: String, json body: String? = nil) async throws -> RecordAPIResponse {
        try await send(method, path, body: body, contentType: body == nil ? nil : "application/json")
    }

    /// A call with a body of any type (e.g. a CSV file); `headers` are added to the request.
    func send(_ method: HTTPRequest.Method, _ path: String, body: String?, contentType: String?, headers extra: HTTPFields = [:]) async throws -> RecordAPIResponse {
        var headers: HTTPFields = [.authorization: "Bearer \(token)", TenantResolver.header: slug, .accept: "application/json"]
        if let contentType { headers[.contentType] = contentType }
        headers.append(contentsOf: extra)
        let response = try await client.execute(uri: path, method: method, headers: headers, body: body.map { ByteBuffer(string: $0) })
        let text = String(buffer: response.body)
        let json = (try? JSONValue.parse(text)) ?? .null
        return RecordAPIResponse(status: response.status, json: json, text: text, headers: response.headers)
    }

    /// `GET /api/v1/{entity}/export` with `query` appended as is.
    func export(_ entity: String, _ query: String = "") async throws -> RecordAPIResponse {
        try await call(.get, "/api/v1/\(entity)/export" + (query.isEmpty ? "" : "?" + query))
    }

    /// `POST /api/v1/{entity}/import` with `csv` as the body.
    func importCSV(_ entity: String, _ csv: String, dryRun: Bool = false) async throws -> RecordAPIResponse {
        try await send(.post, "/api/v1/\(entity)/import" + (dryRun ? "?dry_run=true" : ""), body: csv, contentType: "text/csv; charset=utf-8")
    }

    /// `GET /api/v1/{entity}` with the query parameters percent-encoded.
    func list(_ entity: String, filter: String? = nil, sort: String? = nil, limit: Int? = nil, offset: Int? = nil,
              q: String? = nil) async throws -> RecordAPIResponse {
        var parameters: [String] = []
        if let filter { parameters.append("filter=\(Self.escape(filter))") }
        if let sort { parameters.append("sort=\(Self.escape(sort))") }
        if let limit { parameters.append("limit=\(limit)") }
        if let offset { parameters.append("offset=\(offset)") }
        if let q { parameters.append("q=\(Self.escape(q))") }
        return try await call(.get, "/api/v1/\(entity)" + (parameters.isEmpty ? "" : "?" + parameters.joined(separator: "&")))
    }

    /// `POST /api/v1/{entity}/query` with `body` as the query.
    func query(_ entity: String, _ body: String) async throws -> RecordAPIResponse {
        try await call(.post, "/api/v1/\(entity)/query", json: body)
    }

    /// Number of live records of `entity` (the page's `total`).
    func count(_ entity: String) async throws -> Int {
        let page = try await list(entity, limit: 1)
        try #require(page.status == .ok, "listing \(entity) failed: \(page.text)")
        return try #require(page.total)
    }

    /// Creates a record and returns it; the test stops if the API does not answer 201.
    @discardableResult
    func create(_ entity: String, _ body: String) async throws -> JSONValue {
        let response = try await call(.post, "/api/v1/\(entity)", json: body)
        try #require(response.status == .created, "creating \(entity) \(body) failed: \(response.text)")
        return response.json
    }

    /// Creates a record and returns its id.
    func createID(_ entity: String, _ body: String) async throws -> String {
        try #require(try await create(entity, body)["id"]?.stringValue)
    }

    /// `POST /api/v1/admin/objects`; the test stops unless it is 201.
    @discardableResult
    func createObject(_ body: String) async throws -> JSONValue {
        let response = try await call(.post, "/api/v1/admin/objects", json: body)
        try #require(response.status == .created, "creating object failed: \(response.text)")
        return response.json
    }

    static func escape(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? text
    }
}

/// Fixtures shared by the Record* tests.
enum RecordFixtures {
    /// `x_project`: five typed custom fields plus an auto-number.
    static let projectObject = #"""
        {"key": "x_project", "labels": {"en": "Project", "zh-CN": "项目"},
         "fields": [
           {"key": "x_name", "labels": {"en": "Name", "zh-CN": "名称"}, "type": "text", "required": true, "searchable": true, "maxLength": 80},
           {"key": "x_budget", "labels": {"en": "Budget"}, "type": "money", "filterable": true},
           {"key": "x_stage", "labels": {"en": "Stage"}, "type": "picklist",
            "options": [{"value": "plan", "labels": {"en": "Plan"}}, {"value": "build", "labels": {"en": "Build"}}, {"value": "done", "labels": {"en": "Done"}}]},
           {"key": "x_start", "labels": {"en": "Start"}, "type": "date"},
           {"key": "x_headcount", "labels": {"en": "Headcount"}, "type": "number", "filterable": true},
           {"key": "x_code", "labels": {"en": "Code"}, "type": "auto_number", "format": "PRJ-{YYYY}-{seq:4}"}
         ]}
        """#

    /// An object with only a required name, for tests that need records and nothing else.
    static func simpleObject(_ key: String) -> String {
        #"{"key": "\#(key)", "labels": {"en": "\#(key)"}, "fields": [{"key": "x_name", "labels": {"en": "Name"}, "type": "text", "required": true}]}"#
    }

    /// A new tenant, the live app, its administrator's API client and the `x_project` object.
    static func withProject(_ prefix: String,
                            _ body: @escaping @Sendable (RecordAPIClient, TestEnvironment.Tenant) async throws -> Void) async throws {
        try await withTenant(prefix) { client, tenant in
            let api = try await RecordAPIClient.admin(client, tenant)
            try await api.createObject(projectObject)
            try await body(api, tenant)
        }
    }

    /// A new tenant and the live app.
    static func withTenant(_ prefix: String,
                           _ body: @escaping @Sendable (any TestClientProtocol, TestEnvironment.Tenant) async throws -> Void) async throws {
        try await withTenants(prefix) { client, tenants in try await body(client, tenants[0]) }
    }

    /// New tenants (one per prefix) and the live app, with a small connection pool and at most
    /// ``RecordTestGate/limit`` of these tests at once, so the Record* tests running in parallel
    /// with the rest of the suite stay well inside PostgreSQL's `max_connections`.
    static func withTenants(_ prefixes: String...,
                            body: @escaping @Sendable (any TestClientProtocol, [TestEnvironment.Tenant]) async throws -> Void) async throws {
        try await withTenants(prefixes: prefixes, body: body)
    }

    /// ``withTenants(_:body:)`` where `configure` changes the server's configuration (e.g. a
    /// smaller upload limit).
    static func withTenants(prefixes: [String], configure: @escaping @Sendable (inout AtriumConfiguration) -> Void = { _ in },
                            body: @escaping @Sendable (any TestClientProtocol, [TestEnvironment.Tenant]) async throws -> Void) async throws {
        try await RecordTestGate.shared.run {
            var tenants: [TestEnvironment.Tenant] = []
            for prefix in prefixes { tenants.append(try await TestEnvironment.provisionTenant(prefix)) }
            let provisioned = tenants
            var config = try await TestEnvironment.ready()
            config.databasePoolSize = 2
            configure(&config)
            let app = try await AtriumHost.buildApplication(configuration: config, logger: TestEnvironment.logger)
            try await app.test(.live) { client in try await body(client, provisioned) }
        }
    }

    /// The current year as auto-numbers see it (China time).
    static var autoNumberYear: String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "Asia/Shanghai")!
        return String(format: "%04d", calendar.component(.year, from: Date()))
    }

    /// Adds a non-administrator with the default role `role` (salesperson: own records) to the tenant.
    static func createMember(in tenant: TestEnvironment.Tenant, password: String = "Member-password-1",
                             role: String = "salesperson") async throws -> (email: String, password: String) {
        let email = "member@\(tenant.info.slug).test"
        let hash = try PasswordHasher(memoryKiB: 1024, iterations: 1, parallelism: 1).hash(password)
        let logger = TestEnvironment.logger
        let tenantID = tenant.info.id
        _ = try await TestEnvironment.withAppRole { connection in
            try await connection.inTenantTransaction(tenantID, logger: logger) { connection in
                let id = try await UserStore.create(.init(email: email, displayName: "Member", locale: "en", passwordHash: hash, isAdmin: false),
                                                    tenantID: tenantID, on: connection, logger: logger)
                try await connection.query("""
                    INSERT INTO user_roles (tenant_id, user_id, role_id) SELECT tenant_id, \(id), id FROM roles WHERE key = \(role)
                    """, logger: logger)
                return id
            }
        }
        return (email, password)
    }

    /// Rows of `records` of the tenant, deleted ones included, counted in the database itself.
    static func storedRecordCount(_ tenant: TestEnvironment.Tenant) async throws -> Int {
        let logger = TestEnvironment.logger
        let tenantID = tenant.info.id
        return try await TestEnvironment.withAppRole { connection in
            try await connection.inTenantTransaction(tenantID, logger: logger) { connection in
                // Records a test wrote: the modules' seeded pipeline stages, expense and knowledge categories, service
                // settings and SLA policies are not counted.
                try await connection.query(
                    "SELECT count(*)::int FROM records WHERE entity NOT IN ('sales_stage', 'expense_category', 'kb_category', 'service_settings', 'service_sla_policy')",
                    logger: logger)
                    .collect().first!.decode(Int.self)
            }
        }
    }
}

/// Lets at most `limit` bodies run at once (FIFO); the others wait their turn.
actor RecordTestGate {
    static let shared = RecordTestGate(limit: 8)

    private var available: Int
    private var waiting: [CheckedContinuation<Void, Never>] = []

    init(limit: Int) {
        available = limit
    }

    func acquire() async {
        if available > 0 {
            available -= 1
            return
        }
        await withCheckedContinuation { waiting.append($0) }
    }

    func release() {
        if waiting.isEmpty {
            available += 1
        } else {
            waiting.removeFirst().resume()
        }
    }

    nonisolated func run<T: Sendable>(_ body: @Sendable () async throws -> T) async throws -> T {
        await acquire()
        do {
            let result = try await body()
            await release()
            return result
        } catch {
            await release()
            throw error
        }
    }
}

extension JSONValue {
    var asArray: [JSONValue]? {
        if case .array(let items) = self { return items }
        return nil
    }

    var asInt: Int? {
        if case .number(let number) = self { return Int(truncating: number as NSNumber) }
        return nil
    }

    var asBool: Bool? {
        if case .bool(let flag) = self { return flag }
        return nil
    }

    subscript(index: Int) -> JSONValue? {
        guard let items = asArray, items.indices.contains(index) else { return nil }
        return items[index]
    }
}

extension Array where Element == JSONValue {
    /// The `key` values of records or entries, e.g. `page.records.strings("x_name")`.
    func strings(_ key: String) -> [String] { compactMap { $0[key]?.stringValue } }
}

/// How many pipeline stages a new tenant with the sales module starts with.
enum SalesPipelineDefaults {
    static let count = 6
}

/// How many top categories a new tenant with the knowledge module starts with.
enum KnowledgeDefaults {
    static let categories = 4
}

/// How many records a new tenant with the service module starts with: its settings and one
/// SLA policy per priority.
enum ServiceDefaults {
    static let records = 1 + 4
}
