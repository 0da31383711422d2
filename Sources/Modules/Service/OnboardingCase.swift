import Foundation
import Platform

/// The sales link (declared here, active only while the tenant has both modules on): winning
/// an opportunity opens an onboarding case for its customer — a service request related to the
/// opportunity, owned by whoever won it — once per opportunity (winning it again after a reopen
/// opens no second case).
struct OnboardingCase: RecordHooks {
    func afterCreate(_ record: Record, context: HookContext) async throws {
        try await open(record, context: context)
    }

    func afterUpdate(_ record: Record, previous: Record, context: HookContext) async throws {
        guard record.values["stage"] != previous.values["stage"] else { return }
        try await open(record, context: context)
    }

    func open(_ opportunity: Record, context: HookContext) async throws {
        let store = ModuleStore(derived: context)
        guard let stage = try await store.get("sales_stage", opportunity.string("stage")), stage.string("kind") == "won",
              try await TenantModules.enabled(on: context.connection, logger: context.logger).contains(ServiceModule.manifest.id),
              try await store.all("service_case", filter: ModuleStore.eq("related_opportunity", opportunity.idText)).isEmpty else { return }
        let name = opportunity.string("name") ?? ""
        var values: [String: JSONValue] = [
            "subject": .string(String("新客户交付 / Onboarding: \(name)".prefix(200))), "case_type": .string("request"), "channel": .string("visit"),
            "priority": .string("normal"), "related_opportunity": .string(opportunity.idText),
            "description": .string("赢单后的交付与培训。Delivery and training after the won deal “\(name)”."),
        ]
        if let account = opportunity.string("account") { values["account"] = .string(account) }
        if let contact = opportunity.string("contact") { values["contact"] = .string(contact) }
        _ = try await store.create("service_case", values)
    }
}
