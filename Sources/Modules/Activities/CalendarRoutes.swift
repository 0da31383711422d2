import Foundation
import Hummingbird
import Platform

/// The calendar's JSON API and feed (events themselves are records: `/api/v1/event`; an
/// occurrence is edited by creating an event with `series_id` + `occurrence_start`):
///
///     GET    /api/v1/calendar?from=2026-11-02&to=2026-11-08&scope=mine|team   occurrences and tasks due
///     GET    /api/v1/calendar/feed            whether the caller has a live feed link
///     POST   /api/v1/calendar/feed            a new link (shown once; the old one stops working)
///     DELETE /api/v1/calendar/feed            revoke the link
///     GET    /calendar/feed/{token}.ics       the feed (no session: the token is the secret)
struct CalendarAPI: ModuleHandlers {
    let web: WebApp

    func register(on router: RouterGroup<AtriumContext>) {
        router.get("api/v1/calendar", use: window)
        router.get("api/v1/calendar/feed", use: feedStatus)
        router.post("api/v1/calendar/feed", use: createFeed)
        router.delete("api/v1/calendar/feed", use: revokeFeed)
        router.get("calendar/feed/:file", use: feed)
    }

    @Sendable func window(_ request: Request, context: AtriumContext) async throws -> Response {
        let query = request.uri.queryParameters
        let range = try CalendarWindow.range(from: query["from"].map(String.init), to: query["to"].map(String.init))
        let scope = try CalendarWindow.scope(query["scope"].map(String.init))
        return try await run(request, context) { store in
            try await ActivitiesModule.requireEnabled(store)
            return RecordRoutes.json(try await CalendarWindow.load(range, scope: scope, store: store).json)
        }
    }

    @Sendable func feedStatus(_ request: Request, context: AtriumContext) async throws -> Response {
        try await run(request, context) { store in
            try await ActivitiesModule.requireEnabled(store)
            let summary = try await CalendarFeed.summary(for: store.actor.user.id, on: store.connection, logger: store.logger)
            return RecordRoutes.json(summary?.json ?? .object(["active": .bool(false)]))
        }
    }

    @Sendable func createFeed(_ request: Request, context: AtriumContext) async throws -> Response {
        let origin = Self.origin(request)
        return try await run(request, context, write: true) { store in
            try await ActivitiesModule.requireEnabled(store)
            let token = try await CalendarFeed.create(for: store.actor.user.id, on: store.connection, logger: store.logger)
            let path = CalendarFeed.path(token)
            return RecordRoutes.json(.object(["token": .string(token), "path": .string(path), "url": .string(origin + path)]), status: .created)
        }
    }

    @Sendable func revokeFeed(_ request: Request, context: AtriumContext) async throws -> Response {
        try await run(request, context, write: true) { store in
            try await ActivitiesModule.requireEnabled(store)
            guard try await CalendarFeed.revoke(for: store.actor.user.id, on: store.connection, logger: store.logger) else {
                throw AtriumError(status: .notFound, code: "not_found", message: "you have no calendar feed link")
            }
            return Response(status: .noContent)
        }
    }

    /// `https://host` of the request (plain http for a local address), for the feed's link.
    static func origin(_ request: Request) -> String {
        let host = request.head.authority ?? "localhost"
        let local = host.hasPrefix("localhost") || host.hasPrefix("127.") || host.hasPrefix("[::1]")
        return (local ? "http://" : "https://") + host
    }

    /// The feed: found by its token's hash in the tenant of the request's host, then read as
    /// the link's owner — their scope, in the tenant's RLS context. Any unknown, revoked or
    /// malformed token, or a tenant without the module, is the same 404.
    @Sendable func feed(_ request: Request, context: AtriumContext) async throws -> Response {
        let tenant = try context.requireTenant()
        let file = context.parameters.get("file") ?? ""
        let notFound = AtriumError(status: .notFound, code: "not_found", message: "no such calendar feed")
        guard file.hasSuffix(".ics") else { throw notFound }
        let token = String(file.dropLast(4))
        let services = web.records.services, engine = web.engine
        let host = request.head.authority ?? "atrium"
        let logger = context.logger
        let (ip, requestID) = (context.clientIP, context.id)
        let text = try await services.database.withTenant(tenant.id, logger: logger) { connection -> String? in
            guard try await TenantModules.enabled(on: connection, logger: logger).contains(ActivitiesModule.manifest.id),
                  let user = try await CalendarFeed.owner(of: token, on: connection, logger: logger) else { return nil }
            let access = try await AccessContext.load(for: user, cache: services.accessCache, on: connection, logger: logger)
            let store = ModuleStore(engine: engine, actor: RecordEngine.Actor(user: user, ip: ip, requestID: requestID, access: access),
                                    connection: connection, logger: logger)
            let now = Date()
            let events = try await CalendarFeed.events(store: store, now: now)
            return ICalendar.calendar(name: "\(tenant.name) · \(user.displayName)", events: events, host: host, now: now)
        }
        guard let text else { throw notFound }
        return Response(status: .ok, headers: [.contentType: "text/calendar; charset=utf-8", .cacheControl: "private, max-age=300"],
                        body: .init(byteBuffer: ByteBuffer(string: text)))
    }
}
