import Foundation
import Platform

/// The activities module's part of a handover (工作移交): the platform moved the leaver's
/// records (their tasks and events among them) to the heir; here the leaver's **open tasks**
/// assigned to them — whoever owns the task — are assigned to the heir, and the heir takes the
/// leaver's place among the attendees of **future events** (and of series still running).
/// Each change goes through the engine as the administrator, so it is audited and its rules run
/// (the task's owner follows its assignee; the new attendee gets the event's read share).
enum ActivitiesHandover {
    static let run: ModuleHandover = { handover in
        let store = ModuleStore(engine: handover.engine, actor: handover.actor.derived, connection: handover.connection, logger: handover.logger)
        let leaver = handover.leaver.uuidString.lowercased(), heir = handover.heir.uuidString.lowercased()
        var moved: [String: Int] = [:]
        let tasks = try await store.all("task", filter: ModuleStore.and([
            ModuleStore.eq("assignee", leaver), ModuleStore.op("status", "in", .array([.string("open"), .string("in_progress")])),
        ]))
        for task in tasks {
            _ = try await store.update(task, ["assignee": .string(heir)])
        }
        if !tasks.isEmpty { moved["task.assignee"] = tasks.count }
        let now = JSONValue.string(Date().formatted(.iso8601))
        let events = try await store.all("event", filter: ModuleStore.and([
            ModuleStore.op("attendee_ids", "contains", .string(leaver)),
            .object(["or": .array([ModuleStore.op("starts_at", "gte", now), ModuleStore.op("recurrence", "ne", .string("none"))])]),
        ]))
        var attended = 0
        for event in events {
            let before = (event.values["attendee_ids"]?.stringValue ?? "").split(separator: ",").map(String.init)
            guard before.contains(leaver) else { continue }
            var after: [String] = []
            for id in before.map({ $0 == leaver ? heir : $0 }) where !after.contains(id) { after.append(id) }
            do {
                _ = try await store.update(event, ["attendee_ids": .string(after.joined(separator: ","))])
                attended += 1
            } catch let error as AtriumError where error.status == .unprocessableContent {
                // Another attendee left earlier (the list no longer validates): the event keeps
                // its attendees; the heir owns it if the leaver did.
                handover.logger.notice("handover left an event's attendees as they were", metadata: ["event": "\(event.id)", "reason": "\(error.message)"])
            }
        }
        if attended > 0 { moved["event.attendees"] = attended }
        return moved
    }
}
