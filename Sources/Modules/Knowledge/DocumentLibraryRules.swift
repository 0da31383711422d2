import Foundation
import Platform

/// The document library's rules, as record hooks: a folder tree without loops, and who reads
/// a folder and its documents (``FolderReaders``).
enum DocumentLibraryRules {
    static let hooks: [(String, any RecordHooks)] = [
        ("doc_folder", FolderTree()),
        ("doc_document", DocumentPlacement()),
    ]
}

/// A folder cannot be its own ancestor; when its readers change, the folder and its documents
/// are shared with the new audience (and unshared from the old one).
struct FolderTree: RecordHooks {
    func beforeValidate(_ write: inout RecordWrite) async throws {
        if try await ParentChain.closesLoop(write, entity: "doc_folder") {
            throw KnowledgeRules.invalid("parent", "cannot be the folder itself or one below it", key: "folder_cycle")
        }
    }

    func afterCreate(_ record: Record, context: HookContext) async throws {
        try await FolderReaders.syncFolder(record, store: ModuleStore(derived: context))
    }

    func afterUpdate(_ record: Record, previous: Record, context: HookContext) async throws {
        guard Audience(record, fields: Audience.categoryFields) != Audience(previous, fields: Audience.categoryFields) else { return }
        try await FolderReaders.syncFolder(record, store: ModuleStore(derived: context))
    }
}

/// A document is read by its folder's readers: shared with them when it is created and when it
/// moves to another folder.
struct DocumentPlacement: RecordHooks {
    func afterCreate(_ record: Record, context: HookContext) async throws {
        try await FolderReaders.syncDocument(record, store: ModuleStore(derived: context))
    }

    func afterUpdate(_ record: Record, previous: Record, context: HookContext) async throws {
        guard record.string("folder") != previous.string("folder") else { return }
        try await FolderReaders.syncDocument(record, store: ModuleStore(derived: context))
    }
}

/// Who reads a folder and the documents in it, enforced by the shared permission layer as
/// article categories are (``ArticleReaders``): the keepers' roles reach folders and documents
/// with the `own` scope only, and a folder's audience — every role, chosen roles, or a
/// department and every department below it — gets read shares on the folder and on each of
/// its documents. A private folder (`readers = private`) gets none: only its owner (and the
/// roles whose scope is `all`) sees it and what is in it. The engine then applies the shares
/// everywhere: record pages, lists, search, counts, downloads (read through the record).
enum FolderReaders {
    /// The read shares that open `folder` (and its documents) to its audience.
    static func shares(of folder: Record?, store: ModuleStore) async throws -> [RecordEngine.Share] {
        guard let folder, folder.string("readers") != "private" else { return [] }
        return try await Audience(folder, fields: Audience.categoryFields).shares(store: store.derived)
    }

    /// The folder and every document in it follow the folder's audience.
    static func syncFolder(_ folder: Record, store: ModuleStore) async throws {
        let wanted = try await shares(of: folder, store: store)
        try await Audience.sync(folder, wanted: wanted, store: store)
        for document in try await store.derived.all("doc_document", filter: ModuleStore.eq("folder", folder.idText)) {
            try await Audience.sync(document, wanted: wanted, store: store)
        }
    }

    /// The document follows its folder's audience.
    static func syncDocument(_ document: Record, store: ModuleStore) async throws {
        let folder = try await store.derived.get("doc_folder", document.string("folder"))
        try await Audience.sync(document, wanted: try await shares(of: folder, store: store), store: store)
    }
}

/// Trees of records linked by a `parent` lookup (knowledge categories, document folders).
enum ParentChain {
    /// Whether the write makes the record its own ancestor (a loop the tree pages would walk forever).
    static func closesLoop(_ write: RecordWrite, entity: String) async throws -> Bool {
        guard !write.isCreate, let existing = write.existing, let parent = write.values["parent"]?.stringValue,
              let parentID = UUID(uuidString: parent) else { return false }
        let store = ModuleStore(derived: write.context)
        var seen = Set<UUID>()
        var current: UUID? = parentID
        while let id = current, seen.insert(id).inserted {
            if id == existing.id { return true }
            current = try await store.get(entity, id.uuidString)?.string("parent").flatMap(UUID.init(uuidString:))
        }
        return false
    }
}
