import Foundation
import Platform

/// The document library's entities (文档中心), declared as metadata on the shared record engine:
/// a folder tree whose folders say who reads them, and documents in a folder whose files are
/// the platform's attachments on the document's record (one attachment per version, see
/// ``DocumentVersions``). Who reads a folder and its documents is the record shares' business
/// (``FolderReaders``); the module never checks a permission itself.
enum DocumentLibraryEntities: EntityDeclarations {
    /// A category's audiences, plus a folder only its owner reads (个人文件夹).
    static let folderReaders = KnowledgeEntities.readerAudiences + options([("private", "Only me (private folder)", "仅自己（个人文件夹）")])

    static let folder = EntityDefinition(key: "doc_folder", labels: ["en": "Document folder", "zh-CN": "文档文件夹"], fields: [
        field("name", "Name", "名称", .text) { $0.required = true; $0.searchable = true; $0.maxLength = 80 },
        field("parent", "Parent folder", "上级文件夹", .lookup) { $0.target = "doc_folder"; $0.filterable = true },
        field("position", "Position", "排序", .number) { $0.scale = 0; $0.min = 0; $0.defaultValue = .string("100") },
        field("description", "Description", "说明", .longText),
        field("readers", "Readers", "阅读范围", .picklist) { $0.options = folderReaders; $0.defaultValue = .string("everyone"); $0.filterable = true },
        field("reader_department", "Reader department (and below)", "可阅读部门（含下级）", .department),
        field("reader_roles", "Reader roles", "可阅读角色", .multiPicklist) { $0.options = KnowledgeEntities.readerRoles },
    ], titleField: "name", listColumns: ["name", "parent", "readers", "position", "owner_id"], defaultSort: "position")

    /// The current version's file is described by computed fields the library's rule writes
    /// (``DocumentVersions``); the name, description and tags are the uploader's.
    static let document = EntityDefinition(key: "doc_document", labels: ["en": "Document", "zh-CN": "文档"], fields: [
        field("name", "Name", "名称", .text) { $0.required = true; $0.searchable = true; $0.maxLength = 200 },
        field("folder", "Folder", "文件夹", .lookup) { $0.target = "doc_folder"; $0.required = true; $0.filterable = true },
        field("description", "Description", "说明", .longText) { $0.searchable = true; $0.maxLength = 4000 },
        field("tags", "Tags", "标签", .text) { $0.searchable = true; $0.maxLength = 200 },
        field("file_name", "File", "文件名", .text) { $0.computed = true; $0.searchable = true; $0.maxLength = 255 },
        field("content_type", "File type", "文件类型", .text) { $0.computed = true; $0.maxLength = 200 },
        field("byte_size", "Size (bytes)", "大小（字节）", .number) { $0.computed = true; $0.scale = 0; $0.min = 0 },
        field("current_version", "Current version", "当前版本", .number) { $0.computed = true; $0.scale = 0; $0.min = 1 },
        field("current_file", "Current file id", "当前文件编号", .text) { $0.computed = true; $0.maxLength = 36 },
        field("uploaded_by", "Uploaded by", "上传人", .user) { $0.computed = true; $0.filterable = true },
        field("uploaded_at", "Uploaded at", "上传时间", .datetime) { $0.computed = true; $0.filterable = true },
    ], titleField: "name", listColumns: ["name", "folder", "file_name", "current_version", "uploaded_by", "uploaded_at"], defaultSort: "-updated_at")

    /// Folders are the library's structure: they do not count toward the plan's record limit.
    static let all: [EntityDefinition] = [KnowledgeEntities.referenceData(folder), document]

    static let layouts: [ModuleLayout] = [
        ModuleLayout(entity: "doc_folder", sections: [
            LayoutSection(titles: ["en": "Folder", "zh-CN": "文件夹"], fields: ["name", "parent", "position"]),
            LayoutSection(titles: ["en": "Who reads its documents", "zh-CN": "阅读权限"], fields: ["readers", "reader_department", "reader_roles"]),
            LayoutSection(titles: ["en": "Description", "zh-CN": "说明"], columns: 1, fields: ["description"]),
        ]),
        ModuleLayout(entity: "doc_document", sections: [
            LayoutSection(titles: ["en": "Document", "zh-CN": "文档"], fields: ["name", "folder", "tags"]),
            LayoutSection(titles: ["en": "Current file", "zh-CN": "当前文件"], fields: ["file_name", "content_type", "byte_size", "current_version", "uploaded_by", "uploaded_at"]),
            LayoutSection(titles: ["en": "Description", "zh-CN": "说明"], columns: 1, fields: ["description"]),
        ]),
    ]

    /// Everyone who reads the knowledge base keeps documents too: they create folders (their
    /// private ones) and documents, and change what they own; the folders' shares open the rest.
    static let keeperRights = DefaultRoles.rights([(.read, .own), (.create, .all), (.update, .own), (.delete, .own), (.export, .own)])

    static let entityGrants: [String: [String: [String: DataScope]]] = Dictionary(uniqueKeysWithValues:
        KnowledgeModule.readers.map { ($0, ["doc_folder": keeperRights, "doc_document": keeperRights]) })
}
