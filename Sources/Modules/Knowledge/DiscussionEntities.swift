import Foundation
import Platform

/// Discussions (BBS 论坛 / 问题讨论), declared on the shared record engine like the rest of the
/// module: boards per tenant and topics on them. A topic's replies are the platform's comments
/// on the topic record (``RecordComments``): whoever may read the topic reads and joins its
/// thread, mentions notify readers only, and the thread is audited on the topic. Accepting a
/// reply as the answer and turning a solved topic into an article are the module's rules
/// (``TopicAnswers``); the fields they set are computed, so no form or import can set them.
extension KnowledgeEntities {
    static let topicStatuses = options([("open", "Open", "待解决"), ("solved", "Solved", "已解决")])

    static let board = EntityDefinition(key: "kb_board", labels: ["en": "Discussion board", "zh-CN": "讨论版"], fields: [
        field("name", "Name", "名称", .text) { $0.required = true; $0.searchable = true; $0.maxLength = 60 },
        field("description", "Description", "说明", .longText),
        field("category", "Category for articles", "转为文章时的分类", .lookup) { $0.target = "kb_category" },
        field("position", "Position", "排序", .number) { $0.scale = 0; $0.min = 0; $0.defaultValue = .string("100") },
    ], titleField: "name", listColumns: ["name", "category", "position"], defaultSort: "position")

    /// The body is Markdown, rendered sanitized like an article's; `@[Name](user-id)` in it
    /// mentions people (``TopicMentions``).
    static let topic = EntityDefinition(key: "kb_topic", labels: ["en": "Discussion topic", "zh-CN": "讨论主题"], fields: [
        field("title", "Title", "标题", .text) { $0.required = true; $0.searchable = true; $0.maxLength = 200 },
        field("board", "Board", "讨论版", .lookup) { $0.target = "kb_board"; $0.required = true; $0.filterable = true },
        field("body", "Question", "问题描述", .longText) { $0.required = true; $0.searchable = true; $0.maxLength = CommentBody.maxLength },
        field("status", "Status", "状态", .picklist) { $0.options = topicStatuses; $0.defaultValue = .string("open"); $0.filterable = true; $0.computed = true },
        field("accepted_reply", "Accepted reply", "采纳的回复", .text) { $0.computed = true; $0.maxLength = 36 },
        field("solved_at", "Solved at", "解决时间", .datetime) { $0.computed = true; $0.filterable = true },
        field("article", "Article", "知识文章", .lookup) { $0.target = "kb_article"; $0.computed = true },
    ], titleField: "title", listColumns: ["title", "board", "status", "owner_id"], defaultSort: "-created_at")
}
