import Foundation
import Logging
import PostgresNIO

/// Reading: a record's submissions and a user's inbox.
extension ApprovalEngine {
    /// A record's submissions, newest first (the caller must be able to read the record).
    public func history(_ entityKey: String, id: UUID, as actor: RecordEngine.Actor, on connection: PostgresConnection,
                        logger: Logger) async throws -> [Instance] {
        _ = try await records.get(entityKey, id: id, as: actor, on: connection, logger: logger)
        return try await instances(of: id, on: connection, logger: logger)
    }

    /// A record's submissions with their tasks, newest first, for a caller already known to
    /// read the record (the record page has just loaded it).
    func instances(of id: UUID, on connection: PostgresConnection, logger: Logger) async throws -> [Instance] {
        var instances = try await Self.decodeInstances(connection.query("""
            SELECT \(unescaped: Self.instanceColumns) FROM approval_instances i WHERE i.record_id = \(id) ORDER BY i.submitted_at DESC, i.id DESC
            """, logger: logger))
        let ids = instances.map(\.id)
        let tasks = try await Self.decodeTasks(connection.query("""
            SELECT \(unescaped: Self.taskColumns) FROM approval_tasks t WHERE t.instance_id = ANY(\(ids)) ORDER BY t.step, t.approver_id
            """, logger: logger))
        for index in instances.indices { instances[index].tasks = tasks.filter { $0.instanceID == instances[index].id } }
        return instances
    }

    public struct InboxItem: Sendable {
        public let task: Task?
        public let instance: Instance
        public let record: Record?
        /// The approver the caller stands in for (delegation), if not the caller.
        public let onBehalfOf: UUID?
    }

    public struct Inbox: Sendable {
        /// Tasks waiting for the caller (or for someone the caller stands in for today).
        public let waiting: [InboxItem]
        /// Submissions the caller is copied on (latest 50).
        public let copied: [InboxItem]
        /// The caller's own submissions (latest 50).
        public let submitted: [InboxItem]
    }

    public func inbox(as actor: RecordEngine.Actor, on connection: PostgresConnection, logger: Logger) async throws -> Inbox {
        let me = actor.user.id
        let standingFor = try await principals(of: me, on: connection, logger: logger)
        let tasks = try await Self.decodeTasks(connection.query("""
            SELECT \(unescaped: Self.taskColumns) FROM approval_tasks t
            WHERE t.status = 'pending' AND t.approver_id = ANY(\(standingFor))
            ORDER BY t.activated_at, t.id LIMIT 200
            """, logger: logger))
        let copiedIDs = try await ids(connection.query("""
            SELECT id FROM approval_instances WHERE \(me) = ANY(cc) ORDER BY submitted_at DESC LIMIT 50
            """, logger: logger))
        let submittedIDs = try await ids(connection.query("""
            SELECT id FROM approval_instances WHERE submitted_by = \(me) ORDER BY submitted_at DESC LIMIT 50
            """, logger: logger))
        let wanted = Array(Set(tasks.map(\.instanceID) + copiedIDs + submittedIDs))
        let instances = try await Self.decodeInstances(connection.query("""
            SELECT \(unescaped: Self.instanceColumns) FROM approval_instances i WHERE i.id = ANY(\(wanted))
            """, logger: logger))
        let byID = Dictionary(uniqueKeysWithValues: instances.map { ($0.id, $0) })
        let entities = try await records.entities(on: connection, logger: logger)
        // Every record in one statement (not one per item); the summary follows the caller's
        // field rules: a hidden field stays hidden here too.
        var binds = PostgresBindings()
        binds.append(Array(Set(instances.map(\.recordID))))
        let found = try await RecordEngine.decode(connection.query(PostgresQuery(
            unsafeSQL: "SELECT \(RecordEngine.columns) FROM records r WHERE r.id = ANY($1) AND r.deleted_at IS NULL", binds: binds), logger: logger))
        var recordCache: [UUID: Record] = [:]
        for record in found {
            guard let entity = entities[record.entity] else { continue }
            recordCache[record.id] = actor.access.redact(record, entity: entity)
        }
        var waiting: [InboxItem] = []
        for task in tasks {
            guard let instance = byID[task.instanceID] else { continue }
            waiting.append(InboxItem(task: task, instance: instance, record: recordCache[instance.recordID],
                                     onBehalfOf: task.approverID == me ? nil : task.approverID))
        }
        var copied: [InboxItem] = []
        for id in copiedIDs { if let instance = byID[id] { copied.append(InboxItem(task: nil, instance: instance, record: recordCache[instance.recordID], onBehalfOf: nil)) } }
        var submitted: [InboxItem] = []
        for id in submittedIDs { if let instance = byID[id] { submitted.append(InboxItem(task: nil, instance: instance, record: recordCache[instance.recordID], onBehalfOf: nil)) } }
        return Inbox(waiting: waiting, copied: copied, submitted: submitted)
    }
}
