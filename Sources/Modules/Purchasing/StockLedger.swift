import Foundation
import Hummingbird
import Platform

/// Stock per product × warehouse (`stock_level`) changes only through movements
/// (`stock_movement`): a movement is posted under the row lock of its stock level, so two
/// deliveries of the last units run one after the other and the second finds nothing left.
///
/// Valuation is the moving average, kept exact: a level holds its quantity and its value
/// (to the cent); an incoming movement adds `quantity × unit cost`, an outgoing one takes
/// `quantity × value / on hand` (the whole value when it empties the level), so the level's
/// value is always the sum of its movements' values and `average_cost` is only displayed.
enum StockLedger {
    static func error(_ status: HTTPResponse.Status, code: String, field: String?, _ message: String, key: String,
                      _ arguments: [String: String] = [:]) -> AtriumError {
        .module("purchasing", status, code: code, field: field, message, key: key, arguments)
    }

    static func key(product: String, warehouse: String) -> String { "\(product.lowercased()):\(warehouse.lowercased())" }

    /// A decimal of a stored number field (quantities), 0 when empty.
    static func number(_ value: JSONValue?) -> Decimal {
        guard let value else { return 0 }
        if case .number(let number) = value { return number }
        return value.stringValue.flatMap { Decimal(string: $0, locale: Locale(identifier: "en_US_POSIX")) } ?? 0
    }

    static func quantityText(_ value: Decimal) -> String { Money.text(value, scale: 3) }
    static func quantityValue(_ value: Decimal) -> JSONValue { .string(quantityText(value)) }

    /// The stock level of a product in a warehouse, locked until the transaction ends; created
    /// (empty) on first use under the warehouse's lock, so two first receipts make one level.
    static func lockedLevel(product: String, warehouse: String, store: ModuleStore) async throws -> Record {
        let key = key(product: product, warehouse: warehouse)
        if let found = try await store.all("stock_level", filter: ModuleStore.eq("key", key)).first {
            try await store.lock("stock_level", found.id)
            return try await store.get("stock_level", found.id)
        }
        guard let warehouseID = UUID(uuidString: warehouse) else {
            throw error(.unprocessableContent, code: "invalid_field", field: "warehouse", "warehouse: not a warehouse id", key: "no_warehouse")
        }
        try await store.lock("warehouse", warehouseID)
        if let found = try await store.all("stock_level", filter: ModuleStore.eq("key", key)).first {
            try await store.lock("stock_level", found.id)
            return try await store.get("stock_level", found.id)
        }
        let created = try await store.create("stock_level", [
            "key": .string(key), "product": .string(product.lowercased()), "warehouse": .string(warehouse.lowercased()),
            "on_hand": quantityValue(0), "stock_value": Money.value(0), "average_cost": .string("0.0000"),
        ])
        try await store.lock("stock_level", created.id)
        return created
    }

    /// A movement as the module's rules post it (receipts, returns, deliveries).
    @discardableResult
    static func post(kind: String, product: String, warehouse: String, quantity: Decimal, unitCost: Decimal? = nil,
                     source: Record, store: ModuleStore) async throws -> Record {
        var values: [String: JSONValue] = [
            "kind": .string(kind), "product": .string(product), "warehouse": .string(warehouse), "quantity": quantityValue(quantity),
            "source_entity": .string(source.entity), "source_id": .string(source.idText),
        ]
        if let unitCost { values["unit_cost"] = .string(Money.text(unitCost, scale: 4)) }
        return try await store.derived.create("stock_movement", values)
    }

    /// Movements are the ledger: users post only adjustments (with a reason); nothing is
    /// changed or deleted afterwards (a wrong receipt is corrected by a return or adjustment).
    struct MovementRules: RecordHooks {
        func beforeValidate(_ write: inout RecordWrite) async throws {
            let derived = write.context.actor.access.writesComputed
            guard write.isCreate else {
                throw StockLedger.error(.conflict, code: "movement_posted", field: nil, "stock movements are posted for good; correct them with an adjustment",
                                        key: "movement_posted")
            }
            guard let product = write.value("product")?.stringValue, let warehouse = write.value("warehouse")?.stringValue else { return }
            let kind = write.value("kind")?.stringValue ?? ""
            if !derived {
                guard kind == "adjustment" else {
                    throw StockLedger.error(.unprocessableContent, code: "invalid_field", field: "kind",
                                            "kind: only adjustments are entered by hand; receipts, returns and deliveries post their own movements", key: "manual_kind")
                }
                guard let reason = write.value("reason")?.stringValue, !reason.trimmingCharacters(in: .whitespaces).isEmpty else {
                    throw StockLedger.error(.unprocessableContent, code: "invalid_field", field: "reason", "reason: give the reason of the adjustment", key: "reason_required")
                }
            }
            let quantity = StockLedger.number(write.value("quantity"))
            guard quantity != 0 else {
                throw StockLedger.error(.unprocessableContent, code: "invalid_field", field: "quantity", "quantity: must not be 0", key: "zero_quantity")
            }
            let store = ModuleStore(derived: write.context)
            guard let warehouseRecord = try await store.get("warehouse", warehouse) else {
                throw StockLedger.error(.unprocessableContent, code: "invalid_field", field: "warehouse", "warehouse: no warehouse \(warehouse)", key: "no_warehouse")
            }
            let level = try await StockLedger.lockedLevel(product: product, warehouse: warehouse, store: store)
            let onHand = StockLedger.number(level.values["on_hand"])
            let value = level.money("stock_value")
            let average = StockLedger.number(level.values["average_cost"])
            let after = onHand + quantity
            let movementValue: Decimal
            var unitCost: Decimal
            if quantity > 0 {
                unitCost = write.value("unit_cost").map(StockLedger.number) ?? average
                movementValue = Money.round(quantity * unitCost)
            } else {
                if after < 0, warehouseRecord.values["allow_negative"] != .bool(true) {
                    throw StockLedger.error(.unprocessableContent, code: "insufficient_stock", field: "quantity",
                                            "quantity: only \(StockLedger.quantityText(onHand)) on hand in \(warehouseRecord.string("name") ?? "the warehouse"), \(StockLedger.quantityText(-quantity)) needed",
                                            key: "insufficient_stock", ["on_hand": StockLedger.quantityText(onHand), "needed": StockLedger.quantityText(-quantity)])
                }
                if after == 0 {
                    movementValue = -value
                } else if onHand > 0, after > 0 {
                    movementValue = Money.round(quantity * value / onHand)
                } else {
                    movementValue = Money.round(quantity * average)
                }
                unitCost = quantity == 0 ? 0 : Money.round(movementValue / quantity, scale: 4)
            }
            write.values["unit_cost"] = .string(Money.text(unitCost, scale: 4))
            write.values["value"] = Money.value(movementValue)
            write.values["balance_after"] = StockLedger.quantityValue(after)
        }

        func afterCreate(_ record: Record, context: HookContext) async throws {
            let store = ModuleStore(derived: context)
            guard let product = record.string("product"), let warehouse = record.string("warehouse") else { return }
            let level = try await StockLedger.lockedLevel(product: product, warehouse: warehouse, store: store)
            let onHand = StockLedger.number(level.values["on_hand"]) + StockLedger.number(record.values["quantity"])
            let value = level.money("stock_value") + record.money("value")
            var values: [String: JSONValue] = [
                "on_hand": StockLedger.quantityValue(onHand), "stock_value": Money.value(value),
                "last_movement_at": .string(PurchasingTime.text(record.createdAt)),
            ]
            if onHand > 0 { values["average_cost"] = .string(Money.text(value / onHand, scale: 4)) }
            try await store.update(level, values)
        }

        func beforeDelete(_ record: Record, context: HookContext) async throws {
            throw StockLedger.error(.conflict, code: "movement_posted", field: nil, "stock movements are posted for good; correct them with an adjustment",
                                    key: "movement_posted")
        }
    }

    /// Levels are kept by the movements only.
    struct LevelRules: RecordHooks {
        func beforeValidate(_ write: inout RecordWrite) async throws {
            guard write.context.actor.access.writesComputed else {
                throw StockLedger.error(.conflict, code: "stock_by_movements", field: nil, "stock changes only through movements (receipts, deliveries, returns, adjustments)",
                                        key: "stock_by_movements")
            }
        }

        func beforeDelete(_ record: Record, context: HookContext) async throws {
            throw StockLedger.error(.conflict, code: "stock_by_movements", field: nil, "stock changes only through movements (receipts, deliveries, returns, adjustments)",
                                    key: "stock_by_movements")
        }
    }

    /// One difference between a stock level and the sum of its movements.
    struct Discrepancy: Sendable, Equatable {
        let key: String
        let onHand: Decimal
        let movedQuantity: Decimal
        let value: Decimal
        let movedValue: Decimal
    }

    /// The ledger check: every stock level equals the sum of its movements (quantity and
    /// value), and every product × warehouse with movements has a level. Runs through the
    /// report engine under the caller's scope (an administrator or ``ModuleStore/derived``
    /// sees everything).
    static func check(store: ModuleStore) async throws -> [Discrepancy] {
        let sums = try await store.aggregate("stock_movement", RecordAggregate(groups: [.field("product"), .field("warehouse")], sums: ["quantity", "value"]))
        var moved: [String: (Decimal, Decimal)] = [:]
        for row in sums {
            moved[key(product: row.keys[0] ?? "", warehouse: row.keys[1] ?? "")] = (row.sums[0], row.sums[1])
        }
        var problems: [Discrepancy] = []
        var seen = Set<String>()
        for level in try await store.all("stock_level") {
            let key = level.string("key") ?? ""
            seen.insert(key)
            let (quantity, value) = moved[key] ?? (0, 0)
            let onHand = number(level.values["on_hand"])
            if onHand != quantity || level.money("stock_value") != value {
                problems.append(Discrepancy(key: key, onHand: onHand, movedQuantity: quantity, value: level.money("stock_value"), movedValue: value))
            }
        }
        for (key, (quantity, value)) in moved where !seen.contains(key) {
            problems.append(Discrepancy(key: key, onHand: 0, movedQuantity: quantity, value: 0, movedValue: value))
        }
        return problems.sorted { $0.key < $1.key }
    }
}
