import Foundation
import Platform

/// The calendar event (日程), declared like the module's other entities so that scopes, field
/// rules, audit, recycle bin, custom fields and layouts apply to it.
///
/// One entity serves three kinds of row (see ``EventSeries`` for the rules):
/// - a single event: `recurrence` is `none`, no `series_id`;
/// - a series: the *master* event carries the rule (`recurrence`, `recurrence_interval`,
///   `recurrence_weekdays`, `recurrence_until` or `recurrence_count`); its `starts_at`/`ends_at`
///   are the first occurrence's, and every other occurrence is computed (``Recurrence``);
/// - an exception: one occurrence edited or cancelled on its own, stored as an event with
///   `series_id` (the master) and `occurrence_start` (the start the occurrence had in the
///   series); it replaces that occurrence in the expansion, `cancelled` removes it.
///
/// Attendees are users named in `attendee_ids` (comma-separated ids): the engine has a
/// single-user field type only, and a text field keeps the list filterable with `contains`.
extension ActivitiesEntities {
    static let frequencies = options([("none", "Does not repeat", "不重复"), ("daily", "Daily", "每天"),
                                      ("weekly", "Weekly", "每周"), ("monthly", "Monthly", "每月")])
    static let weekdays = options([("mo", "Monday", "周一"), ("tu", "Tuesday", "周二"), ("we", "Wednesday", "周三"), ("th", "Thursday", "周四"),
                                   ("fr", "Friday", "周五"), ("sa", "Saturday", "周六"), ("su", "Sunday", "周日")])

    static let event = EntityDefinition(key: "event", labels: ["en": "Event", "zh-CN": "日程"], fields: [
        field("subject", "Subject", "主题", .text) { $0.required = true; $0.searchable = true; $0.maxLength = 200 },
        field("starts_at", "Starts", "开始时间", .datetime) { $0.required = true; $0.filterable = true },
        field("ends_at", "Ends", "结束时间", .datetime) { $0.required = true; $0.filterable = true },
        field("all_day", "All day", "全天", .boolean) { $0.defaultValue = .bool(false) },
        field("location", "Location", "地点", .text) { $0.searchable = true; $0.maxLength = 200 },
        field("notes", "Notes", "备注", .longText) { $0.searchable = true; $0.maxLength = 10_000 },
        field("attendee_ids", "Attendees", "参与人", .text) { $0.filterable = true; $0.maxLength = 37 * 50 },
        field("reminder_minutes", "Remind (minutes before)", "提前提醒（分钟）", .number) { $0.scale = 0; $0.min = 0; $0.max = 40_320 },
        field("recurrence", "Repeats", "重复", .picklist) { $0.options = frequencies; $0.defaultValue = .string("none"); $0.filterable = true; $0.required = true },
        field("recurrence_interval", "Every (interval)", "间隔", .number) { $0.scale = 0; $0.min = 1; $0.max = 99 },
        field("recurrence_weekdays", "On weekdays", "重复星期", .multiPicklist) { $0.options = weekdays },
        field("recurrence_until", "Repeat until", "重复截止日期", .date),
        field("recurrence_count", "Number of times", "重复次数", .number) { $0.scale = 0; $0.min = 1; $0.max = Decimal(RecurrenceRule.maxCount) },
        field("series_id", "Series", "所属系列", .text) { $0.filterable = true; $0.maxLength = 36 },
        field("occurrence_start", "Occurrence replaced", "被替换的日程时间", .datetime) { $0.filterable = true },
        field("cancelled", "Cancelled", "已取消", .boolean) { $0.defaultValue = .bool(false); $0.filterable = true },
    ] + relatedFields(required: false),
    titleField: "subject", listColumns: ["starts_at", "ends_at", "subject", "location", "recurrence", "owner_id"], defaultSort: "-starts_at")
}
