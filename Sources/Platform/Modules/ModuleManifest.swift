import Foundation
import Hummingbird
import Logging
import PostgresNIO

/// What a feature module declares about itself: identity, entities (served by the shared record
/// engine), business rules as record hooks, extra routes (actions and report pages) and the
/// set-up run when a tenant enables it. A module never writes its own CRUD SQL or permission
/// checks: its routes call the engine as the signed-in user.
public struct ModuleManifest: Sendable, Equatable {
    public let id: String
    public let version: String
    /// Display names by locale (`zh-CN`, `en`).
    public let names: [String: String]
    public let depends: [String]
    /// Entities the module declares; the record engine serves them to tenants that enable it.
    public let entities: [EntityDefinition]
    /// Business rules per entity key.
    public let hooks: [(String, any RecordHooks)]
    public let routes: (any ModuleRoutes)?
    /// Run (idempotently) when a tenant enables the module, e.g. to seed a default pipeline.
    public let setUp: ModuleSetUp?
    /// Run after the platform handed a leaver's records over (工作移交), in the same transaction:
    /// what the module keeps about people besides ownership (a task's assignee, an event's
    /// attendees) follows. Returns what it changed, counted by a label (`task.assignee`).
    public let handover: ModuleHandover?
    /// Extra links the module adds to its navigation group (label keys from the locale files).
    public let pages: [ModulePage]
    /// Buttons the module adds to record pages of its entities (convert, merge, print).
    public let actions: [ModuleAction]
    /// How the module's entities take part in approvals (status field, inbox summary, checks).
    public let approvals: [ApprovalBinding]
    /// What each default role (by key: `salesperson`, `finance`, …) may do in this module, as
    /// action → scope; a tenant's roles start with it (Odoo's `ir.model.access.csv`). Roles
    /// not named get no right in the module.
    public let defaultGrants: [String: [String: DataScope]]
    /// Rights of a default role on single entities, by role key → entity key → action → scope,
    /// over what its module grant gives (an entity's own grant wins over its module's): e.g.
    /// the purchaser reading the product catalog and the sales orders it delivers, though
    /// sales grants the purchaser nothing. Kept under the entity's key in the role's grants.
    public let entityGrants: [String: [String: [String: DataScope]]]
    /// Roles the module brings (sales brings the salesperson, its manager and director): every
    /// tenant of an instance that lists the module gets them. Several modules may declare the
    /// same role; the first in the catalog's order names it. The platform's own roles are
    /// `administrator`, `finance` and `read_only`.
    public let roles: [ModuleRole]
    /// The module's own schema changes, applied in version order with the platform's by
    /// `atrium-admin migrate` (and at start with `MIGRATE_ON_START`), recorded per module.
    public let migrations: [Migration]
    /// Demo records for a tenant that asks for them (`atrium-admin demo`), run after the
    /// modules it depends on have seeded theirs.
    public let demoData: ModuleDemoData?
    /// Default layouts of the module's entities (tenants override them in the designer).
    public let layouts: [ModuleLayout]
    /// Sections the module adds to record pages of any entity (e.g. the activity timeline),
    /// shown while the tenant has the module enabled.
    public let recordPanels: [any RecordPanel]
    /// Periodic rules (reminders, reclaim), run by the platform's ``Scheduler`` for each tenant
    /// that has the module enabled.
    public let jobs: [ScheduledJob]
    /// The notification kinds the module raises, offered on the e-mail preferences page (their
    /// labels: `notifications.kind_names.<kind>` in the module's locales).
    public let notificationKinds: [String]
    /// Ready-made reports (see ``ModuleReport``).
    public let reports: [ModuleReport]
    /// Blocks the module adds to the signed-in home page, above the dashboard (e.g. the
    /// knowledge module's current announcements), shown while the tenant has the module enabled.
    public let homeBlocks: [any HomeBlock]

    public init(id: String, version: String, names: [String: String], depends: [String] = [], entities: [EntityDefinition] = [],
                hooks: [(String, any RecordHooks)] = [], routes: (any ModuleRoutes)? = nil, setUp: ModuleSetUp? = nil, handover: ModuleHandover? = nil,
                pages: [ModulePage] = [], actions: [ModuleAction] = [], approvals: [ApprovalBinding] = [],
                defaultGrants: [String: [String: DataScope]] = [:], entityGrants: [String: [String: [String: DataScope]]] = [:],
                roles: [ModuleRole] = [], migrations: [Migration] = [],
                demoData: ModuleDemoData? = nil, layouts: [ModuleLayout] = [], recordPanels: [any RecordPanel] = [], jobs: [ScheduledJob] = [],
                notificationKinds: [String] = [], reports: [ModuleReport] = [], homeBlocks: [any HomeBlock] = []) {
        self.id = id
        self.version = version
        self.names = names
        self.depends = depends
        self.entities = entities.map { entity in
            var entity = entity
            if let layout = layouts.first(where: { $0.entity == entity.key }) { entity.defaultSections = layout.sections }
            return entity
        }
        self.hooks = hooks
        self.routes = routes
        self.setUp = setUp
        self.handover = handover
        self.pages = pages
        self.actions = actions
        self.approvals = approvals
        self.defaultGrants = defaultGrants
        self.entityGrants = entityGrants
        self.roles = roles
        self.migrations = migrations
        self.demoData = demoData
        self.layouts = layouts
        self.recordPanels = recordPanels
        self.jobs = jobs
        self.notificationKinds = notificationKinds
        self.reports = reports
        self.homeBlocks = homeBlocks
    }

    public static func == (a: ModuleManifest, b: ModuleManifest) -> Bool {
        a.id == b.id && a.version == b.version && a.names == b.names && a.depends == b.depends && a.entities == b.entities
    }

    public func name(locale: String) -> String {
        names[locale] ?? names["en"] ?? id
    }
}

/// The instance's module catalog: `plugins.json` checked against the modules compiled in.
///
/// Loading refuses, with a message naming the module, a module that is not compiled in, a
/// dependency the file does not list, a dependency cycle, or a duplicate id.
public struct ModuleCatalog: Sendable {
    public struct Entry: Sendable, Decodable, Equatable {
        public let id: String
        public let version: String
        public let depends: [String]
        /// Plans on which new tenants get this module enabled.
        public let plans: [String]
    }

    struct File: Decodable {
        let modules: [Entry]
    }

    public struct Invalid: Error, CustomStringConvertible {
        public let description: String
    }

    /// Listed modules in dependency order (a module after everything it depends on).
    public let entries: [Entry]
    public let manifests: [String: ModuleManifest]

    public static func load(path: String, compiledIn: [ModuleManifest]) throws -> ModuleCatalog {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw Invalid(description: "cannot read the module catalog \(path): \(error.localizedDescription)")
        }
        return try parse(data, source: path, compiledIn: compiledIn)
    }

    public static func parse(_ data: Data, source: String = "plugins.json", compiledIn: [ModuleManifest]) throws -> ModuleCatalog {
        let file: File
        do {
            file = try JSONDecoder().decode(File.self, from: data)
        } catch {
            throw Invalid(description: "\(source) is not a valid module catalog: \(error)")
        }
        let compiled = Dictionary(compiledIn.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        var listed: [String: Entry] = [:]
        for entry in file.modules {
            guard listed[entry.id] == nil else { throw Invalid(description: "\(source) lists module '\(entry.id)' twice") }
            guard compiled[entry.id] != nil else {
                throw Invalid(description: "\(source) lists module '\(entry.id)', which is not compiled into this build")
            }
            listed[entry.id] = entry
        }
        for entry in file.modules {
            for dependency in entry.depends + (compiled[entry.id]?.depends ?? []) where listed[dependency] == nil {
                throw Invalid(description: "module '\(entry.id)' depends on '\(dependency)', which \(source) does not list")
            }
        }
        // Depth-first topological order; a grey node met again is a cycle.
        var order: [Entry] = []
        var state: [String: Bool] = [:]  // false = visiting, true = done
        func visit(_ id: String, path: [String]) throws {
            if state[id] == true { return }
            if state[id] == false {
                throw Invalid(description: "module dependency cycle: \((path + [id]).joined(separator: " → "))")
            }
            state[id] = false
            let entry = listed[id]!
            for dependency in Set(entry.depends + (compiled[id]?.depends ?? [])).sorted() {
                try visit(dependency, path: path + [id])
            }
            state[id] = true
            order.append(entry)
        }
        for entry in file.modules { try visit(entry.id, path: []) }
        return ModuleCatalog(entries: order, manifests: compiled.filter { listed[$0.key] != nil })
    }

    /// The listed modules' manifests in dependency order.
    public var modules: [ModuleManifest] {
        entries.compactMap { manifests[$0.id] }
    }

    /// Modules a new tenant on `plan` starts with.
    public func defaultModules(plan: String) -> [String] {
        entries.filter { $0.plans.contains(plan) }.map(\.id)
    }

    /// Every plan named in the catalog.
    public var plans: Set<String> {
        Set(entries.flatMap(\.plans))
    }
}

/// Routes a module adds to the tenant's router (behind tenant resolution and sign-in).
public protocol ModuleRoutes: Sendable {
    func register(on router: RouterGroup<AtriumContext>, web: WebApp)
}

/// A section a module adds to the record page of every entity (module entities and custom
/// objects alike), below the record's own sections: it renders its HTML with the module's
/// templates (``WebApp/fragment(_:_:_:)``) and reads through the engine as the viewer
/// (`page.actor`), so it shows nothing the viewer could not read on their own.
public protocol RecordPanel: Sendable {
    /// The panel's HTML for this record, or nil to add nothing.
    func render(record: Record, entity: EntityDefinition, page: WebApp.Page, db: PostgresConnectionBox, web: WebApp) async throws -> String?
}

/// A block a module adds to the home page (``ModuleManifest/homeBlocks``): like a
/// ``RecordPanel`` it renders its HTML with the module's templates and reads through the engine
/// as the viewer (`page.actor`); nil adds nothing (e.g. no current announcement).
///
///     struct CurrentAnnouncements: HomeBlock {
///         func render(page: WebApp.Page, db: PostgresConnectionBox, web: WebApp) async throws -> String? {
///             web.fragment("knowledge_home", page, ["announcements": …])
///         }
///     }
public protocol HomeBlock: Sendable {
    func render(page: WebApp.Page, db: PostgresConnectionBox, web: WebApp) async throws -> String?
}

/// A module's tenant set-up: runs inside the tenant transaction that enables the module.
public typealias ModuleHandover = @Sendable (_ context: HandoverContext) async throws -> [String: Int]

/// A handover as a module sees it: who left, who takes over, and the administrator's actor.
public struct HandoverContext: Sendable {
    public let leaver: UUID
    public let heir: UUID
    public let engine: RecordEngine
    public let actor: RecordEngine.Actor
    public let connection: PostgresConnection
    public let logger: Logger
}

public typealias ModuleSetUp = @Sendable (_ engine: RecordEngine, _ actor: RecordEngine.Actor, _ connection: PostgresConnection, _ logger: Logger) async throws -> Void

/// A role a module brings, with its rights on the tenant's custom objects (its rights in
/// modules come from each module's ``ModuleManifest/defaultGrants``).
public struct ModuleRole: Sendable, Equatable {
    public let key: String
    /// By locale (`zh-CN`, `en`).
    public let labels: [String: String]
    /// Action → scope on tenant-defined objects.
    public let customGrants: [String: DataScope]

    public init(key: String, labels: [String: String], customGrants: [String: DataScope]) {
        self.key = key
        self.labels = labels
        self.customGrants = customGrants
    }
}

/// A module's default detail layout for one of its entities: sections of field keys in order.
/// Used until the tenant saves its own in the designer; fields it does not place (a tenant's
/// custom fields) follow in a last section.
public struct ModuleLayout: Sendable, Equatable {
    public let entity: String
    public let sections: [LayoutSection]

    public init(entity: String, sections: [LayoutSection]) {
        self.entity = entity
        self.sections = sections
    }
}

/// Seeds a module's demo records into the tenant of the transaction, as the tenant's
/// administrator; `people` names the demo users by role key (`salesperson`, `finance`, …).
public typealias ModuleDemoData = @Sendable (_ context: ModuleDemoContext) async throws -> Void

/// What a module's demo seeding gets: the engine, the demo users and the tenant transaction.
public struct ModuleDemoContext: Sendable {
    public let engine: RecordEngine
    public let admin: AuthenticatedUser
    /// Demo users by role key; a module seeds records as them (e.g. an expense claim by the salesperson).
    public let people: [String: AuthenticatedUser]
    public let connection: PostgresConnection
    public let logger: Logger
    /// Where demo files go (the document library's), if the caller has a store.
    public let files: (any FileStore)?

    public init(engine: RecordEngine, admin: AuthenticatedUser, people: [String: AuthenticatedUser], connection: PostgresConnection, logger: Logger,
                files: (any FileStore)? = nil) {
        self.engine = engine
        self.admin = admin
        self.people = people
        self.connection = connection
        self.logger = logger
        self.files = files
    }
}

/// A page a module adds to the navigation, e.g. the pipeline board or a report.
public struct ModulePage: Sendable, Equatable {
    public let path: String
    /// Locale key of the link text, e.g. `sales.nav.pipeline`.
    public let labelKey: String
    /// Entity the caller must be able to read for the link to show.
    public let requires: String

    public init(path: String, labelKey: String, requires: String) {
        self.path = path
        self.labelKey = labelKey
        self.requires = requires
    }
}

/// A button on a record page, e.g. "Convert lead". `path` contains `{id}`; the button shows
/// when the caller's roles give `right` on the entity.
public struct ModuleAction: Sendable, Equatable {
    public let entity: String
    public let labelKey: String
    public let path: String
    /// A POST form (with the CSRF token) instead of a link.
    public let post: Bool
    public let right: RecordAction
    /// Shown only while the record's field has one of these values (e.g. pay: status approved).
    public let onlyWhen: (field: String, values: [String])?

    public init(entity: String, labelKey: String, path: String, post: Bool = false, right: RecordAction = .update,
                onlyWhen: (field: String, values: [String])? = nil) {
        self.entity = entity
        self.labelKey = labelKey
        self.path = path
        self.post = post
        self.right = right
        self.onlyWhen = onlyWhen
    }

    public static func == (a: ModuleAction, b: ModuleAction) -> Bool {
        a.entity == b.entity && a.labelKey == b.labelKey && a.path == b.path && a.post == b.post && a.right == b.right
            && a.onlyWhen?.field == b.onlyWhen?.field && a.onlyWhen?.values == b.onlyWhen?.values
    }

    /// Whether the button applies to this record.
    public func applies(to record: Record) -> Bool {
        guard let (field, values) = onlyWhen else { return true }
        return record.values[field]?.stringValue.map(values.contains) ?? false
    }
}
