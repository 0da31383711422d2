import Foundation
import Platform

/// The work report's rules (日报/周报):
/// - its author is its owner, and writes it for themselves; `kind` and `period_start` are
///   fixed once written, a weekly report's day moves to the Monday of its week, and one author
///   has one report per kind and period (`period_key`, unique: 409 naming `period_start`);
/// - a new report with no summary is pre-filled from the period's data (``WorkReportDigest``),
///   read as the caller;
/// - draft → submitted (by the author; stamps `submitted_at` and tells the author's manager, else their department's head)
///   → read → commented: the author edits summary and plans only while it is a draft; anyone
///   else who may update it (the manager, through their data scope) only reads and comments,
///   and a comment marks it commented and tells the author.
/// Sending a field's stored value again (an edit form) is no change.
struct WorkReportFlow: RecordHooks {
    static let next: [String: Set<String>] = [
        "draft": ["submitted"],
        "submitted": ["read", "commented"],
        "read": ["commented"],
        "commented": ["commented"],
    ]
    static let authorFields = ["summary", "next_plans"]
    static let submittedStates: Set<String> = ["submitted", "read", "commented"]

    static func text(_ value: JSONValue?) -> String {
        (value?.stringValue ?? "").replacingOccurrences(of: "\r\n", with: "\n").trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static func changed(_ write: RecordWrite, _ key: String) -> Bool {
        guard let sent = write.values[key] else { return false }
        return text(sent) != text(write.existing?.values[key])
    }

    static func key(author: UUID, kind: String, start: String) -> String { "\(author.uuidString.lowercased())/\(kind)/\(start)" }

    func beforeValidate(_ write: inout RecordWrite) async throws {
        let context = write.context
        // The module's own follow-up writes (stamps after a create) are not the author's edits.
        if context.actor.access.writesComputed && !write.isCreate { return }
        let user = context.user.id
        let now = Date()
        if write.isCreate {
            let kind = write.value("kind")?.stringValue ?? "daily"
            guard let day = write.value("period_start")?.stringValue, !day.isEmpty else { return }  // the engine's required check names it
            guard let start = WorkReportDigest.period(kind: kind, day: day)?.start else { return }   // the engine's date check names it
            let status = write.value("status")?.stringValue ?? "draft"
            guard status == "draft" || status == "submitted" else {
                throw ActivitiesRules.invalid("status", "of a new report must be draft or submitted, not \(status)", key: "report_starts_draft", ["to": status])
            }
            if !Self.text(write.values["manager_comment"]).isEmpty {
                throw ActivitiesRules.invalid("manager_comment", "is written by the author's manager", key: "report_comment_by_manager")
            }
            write.values["period_start"] = .string(start)
            let key = Self.key(author: user, kind: kind, start: start)
            let taken = try await context.engine.list("work_report", query: RecordQuery(filter: ModuleStore.eq("period_key", key), limit: 1),
                                                      as: context.derivedActor, on: context.connection, logger: context.logger).records
            if !taken.isEmpty {
                throw AtriumError.module("activities", .conflict, code: "report_exists", field: "period_start",
                                         "period_start: you already have a \(kind) report for \(start)", key: "report_exists", ["day": start])
            }
            write.values["period_key"] = .string(key)
            let kindLabel = ActivitiesEntities.reportKinds.first { $0.value == kind }?.labels["zh-CN"] ?? kind
            write.values["title"] = .string(String("\(context.user.displayName) \(kindLabel) \(start)".prefix(200)))
            if Self.text(write.values["summary"]).isEmpty {
                let store = ModuleStore(engine: context.engine, actor: context.actor, connection: context.connection, logger: context.logger)
                let digest = try await WorkReportDigest.load(author: user, kind: kind, day: start, store: store)
                let summary = digest.summary(locale: context.user.locale)
                write.values["summary"] = summary.isEmpty ? .null : .string(String(summary.prefix(20_000)))
            }
            if status == "submitted" { write.values["submitted_at"] = ActivitiesRules.stamp(now) }
            return
        }
        guard let existing = write.existing else { return }
        for key in ["kind", "period_start"] where write.values[key] != nil && Self.text(write.values[key]) != Self.text(existing.values[key]) {
            throw ActivitiesRules.invalid(key, "cannot change once the report is written", key: "report_period_fixed")
        }
        let from = existing.string("status") ?? "draft"
        var to = write.values["status"]?.stringValue ?? from
        let isAuthor = existing.ownerID == user
        if isAuthor {
            if Self.changed(write, "manager_comment") {
                throw ActivitiesRules.invalid("manager_comment", "is written by the author's manager", key: "report_comment_by_manager")
            }
            for key in Self.authorFields where Self.changed(write, key) && from != "draft" {
                throw ActivitiesRules.invalid(key, "cannot change after the report was submitted", key: "report_submitted_fixed")
            }
            if to != from && to != "submitted" {
                throw ActivitiesRules.invalid("status", "is set to \(to) by the author's manager", key: "report_status_by_manager", ["to": to])
            }
        } else {
            for key in Self.authorFields where Self.changed(write, key) {
                throw ActivitiesRules.invalid(key, "is written by the report's author", key: "report_author_only")
            }
            if to == "submitted" && from == "draft" {
                throw ActivitiesRules.invalid("status", "is submitted by the report's author", key: "report_submit_by_author")
            }
            if Self.changed(write, "manager_comment") {
                guard Self.submittedStates.contains(from) else {
                    throw ActivitiesRules.invalid("manager_comment", "can be written once the report is submitted", key: "report_comment_draft")
                }
                if !Self.text(write.values["manager_comment"]).isEmpty {
                    to = "commented"
                    write.values["status"] = .string(to)
                    write.values["commented_at"] = ActivitiesRules.stamp(now)
                    write.values["commented_by"] = .string(user.uuidString.lowercased())
                }
            }
        }
        if to != from && !(Self.next[from] ?? []).contains(to) {
            throw ActivitiesRules.invalid("status", "cannot go from \(from) to \(to)", key: "report_transition", ["from": from, "to": to])
        }
        if to == "submitted" && from == "draft" { write.values["submitted_at"] = ActivitiesRules.stamp(now) }
    }

    func afterCreate(_ record: Record, context: HookContext) async throws {
        // A report is its author's: nobody files one in a colleague's name.
        guard record.ownerID == context.user.id else {
            throw ActivitiesRules.invalid("owner_id", "must be you: a report is written by its author", key: "report_owner_author")
        }
        if record.string("status") == "submitted" { try await Self.tellManager(record, context: context) }
    }

    func afterUpdate(_ record: Record, previous: Record, context: HookContext) async throws {
        if record.string("status") == "submitted" && previous.string("status") == "draft" { try await Self.tellManager(record, context: context) }
        if Self.text(record.values["manager_comment"]) != Self.text(previous.values["manager_comment"]), !Self.text(record.values["manager_comment"]).isEmpty,
           let author = record.ownerID, author != context.user.id {
            try await Notifications.notify([author], of: NotificationEvent(kind: "activities.report_commented", entity: "work_report", recordID: record.id,
                                                                            actor: context.user.id, arguments: ["record": record.string("title") ?? ""]),
                                           on: context.connection, logger: context.logger)
        }
    }

    /// The author's manager is told (see ``reader(of:members:departments:)``); no one when there is none.
    /// Who reads the author's reports: their own manager (`users.manager_id`) when active; else
    /// the head (负责人) of their department, or — when they head it themselves or it has no
    /// active head — of the nearest department above that has one. Nil: nobody above them.
    static func reader(of author: UUID, members: [OrganisationAdmin.Member], departments: [OrganisationAdmin.Department]) -> UUID? {
        let active = Set(members.filter(\.active).map(\.id))
        guard let person = members.first(where: { $0.id == author }) else { return nil }
        if let manager = person.managerID, manager != author, active.contains(manager) { return manager }
        let byID = Dictionary(departments.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        var current = person.departmentID.flatMap { byID[$0] }
        var seen: Set<UUID> = []
        while let department = current, seen.insert(department.id).inserted {
            if let head = department.headID, head != author, active.contains(head) { return head }
            current = department.parentID.flatMap { byID[$0] }
        }
        return nil
    }

    static func tellManager(_ record: Record, context: HookContext) async throws {
        guard let author = record.ownerID else { return }
        let organisation = OrganisationAdmin()
        let members = try await organisation.members(on: context.connection, logger: context.logger)
        let departments = try await organisation.departments(on: context.connection, logger: context.logger)
        guard let manager = reader(of: author, members: members, departments: departments) else { return }
        try await Notifications.notify([manager], of: NotificationEvent(kind: "activities.report_submitted", entity: "work_report", recordID: record.id,
                                                                         actor: context.user.id, arguments: ["record": record.string("title") ?? ""]),
                                       on: context.connection, logger: context.logger)
    }
}
