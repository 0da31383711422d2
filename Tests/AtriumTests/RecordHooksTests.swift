import Foundation
import Logging
import Platform
import PostgresNIO
import Testing

/// Module hooks on the record engine, called directly (no HTTP): a computed field set before
/// validation and a delete refused by a business rule, both inside the write's transaction.
@Suite struct RecordHooksTests {
    /// probability = 80 for amounts above 100, else 20; amounts above 100 cannot be deleted;
    /// negative amounts are refused before validation.
    struct ProbabilityFromAmount: RecordHooks {
        func beforeValidate(_ write: inout RecordWrite) async throws {
            let sent = write.values["amount"] ?? write.existing?.values["amount"]
            guard let amount = sent.flatMap(Self.decimal) else { return }
            if amount < 0 {
                throw AtriumError(status: .unprocessableContent, code: "negative_amount", message: "amount cannot be negative", field: "amount")
            }
            write.values["probability"] = .string(amount > 100 ? "80" : "20")
        }

        func beforeDelete(_ record: Record, context: HookContext) async throws {
            if let amount = record.values["amount"].flatMap(Self.decimal), amount > 100 {
                throw AtriumError(status: .unprocessableContent, code: "large_amount", message: "records with an amount over 100 cannot be deleted")
            }
        }

        static func decimal(_ value: JSONValue) -> Decimal? {
            switch value {
            case .number(let number): return number
            case .string(let text): return Decimal(string: text, locale: Locale(identifier: "en_US_POSIX"))
            default: return nil
            }
        }
    }

    static let entity: EntityDefinition = {
        var probability = FieldDefinition(key: "probability", labels: ["en": "Probability"], type: .number)
        probability.min = 0
        probability.max = 100
        return EntityDefinition(key: "hooktest", labels: ["en": "Hook test"], fields: [
            FieldDefinition(key: "name", labels: ["en": "Name"], type: .text),
            FieldDefinition(key: "amount", labels: ["en": "Amount"], type: .number),
            probability,
        ], titleField: "name", listColumns: ["name", "amount", "probability"])
    }()

    static var engine: RecordEngine {
        var hooks = HookRegistry()
        hooks.register(ProbabilityFromAmount(), for: "hooktest")
        return RecordEngine(moduleEntities: [entity], hooks: hooks)
    }

    /// Runs `body` in one tenant transaction as the tenant's administrator.
    static func inTenant<T: Sendable>(_ tenant: TestEnvironment.Tenant,
                                      _ body: @escaping @Sendable (RecordEngine, RecordEngine.Actor, PostgresConnection, Logger) async throws -> T) async throws -> T {
        let logger = TestEnvironment.logger
        let (tenantID, email, engine) = (tenant.info.id, tenant.adminEmail, engine)
        return try await TestEnvironment.withAppRole { connection in
            try await connection.inTenantTransaction(tenantID, logger: logger) { connection in
                let credentials = try #require(try await UserStore.credentials(email: email, on: connection, logger: logger))
                return try await body(engine, RecordEngine.Actor(user: credentials.user), connection, logger)
            }
        }
    }

    @Test func beforeValidateHookComputesAFieldThatIsStored() async throws {
        let tenant = try await TestEnvironment.provisionTenant("rec-hook")
        let created = try await Self.inTenant(tenant) { engine, actor, connection, logger in
            try await engine.create("hooktest", values: ["name": .string("big"), "amount": .number(150)], as: actor, on: connection, logger: logger)
        }
        #expect(created.values["probability"] == .string("80"))
        let stored = try await Self.inTenant(tenant) { engine, actor, connection, logger in
            try await engine.get("hooktest", id: created.id, as: actor, on: connection, logger: logger)
        }
        #expect(stored.values["amount"] == .string("150"))
        #expect(stored.values["probability"] == .string("80"))
        let small = try await Self.inTenant(tenant) { engine, actor, connection, logger in
            try await engine.create("hooktest", values: ["name": .string("small"), "amount": .string("40")], as: actor, on: connection, logger: logger)
        }
        #expect(small.values["probability"] == .string("20"))
    }

    @Test func beforeValidateHookRunsOnUpdateWithTheExistingRecord() async throws {
        let tenant = try await TestEnvironment.provisionTenant("rec-hook-upd")
        let created = try await Self.inTenant(tenant) { engine, actor, connection, logger in
            try await engine.create("hooktest", values: ["name": .string("deal"), "amount": .number(40)], as: actor, on: connection, logger: logger)
        }
        #expect(created.values["probability"] == .string("20"))
        let updated = try await Self.inTenant(tenant) { engine, actor, connection, logger in
            try await engine.update("hooktest", id: created.id, values: ["amount": .number(500)], expectedVersion: 1, as: actor, on: connection, logger: logger)
        }
        #expect(updated.version == 2)
        #expect(updated.values["probability"] == .string("80"))
        // A change that does not send the amount still gets the probability from the stored one.
        let renamed = try await Self.inTenant(tenant) { engine, actor, connection, logger in
            try await engine.update("hooktest", id: created.id, values: ["name": .string("renamed")], expectedVersion: 2, as: actor, on: connection, logger: logger)
        }
        #expect(renamed.values["probability"] == .string("80"))
        #expect(renamed.values["name"] == .string("renamed"))
    }

    @Test func hookErrorBeforeValidationStopsTheCreateAndStoresNothing() async throws {
        let tenant = try await TestEnvironment.provisionTenant("rec-hook-neg")
        let error = await #expect(throws: AtriumError.self) {
            _ = try await Self.inTenant(tenant) { engine, actor, connection, logger in
                try await engine.create("hooktest", values: ["name": .string("neg"), "amount": .number(-5)], as: actor, on: connection, logger: logger)
            }
        }
        #expect(error?.code == "negative_amount")
        #expect(try await RecordFixtures.storedRecordCount(tenant) == 0)
    }

    @Test func beforeDeleteHookRefusesTheDeleteAndTheRecordStaysLive() async throws {
        let tenant = try await TestEnvironment.provisionTenant("rec-hook-del")
        let big = try await Self.inTenant(tenant) { engine, actor, connection, logger in
            try await engine.create("hooktest", values: ["name": .string("big"), "amount": .number(150)], as: actor, on: connection, logger: logger)
        }
        let error = await #expect(throws: AtriumError.self) {
            try await Self.inTenant(tenant) { engine, actor, connection, logger in
                try await engine.delete("hooktest", id: big.id, as: actor, on: connection, logger: logger)
            }
        }
        #expect(error?.code == "large_amount")
        let (live, bin, history) = try await Self.inTenant(tenant) { engine, actor, connection, logger in
            (try await engine.get("hooktest", id: big.id, as: actor, on: connection, logger: logger),
             try await engine.list("hooktest", query: RecordQuery(), recycleBin: true, as: actor, on: connection, logger: logger),
             try await engine.history("hooktest", id: big.id, as: actor, on: connection, logger: logger))
        }
        #expect(live.deletedAt == nil)
        #expect(live.version == 1)
        #expect(bin.total == 0)
        #expect(history.map(\.action) == ["record.created"])
    }

    @Test func beforeDeleteHookLetsOtherRecordsBeDeleted() async throws {
        let tenant = try await TestEnvironment.provisionTenant("rec-hook-ok")
        let small = try await Self.inTenant(tenant) { engine, actor, connection, logger in
            try await engine.create("hooktest", values: ["name": .string("small"), "amount": .number(50)], as: actor, on: connection, logger: logger)
        }
        try await Self.inTenant(tenant) { engine, actor, connection, logger in
            try await engine.delete("hooktest", id: small.id, as: actor, on: connection, logger: logger)
        }
        let bin = try await Self.inTenant(tenant) { engine, actor, connection, logger in
            try await engine.list("hooktest", query: RecordQuery(), recycleBin: true, as: actor, on: connection, logger: logger)
        }
        #expect(bin.records.map(\.id) == [small.id])
    }

    @Test func hooksOnlyRunForTheirEntity() async throws {
        let tenant = try await TestEnvironment.provisionTenant("rec-hook-other")
        var other = Self.entity
        other.key = "hookother"
        let engine = RecordEngine(moduleEntities: [Self.entity, other], hooks: Self.engine.hooks)
        let logger = TestEnvironment.logger
        let (tenantID, email) = (tenant.info.id, tenant.adminEmail)
        let record = try await TestEnvironment.withAppRole { connection in
            try await connection.inTenantTransaction(tenantID, logger: logger) { connection in
                let user = try #require(try await UserStore.credentials(email: email, on: connection, logger: logger)).user
                return try await engine.create("hookother", values: ["name": .string("x"), "amount": .number(150)],
                                               as: RecordEngine.Actor(user: user), on: connection, logger: logger)
            }
        }
        #expect(record.values["probability"] == nil)
    }
}
