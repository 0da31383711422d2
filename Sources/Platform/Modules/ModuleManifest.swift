import Foundation

/// What a feature module declares about itself. Later issues grow it (entities, layouts,
/// menus, rights); the host needs only identity, labels and dependencies to load it.
public struct ModuleManifest: Sendable, Equatable {
    public let id: String
    public let version: String
    /// Display names by locale (`zh-CN`, `en`).
    public let names: [String: String]
    public let depends: [String]
    /// Entities the module declares; the record engine serves them to tenants that enable it.
    public let entities: [EntityDefinition]

    public init(id: String, version: String, names: [String: String], depends: [String] = [], entities: [EntityDefinition] = []) {
        self.id = id
        self.version = version
        self.names = names
        self.depends = depends
        self.entities = entities
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

    /// Modules a new tenant on `plan` starts with.
    public func defaultModules(plan: String) -> [String] {
        entries.filter { $0.plans.contains(plan) }.map(\.id)
    }

    /// Every plan named in the catalog.
    public var plans: Set<String> {
        Set(entries.flatMap(\.plans))
    }
}
