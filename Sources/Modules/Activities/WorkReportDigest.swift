import Foundation
import Platform

/// What a daily or weekly report is pre-filled with: the author's own records of the period,
/// read through the engine as the caller (so the caller's scope and field rules apply) —
/// the activities they logged, the tasks they completed, and the leads, opportunities and
/// sales orders they own that were created in the period and their receipts received in it.
/// A section whose entity the tenant does not have (sales disabled) or the caller cannot read
/// is left out.
///
/// ```swift
/// let digest = try await WorkReportDigest.load(author: user.id, kind: "daily", day: "2026-12-07", store: store)
/// digest.summary(locale: "zh-CN")   // "【跟进记录（2）】\n- 10:00 拜访 …"
/// ```
struct WorkReportDigest: Sendable {
    struct Section: Sendable {
        let key: String
        let entity: String
        let labels: [String: String]
        let records: [Record]
        let lines: [String]
    }

    let kind: String
    /// The period's first day and the day after its last (`YYYY-MM-DD`, tenant time).
    let start: String
    let end: String
    let sections: [Section]

    /// How each section finds its records: the filter besides the author's, the sort, what the
    /// period bounds, and the value shown after the title.
    struct Source {
        let key: String
        let entity: String
        let labels: [String: String]?
        let author: String
        let time: String
        let isDate: Bool
        let extra: [JSONValue]
        let sort: String
    }

    static let sources: [Source] = [
        Source(key: "activities", entity: "activity", labels: nil, author: "owner_id", time: "occurred_at", isDate: false, extra: [], sort: "occurred_at"),
        Source(key: "tasks_completed", entity: "task", labels: ["en": "Tasks completed", "zh-CN": "完成的任务"], author: "assignee", time: "completed_at",
               isDate: false, extra: [ModuleStore.eq("status", "done")], sort: "completed_at"),
        Source(key: "leads", entity: "lead", labels: ["en": "New leads", "zh-CN": "新线索"], author: "owner_id", time: "created_at", isDate: false, extra: [], sort: "created_at"),
        Source(key: "opportunities", entity: "opportunity", labels: ["en": "New opportunities", "zh-CN": "新商机"], author: "owner_id", time: "created_at",
               isDate: false, extra: [], sort: "created_at"),
        Source(key: "orders", entity: "sales_order", labels: ["en": "New sales orders", "zh-CN": "新订单"], author: "owner_id", time: "created_at", isDate: false,
               extra: [], sort: "created_at"),
        Source(key: "receipts", entity: "receipt", labels: ["en": "Receipts", "zh-CN": "回款"], author: "owner_id", time: "received_on", isDate: true, extra: [],
               sort: "received_on,created_at"),
    ]

    /// Amount fields shown after a record's title.
    static let amounts = ["opportunity": "amount", "sales_order": "total", "receipt": "amount"]

    /// The period of a report: the day, or the Monday-to-Sunday week holding it.
    static func period(kind: String, day: String) -> (start: String, end: String)? {
        let zone = Recurrence.tenantZone, calendar = Recurrence.calendar(zone)
        guard let date = Recurrence.day(day, zone: zone) else { return nil }
        let first = kind == "weekly" ? calendar.date(byAdding: .day, value: -Recurrence.weekday(date, zone: zone), to: date) ?? date : date
        guard let after = calendar.date(byAdding: .day, value: kind == "weekly" ? 7 : 1, to: first) else { return nil }
        return (Recurrence.dayText(first, zone: zone), Recurrence.dayText(after, zone: zone))
    }

    static func load(author: UUID, kind: String, day: String, store: ModuleStore) async throws -> WorkReportDigest {
        let zone = Recurrence.tenantZone
        guard let bounds = period(kind: kind, day: day), let from = Recurrence.day(bounds.start, zone: zone), let until = Recurrence.day(bounds.end, zone: zone),
              let lastDay = Recurrence.calendar(zone).date(byAdding: .day, value: -1, to: until) else {
            throw ActivitiesRules.invalid("period_start", "must be a day as YYYY-MM-DD", key: "report_period_invalid")
        }
        let (start, end) = bounds
        let definitions = try await store.engine.entities(on: store.connection, logger: store.logger)
        let who = author.uuidString.lowercased()
        var sections: [Section] = []
        for source in sources {
            guard let entity = definitions[source.entity], store.actor.access.canSee(entity) else { continue }
            let window: JSONValue = source.isDate
                ? ModuleStore.op(source.time, "between", .array([.string(start), .string(Recurrence.dayText(lastDay, zone: zone))]))
                : ModuleStore.and([ModuleStore.op(source.time, "gte", ActivitiesRules.stamp(from)), ModuleStore.op(source.time, "lt", ActivitiesRules.stamp(until))])
            let records = try await store.all(source.entity, filter: ModuleStore.and([ModuleStore.eq(source.author, who), window] + source.extra), sort: source.sort)
            sections.append(Section(key: source.key, entity: source.entity, labels: source.labels ?? entity.labels, records: records,
                                    lines: records.map { line($0, entity: entity, kind: kind) }))
        }
        return WorkReportDigest(kind: kind, start: start, end: end, sections: sections)
    }

    /// One record as a line of the summary (the text is the tenant's data; the locale only
    /// picks the picklist label). Times are tenant time; a weekly report names the day too.
    static func line(_ record: Record, entity: EntityDefinition, kind: String) -> String {
        let zone = Recurrence.tenantZone
        func when(_ key: String) -> String? {
            guard let date = ActivitiesRules.date(record.values[key]) else { return nil }
            let parts = Recurrence.calendar(zone).dateComponents([.month, .day, .hour, .minute], from: date)
            let time = String(format: "%02d:%02d", parts.hour ?? 0, parts.minute ?? 0)
            return kind == "weekly" ? String(format: "%02d-%02d ", parts.month ?? 0, parts.day ?? 0) + time : time
        }
        var parts: [String] = []
        switch entity.key {
        case "activity":
            if let at = when("occurred_at") { parts.append(at) }
            if let kindValue = record.string("kind") {
                let option = entity.field("kind")?.options?.first { $0.value == kindValue }
                parts.append(option?.labels["zh-CN"] ?? kindValue)
            }
            parts.append(record.string("subject") ?? "")
            if let related = record.string("related_title"), !related.isEmpty { parts.append("· \(related)") }
            if let outcome = record.string("outcome"), !outcome.isEmpty { parts.append("（\(outcome)）") }
        case "task":
            parts.append(record.string("subject") ?? "")
            if let related = record.string("related_title"), !related.isEmpty { parts.append("· \(related)") }
        default:
            if entity.key == "receipt", let day = record.string("received_on") { parts.append(day) }
            parts.append(entity.title(of: record, locale: "zh-CN") ?? record.idText)
            if let key = amounts[entity.key], let amount = Money.amount(record.values[key]) { parts.append("· \(Money.text(amount))") }
        }
        return parts.filter { !$0.isEmpty }.joined(separator: " ")
    }

    /// Lines a section shows in the summary; the rest is counted. Measured: a week of 1 000
    /// activities made a summary longer than the field's 20 000 characters, cut mid-line.
    static let linesPerSection = 100

    /// The pre-filled summary: a heading with the count per section that has records, then
    /// one line per record (at most ``linesPerSection``, then how many more); empty when the
    /// period has nothing.
    func summary(locale: String) -> String {
        let chinese = locale.hasPrefix("zh")
        return sections.filter { !$0.records.isEmpty }.map { section in
            let label = section.labels[chinese ? "zh-CN" : "en"] ?? section.labels["en"] ?? section.key
            let heading = chinese ? "【\(label)（\(section.records.count)）】" : "\(label) (\(section.records.count))"
            var lines = [heading] + section.lines.prefix(Self.linesPerSection).map { "- \($0)" }
            let more = section.lines.count - Self.linesPerSection
            if more > 0 { lines.append(chinese ? "……另有 \(more) 条" : "… and \(more) more") }
            return lines.joined(separator: "\n")
        }.joined(separator: "\n\n")
    }

    /// The period's last day (`end` is the day after it).
    var lastDay: String {
        let zone = Recurrence.tenantZone
        guard let after = Recurrence.day(end, zone: zone), let last = Recurrence.calendar(zone).date(byAdding: .day, value: -1, to: after) else { return end }
        return Recurrence.dayText(last, zone: zone)
    }

    func json(locale: String) -> JSONValue {
        .object([
            "kind": .string(kind), "period_start": .string(start), "period_end": .string(lastDay),
            "sections": .array(sections.map { section in
                .object(["key": .string(section.key), "entity": .string(section.entity),
                         "label": .string(section.labels[locale] ?? section.labels["en"] ?? section.key),
                         "count": .number(Decimal(section.records.count)),
                         "ids": .array(section.records.map { .string($0.idText) }),
                         "lines": .array(section.lines.map(JSONValue.string))])
            }),
            "summary": .string(summary(locale: locale)),
        ])
    }
}
