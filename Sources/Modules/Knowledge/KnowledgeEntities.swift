import Foundation
import Platform

/// The knowledge module's entities (知识库 / 公告), declared as metadata on the shared record
/// engine: a category tree, articles with a review flow, and announcements with a publish
/// window. Who reads what is the roles' and sharing rules' business, as for every entity.
/// The product and customer lookups point at the sales module's entities without depending on
/// it (a tenant may switch sales off and keep its knowledge base); the fields stay empty then.
enum KnowledgeEntities: EntityDeclarations {
    static let articleStatuses = options([("draft", "Draft", "草稿"), ("in_review", "In review", "审核中"),
                                          ("published", "Published", "已发布"), ("archived", "Archived", "已归档")])
    /// Who reads a category's published articles (``ArticleReaders``).
    static let readerAudiences = options([("everyone", "Everyone", "所有人"), ("departments", "A department and below", "指定部门及下级"),
                                          ("roles", "Chosen roles", "指定角色")])
    /// The default roles by key (a tenant's own roles are reached through "everyone" or a department).
    static let readerRoles = options([("sales_director", "Sales Director", "销售总监"), ("sales_manager", "Sales Manager", "销售经理"),
                                      ("salesperson", "Salesperson", "销售员"), ("service_agent", "Service Agent", "客服"),
                                      ("purchaser", "Purchaser", "采购员"), ("finance", "Finance", "财务"), ("read_only", "Read only", "只读")])
    static let audiences = options([("internal", "Internal", "内部"), ("customer", "Customer-facing", "对客户公开")])

    static let category = EntityDefinition(key: "kb_category", labels: ["en": "Knowledge category", "zh-CN": "知识分类"], fields: [
        field("name", "Name (Chinese)", "名称", .text) { $0.required = true; $0.searchable = true; $0.maxLength = 60 },
        field("name_en", "Name (English)", "英文名称", .text) { $0.maxLength = 80 },
        field("parent", "Parent category", "上级分类", .lookup) { $0.target = "kb_category"; $0.filterable = true },
        field("position", "Position", "排序", .number) { $0.scale = 0; $0.min = 0; $0.defaultValue = .string("100") },
        field("description", "Description", "说明", .longText),
        field("readers", "Readers", "阅读范围", .picklist) { $0.options = readerAudiences; $0.defaultValue = .string("everyone"); $0.filterable = true },
        field("reader_department", "Reader department (and below)", "可阅读部门（含下级）", .department),
        field("reader_roles", "Reader roles", "可阅读角色", .multiPicklist) { $0.options = readerRoles },
    ], titleField: "name", listColumns: ["name", "name_en", "parent", "readers", "position"], defaultSort: "position")

    static let article = EntityDefinition(key: "kb_article", labels: ["en": "Knowledge article", "zh-CN": "知识文章"], fields: [
        field("number", "Number", "编号", .autoNumber) { $0.format = "KB-{seq:5}"; $0.searchable = true },
        field("title", "Title", "标题", .text) { $0.required = true; $0.searchable = true; $0.maxLength = 200 },
        field("category", "Category", "分类", .lookup) { $0.target = "kb_category"; $0.required = true; $0.filterable = true },
        field("summary", "Summary", "摘要", .text) { $0.searchable = true; $0.maxLength = 400 },
        field("body", "Body", "正文", .longText) { $0.searchable = true },
        field("tags", "Tags", "标签", .text) { $0.searchable = true; $0.maxLength = 200 },
        field("status", "Status", "状态", .picklist) { $0.options = articleStatuses; $0.defaultValue = .string("draft"); $0.filterable = true },
        field("audience", "Audience", "适用范围", .picklist) { $0.options = audiences; $0.defaultValue = .string("internal"); $0.filterable = true },
        field("product", "Product", "相关产品", .lookup) { $0.target = "product"; $0.filterable = true },
        field("account", "Customer", "相关客户", .lookup) { $0.target = "account"; $0.filterable = true },
        field("review_by", "Review by", "复审日期", .date) { $0.filterable = true },
        field("published_at", "Published at", "发布时间", .datetime) { $0.computed = true; $0.filterable = true },
        field("revision", "Revision", "版本号", .number) { $0.computed = true; $0.scale = 0; $0.min = 1; $0.defaultValue = .string("1") },
    ], titleField: "title", listColumns: ["number", "title", "category", "status", "published_at", "owner_id"], defaultSort: "-updated_at")

    /// A published article's content as it was before an edit (``ArticleVersions``): written by
    /// the article's rule only, read next to the article.
    static let articleVersion = EntityDefinition(key: "kb_article_version", labels: ["en": "Article version", "zh-CN": "文章历史版本"], fields: [
        field("article", "Article", "文章", .lookup) { $0.target = "kb_article"; $0.required = true; $0.filterable = true },
        field("revision", "Revision", "版本号", .number) { $0.scale = 0; $0.min = 1; $0.required = true; $0.filterable = true },
        field("title", "Title", "标题", .text) { $0.required = true; $0.maxLength = 200 },
        field("summary", "Summary", "摘要", .text) { $0.maxLength = 400 },
        field("body", "Body", "正文", .longText),
        field("editor", "Edited by", "编辑人", .user) { $0.filterable = true },
        field("edited_at", "Edited at", "编辑时间", .datetime) { $0.filterable = true },
    ], titleField: "title", listColumns: ["article", "revision", "title", "editor", "edited_at"], defaultSort: "-edited_at")

    static let announcement = EntityDefinition(key: "announcement", labels: ["en": "Announcement", "zh-CN": "公告"], fields: [
        field("title", "Title", "标题", .text) { $0.required = true; $0.searchable = true; $0.maxLength = 200 },
        field("body", "Body", "内容", .longText) { $0.required = true; $0.searchable = true },
        field("importance", "Importance", "重要程度", .picklist) {
            $0.options = options([("normal", "Normal", "普通"), ("important", "Important", "重要")]); $0.defaultValue = .string("normal"); $0.filterable = true
        },
        field("pinned", "Pinned", "置顶", .boolean) { $0.defaultValue = .bool(false); $0.filterable = true },
        field("starts_on", "Shown from", "发布日期", .date) { $0.required = true; $0.filterable = true },
        field("ends_on", "Shown until", "截止日期", .date) { $0.filterable = true },
        field("audience", "For", "发布范围", .picklist) { $0.options = readerAudiences; $0.defaultValue = .string("everyone"); $0.filterable = true },
        field("target_department", "Department (and below)", "部门（含下级）", .department),
        field("target_roles", "Roles", "角色", .multiPicklist) { $0.options = readerRoles },
    ], titleField: "title", listColumns: ["title", "importance", "pinned", "starts_on", "ends_on", "audience", "owner_id"], defaultSort: "-starts_on")

    /// Categories and discussion boards are the tenant's shared structure: everyone who may use
    /// the module reads all of them, and they do not count toward the plan's record limit.
    static let all: [EntityDefinition] = [referenceData(publicRead(category)), article, referenceData(articleVersion), announcement,
                                          referenceData(publicRead(board)), topic]

    static func referenceData(_ entity: EntityDefinition) -> EntityDefinition {
        var entity = entity
        entity.referenceData = true
        return entity
    }
}
