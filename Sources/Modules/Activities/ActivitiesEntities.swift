import Foundation
import Platform

/// The activities module's entities (跟进记录 / 任务), declared as metadata on the shared record
/// engine. Both point at the record they are about with a pair of fields — the entity key and
/// the record id — rather than a lookup, because a lookup names one target entity and an
/// activity may be about any record: an account, a lead, an order, a tenant's custom object.
/// `related_title` is the related record's title when the activity was written, for lists.
enum ActivitiesEntities: EntityDeclarations {
    static let kinds = options([("call", "Call", "电话"), ("visit", "Visit", "拜访"), ("meeting", "Meeting", "会议"),
                                ("email", "E-mail", "邮件"), ("wechat", "WeChat", "微信"), ("other", "Other", "其他")])
    static let taskStatuses = options([("open", "Open", "未开始"), ("in_progress", "In progress", "进行中"),
                                       ("done", "Done", "已完成"), ("cancelled", "Cancelled", "已取消")])
    static let priorities = options([("low", "Low", "低"), ("normal", "Normal", "普通"), ("high", "High", "高")])

    /// The three fields that name the record an activity or task is about.
    static func relatedFields(required: Bool) -> [FieldDefinition] {
        [
            field("related_entity", "Related object", "关联对象", .text) { $0.required = required; $0.filterable = true; $0.maxLength = 43 },
            field("related_id", "Related record", "关联记录", .text) { $0.required = required; $0.filterable = true; $0.maxLength = 36 },
            field("related_title", "Related to", "关联到", .text) { $0.computed = true; $0.searchable = true; $0.maxLength = 200 },
        ]
    }

    static let activity = EntityDefinition(key: "activity", labels: ["en": "Activity", "zh-CN": "跟进记录"], fields: [
        field("subject", "Subject", "主题", .text) { $0.required = true; $0.searchable = true; $0.maxLength = 200 },
        field("kind", "Kind", "跟进方式", .picklist) { $0.options = kinds; $0.defaultValue = .string("call"); $0.filterable = true; $0.required = true },
        field("occurred_at", "When", "跟进时间", .datetime) { $0.filterable = true },
        field("duration_minutes", "Duration (minutes)", "时长（分钟）", .number) { $0.scale = 0; $0.min = 0; $0.max = 1440 },
        field("notes", "Notes", "内容", .longText) { $0.searchable = true; $0.maxLength = 10_000 },
        field("outcome", "Outcome", "结果", .text) { $0.maxLength = 500 },
        field("next_step", "Next step", "下一步", .text) { $0.maxLength = 500 },
        field("participant_ids", "Colleagues present (user ids)", "参与同事", .text) { $0.maxLength = 2_000 },
        field("contact_ids", "Contacts present (contact ids)", "参与联系人", .text) { $0.maxLength = 2_000 },
        field("also_related", "Also about (object:id, …)", "同时关联", .text) { $0.maxLength = 1_000 },
        field("rolled_up", "Customer of the related records", "所属客户（自动）", .text) { $0.computed = true; $0.maxLength = 1_000 },
    ] + relatedFields(required: true),
    titleField: "subject", listColumns: ["occurred_at", "kind", "subject", "related_title", "owner_id"], defaultSort: "-occurred_at")

    static let task = EntityDefinition(key: "task", labels: ["en": "Task", "zh-CN": "任务"], fields: [
        field("subject", "Subject", "主题", .text) { $0.required = true; $0.searchable = true; $0.maxLength = 200 },
        field("assignee", "Assignee", "负责人", .user) { $0.filterable = true },
        field("due_at", "Due", "截止时间", .datetime) { $0.filterable = true },
        field("priority", "Priority", "优先级", .picklist) { $0.options = priorities; $0.defaultValue = .string("normal"); $0.filterable = true },
        field("status", "Status", "状态", .picklist) { $0.options = taskStatuses; $0.defaultValue = .string("open"); $0.filterable = true; $0.required = true },
        field("reminder_at", "Remind at", "提醒时间", .datetime) { $0.filterable = true },
        field("completed_at", "Completed at", "完成时间", .datetime) { $0.computed = true; $0.filterable = true },
        field("description", "Description", "说明", .longText) { $0.searchable = true; $0.maxLength = 10_000 },
        field("batch_id", "Assigned together (batch)", "批量分派批次", .text) { $0.computed = true; $0.filterable = true; $0.maxLength = 36 },
    ] + relatedFields(required: false),
    titleField: "subject", listColumns: ["subject", "status", "priority", "due_at", "assignee", "related_title"], defaultSort: "due_at")

    static let all: [EntityDefinition] = [activity, task, event, visit, workReport]
}
