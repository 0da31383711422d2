import Foundation
import Platform

/// The knowledge module's rules, as record hooks: an article's review flow and publication
/// time, a category tree without cycles, an announcement's window, a topic's mentions
/// (``TopicMentions``; its answer: ``TopicAnswers``).
enum KnowledgeRules {
    static let hooks: [(String, any RecordHooks)] = [
        ("kb_article", ArticleFlow()),
        ("kb_category", CategoryTree()),
        ("announcement", AnnouncementWindow()),
        ("kb_article_version", VersionHistory()),
        ("kb_topic", TopicMentions()),
    ]

    static func invalid(_ field: String, _ message: String, key: String, _ arguments: [String: String] = [:]) -> AtriumError {
        .module("knowledge", .unprocessableContent, code: "invalid_\(field)", field: field, "\(field) \(message)", key: key, arguments)
    }
}

/// draft → in review → published → archived; a published or archived article may go back to
/// draft for rework, a review may send it back. Publishing stamps `published_at`. An edit of a
/// published article's content raises its `revision` and keeps what it replaced as a
/// `kb_article_version` (``ArticleVersions``).
struct ArticleFlow: RecordHooks {
    static let next: [String: Set<String>] = [
        "draft": ["in_review", "published"],
        "in_review": ["draft", "published"],
        "published": ["draft", "archived"],
        "archived": ["draft"],
    ]

    func beforeValidate(_ write: inout RecordWrite) async throws {
        if let existing = write.existing, ArticleVersions.keepsVersion(previous: existing, values: write.values) {
            write.values["revision"] = .string("\(ArticleVersions.revision(of: existing) + 1)")
        }
        let from = write.existing?.values["status"]?.stringValue ?? (write.isCreate ? nil : "draft")
        guard let to = write.values["status"]?.stringValue, to != from else { return }
        if let from, !(Self.next[from] ?? []).contains(to) {
            throw KnowledgeRules.invalid("status", "cannot go from \(from) to \(to)", key: "status_flow", ["from": from, "to": to])
        }
        if to == "published" {
            write.values["published_at"] = .string(Date().formatted(.iso8601))
        }
    }

    func afterCreate(_ record: Record, context: HookContext) async throws {
        if record.string("status") == "published" { try await ArticleReaders.sync(record, store: ModuleStore(derived: context)) }
    }

    func afterUpdate(_ record: Record, previous: Record, context: HookContext) async throws {
        let store = ModuleStore(derived: context)
        if ArticleVersions.keepsVersion(previous: previous, values: record.values) {
            try await ArticleVersions.keep(previous, store: store)
        }
        if record.string("status") != previous.string("status") || record.string("category") != previous.string("category") {
            try await ArticleReaders.sync(record, store: store)
        }
    }
}

/// A category cannot be its own ancestor; when its readers change, its published articles'
/// shares follow (``ArticleReaders``).
struct CategoryTree: RecordHooks {
    func afterUpdate(_ record: Record, previous: Record, context: HookContext) async throws {
        guard ArticleReaders.audienceFields.contains(where: { record.values[$0] != previous.values[$0] }) else { return }
        try await ArticleReaders.syncCategory(record, store: ModuleStore(derived: context))
    }

    func beforeValidate(_ write: inout RecordWrite) async throws {
        if try await ParentChain.closesLoop(write, entity: "kb_category") {
            throw KnowledgeRules.invalid("parent", "cannot be the category itself or one below it", key: "category_cycle")
        }
    }
}

/// An announcement is shown from `starts_on` until `ends_on`; the end cannot come first. It is
/// for everyone, a department and below, or chosen roles: shared with them for reading
/// (``Audience``), so nobody else sees it — on the home page, in lists, or its receipts.
struct AnnouncementWindow: RecordHooks {
    func afterCreate(_ record: Record, context: HookContext) async throws {
        let store = ModuleStore(derived: context)
        try await Audience.sync(record, wanted: try await Audience(record, fields: Audience.announcementFields).shares(store: store), store: store)
    }

    func afterUpdate(_ record: Record, previous: Record, context: HookContext) async throws {
        guard Audience(record, fields: Audience.announcementFields) != Audience(previous, fields: Audience.announcementFields) else { return }
        try await afterCreate(record, context: context)
    }

    func beforeValidate(_ write: inout RecordWrite) async throws {
        if let from = write.value("starts_on")?.stringValue, let to = write.value("ends_on")?.stringValue, to < from {
            throw KnowledgeRules.invalid("ends_on", "must not be before starts_on", key: "ends_before_starts")
        }
    }
}

/// A kept version is history: only the article's rule writes it (``ArticleVersions``), once —
/// an administrator's create, update or import is refused too.
struct VersionHistory: RecordHooks {
    func beforeValidate(_ write: inout RecordWrite) async throws {
        guard write.isCreate, write.context.actor.access.writesComputed else {
            throw KnowledgeRules.invalid("article", "versions are kept by the article's rule and never change", key: "version_history")
        }
    }
}
