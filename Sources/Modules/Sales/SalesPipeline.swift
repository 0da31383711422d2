import Foundation
import Platform

/// The tenant's opportunity pipeline: `sales_stage` records (name, order, win probability,
/// open / won / lost), editable like any object; seeded when the module is enabled.
enum SalesPipeline {
    struct Stage: Sendable, Equatable {
        let id: String
        let name: String
        let nameEN: String?
        let position: Int
        let probability: Decimal
        let kind: String

        func label(_ locale: String) -> String { locale == "en" ? (nameEN ?? name) : name }
    }

    static let defaults: [(String, String, Int, String)] = [
        ("初步接洽", "Qualification", 10, "open"), ("需求确认", "Needs analysis", 30, "open"), ("方案报价", "Proposal", 50, "open"),
        ("谈判审核", "Negotiation", 70, "open"), ("赢单", "Won", 100, "won"), ("输单", "Lost", 0, "lost"),
    ]

    static func stages(store: ModuleStore) async throws -> [Stage] {
        try await store.all("sales_stage", sort: "position").map { record in
            Stage(id: record.idText, name: record.string("name") ?? "", nameEN: record.string("name_en"),
                  position: record.decimal("position").map { NSDecimalNumber(decimal: $0).intValue } ?? 0,
                  probability: record.decimal("probability") ?? 0, kind: record.string("kind") ?? "open")
        }
    }

    /// Module set-up: the default pipeline, unless the tenant already has stages.
    static let setUp: ModuleSetUp = { engine, actor, connection, logger in
        let store = ModuleStore(engine: engine, actor: actor, connection: connection, logger: logger)
        guard try await stages(store: store).isEmpty else { return }
        for (index, stage) in defaults.enumerated() {
            _ = try await store.create("sales_stage", [
                "name": .string(stage.0), "name_en": .string(stage.1), "position": .string("\(index + 1)"),
                "probability": .string("\(stage.2)"), "kind": .string(stage.3),
            ])
        }
    }
}
