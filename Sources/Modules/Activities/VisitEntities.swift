import Foundation
import Platform

/// The visit (拜访) and the work report (日报/周报), declared as metadata like the module's
/// other entities, so scopes, field rules, audit, recycle bin and custom fields apply.
///
/// A **visit plan** is no entity of its own: it is a user's visits of one `planned_on` day in
/// `sequence` order (``Visits/plan(for:day:store:)``). A visit points at the customer with the
/// same `related_entity` + `related_id` pair as an activity (an account as a rule; any record
/// the caller may read is accepted, as for activities). Checking in and out moves `status`
/// along planned → checked_in → done (``VisitFlow``); the times, the duration and the
/// activity a check-out logs are computed, so no caller writes them by hand.
extension ActivitiesEntities {
    static let visitStatuses = options([("planned", "Planned", "计划中"), ("checked_in", "Checked in", "已签到"),
                                        ("done", "Done", "已完成"), ("cancelled", "Cancelled", "已取消")])

    /// Latitude, longitude and accuracy (metres) of a check-in or check-out, as the browser's
    /// geolocation gives them; all optional (a refused or failed location leaves them empty).
    static func position(_ prefix: String, en: String, zh: String) -> [FieldDefinition] {
        [
            field("\(prefix)_latitude", "\(en) latitude", "\(zh)纬度", .number) { $0.scale = 6; $0.min = -90; $0.max = 90 },
            field("\(prefix)_longitude", "\(en) longitude", "\(zh)经度", .number) { $0.scale = 6; $0.min = -180; $0.max = 180 },
            field("\(prefix)_accuracy", "\(en) accuracy (m)", "\(zh)定位精度（米）", .number) { $0.scale = 0; $0.min = 0; $0.max = 100_000 },
        ]
    }

    static let visit = EntityDefinition(key: "visit", labels: ["en": "Visit", "zh-CN": "拜访"], fields: [
        field("planned_on", "Planned for", "计划日期", .date) { $0.required = true; $0.filterable = true },
        field("sequence", "Order in the day", "顺序", .number) { $0.scale = 0; $0.min = 1; $0.max = 999; $0.filterable = true },
        field("purpose", "Purpose", "拜访目的", .text) { $0.searchable = true; $0.maxLength = 200 },
        field("status", "Status", "状态", .picklist) { $0.options = visitStatuses; $0.defaultValue = .string("planned"); $0.filterable = true; $0.required = true },
        field("checked_in_at", "Checked in at", "签到时间", .datetime) { $0.computed = true; $0.filterable = true },
        field("checked_out_at", "Checked out at", "签退时间", .datetime) { $0.computed = true; $0.filterable = true },
        field("duration_minutes", "Duration (minutes)", "时长（分钟）", .number) { $0.computed = true; $0.scale = 0 },
        field("notes", "Notes", "拜访纪要", .longText) { $0.searchable = true; $0.maxLength = 10_000 },
        field("outcome", "Outcome", "结果", .text) { $0.maxLength = 500 },
        field("activity_id", "Activity logged", "跟进记录", .text) { $0.computed = true; $0.maxLength = 36 },
    ] + position("check_in", en: "Check-in", zh: "签到") + position("check_out", en: "Check-out", zh: "签退") + relatedFields(required: true),
    titleField: "related_title", listColumns: ["planned_on", "sequence", "related_title", "status", "checked_in_at", "duration_minutes", "owner_id"],
    defaultSort: "-planned_on,sequence")

    static let reportKinds = options([("daily", "Daily report", "日报"), ("weekly", "Weekly report", "周报")])
    static let reportStatuses = options([("draft", "Draft", "草稿"), ("submitted", "Submitted", "已提交"),
                                         ("read", "Read", "已阅"), ("commented", "Commented", "已点评")])

    /// A daily or weekly report (日报/周报) of its owner, the author: one per author, kind and
    /// period (`period_key`, unique). A new one is pre-filled from the period's data
    /// (``WorkReportDigest``); submitting tells the author's manager, whose comment tells the author.
    static let workReport = EntityDefinition(key: "work_report", labels: ["en": "Work report", "zh-CN": "工作报告"], fields: [
        field("title", "Report", "报告", .text) { $0.computed = true; $0.searchable = true; $0.maxLength = 200 },
        field("kind", "Kind", "类型", .picklist) { $0.options = reportKinds; $0.defaultValue = .string("daily"); $0.filterable = true; $0.required = true },
        field("period_start", "Day (or Monday of the week)", "日期（周报为周一）", .date) { $0.required = true; $0.filterable = true },
        field("status", "Status", "状态", .picklist) { $0.options = reportStatuses; $0.defaultValue = .string("draft"); $0.filterable = true; $0.required = true },
        field("summary", "Summary", "工作总结", .longText) { $0.searchable = true; $0.maxLength = 20_000 },
        field("next_plans", "Plans for the next period", "下期计划", .longText) { $0.searchable = true; $0.maxLength = 10_000 },
        field("manager_comment", "Manager's comment", "上级点评", .longText) { $0.maxLength = 5_000 },
        field("submitted_at", "Submitted at", "提交时间", .datetime) { $0.computed = true; $0.filterable = true },
        field("commented_at", "Commented at", "点评时间", .datetime) { $0.computed = true },
        field("commented_by", "Commented by", "点评人", .user) { $0.computed = true },
        field("period_key", "Period", "报告周期", .text) { $0.computed = true; $0.unique = true; $0.filterable = true; $0.maxLength = 80 },
    ], titleField: "title", listColumns: ["period_start", "kind", "title", "status", "submitted_at"], defaultSort: "-period_start")
}
